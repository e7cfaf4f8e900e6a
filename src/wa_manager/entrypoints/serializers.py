"""Domain objects as the contract's JSON (CONTRACT.md, "Shapes"), shared by the CLI and HTTP.

Every function returns plain ``dict``s of JSON types; times are ISO 8601 with a
timezone (a naive time from a database that drops the zone is taken as UTC).
The ids are the same numbers in the CLI's JSON and the HTTP API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wa_manager.domain.model import (
    Contact,
    ContactLink,
    ContactSummary,
    Conversation,
    LinkEvent,
    SyncReport,
    SyncRun,
    User,
)

JsonObject = dict[str, Any]


def iso_time(moment: datetime | None) -> str | None:
    """ISO 8601 with a timezone, or None; naive times are read as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def contact_json(contact: Contact) -> JsonObject:
    """The contract's contact: id, wa_id, name, phone, kind, source, user_ids and two times."""
    return {
        "id": contact.id,
        "wa_id": contact.wa_id,
        "name": contact.name,
        "phone": contact.phone,
        "kind": contact.kind,
        "source": contact.source,
        "user_ids": list(contact.user_ids),
        "created_at": iso_time(contact.created_at),
        "last_seen_at": iso_time(contact.last_seen_at),
        "vanished_at": iso_time(contact.vanished_at),
    }


def contact_summary_json(contact: ContactSummary | Contact) -> JsonObject:
    """The part of a contact a conversation shows: ``{"id", "wa_id", "name", "phone"}``."""
    return {
        "id": contact.id,
        "wa_id": contact.wa_id,
        "name": contact.name,
        "phone": contact.phone,
    }


def conversation_json(conversation: Conversation) -> JsonObject:
    """``{"id", "contact": {...}, "status", "source", "assigned_user_id", "created_at"}``."""
    return {
        "id": conversation.id,
        "contact": contact_summary_json(conversation.contact),
        "status": conversation.status,
        "source": conversation.source,
        "assigned_user_id": conversation.assigned_user_id,
        "created_at": iso_time(conversation.created_at),
    }


def user_json(user: User) -> JsonObject:
    """``{"id", "username", "role"}``."""
    return {"id": user.id, "username": user.username, "role": str(user.role)}


def link_json(link: ContactLink, contact: Contact, user: User) -> JsonObject:
    """``{"contact_id", "wa_id", "username"}`` (plus ``user_id``)."""
    return {
        "contact_id": link.contact_id,
        "wa_id": contact.wa_id,
        "username": user.username,
        "user_id": user.id,
    }


def report_json(report: SyncReport) -> JsonObject:
    """The sync report: ``{"instance_id", "fetched", ..., "duration_ms", "dry_run"}``."""
    return report.as_dict()


def sync_run_json(run: SyncRun) -> JsonObject:
    """One recorded sync: when, why, by whom, and its report or error."""
    return {
        "id": run.id,
        "instance_id": run.instance_id,
        "trigger": run.trigger,
        "actor_id": run.actor_id,
        "started_at": iso_time(run.started_at),
        "finished_at": iso_time(run.finished_at),
        "report": report_json(run.report) if run.report is not None else None,
        "error": run.error,
    }


def link_event_json(event: LinkEvent) -> JsonObject:
    """One line of a contact's link audit trail."""
    return {
        "contact_id": event.contact_id,
        "user_id": event.user_id,
        "action": event.action,
        "actor_id": event.actor_id,
        "at": iso_time(event.at),
    }
