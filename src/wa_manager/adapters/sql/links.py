"""``SqlLinkRepository``: who may see which contact, with an audit event for every change."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select

from wa_manager.adapters.sql.database import Database
from wa_manager.adapters.sql.tables import contact_links, link_events
from wa_manager.domain.errors import NotFound
from wa_manager.domain.model import ContactLink, LinkEvent


def user_ids_by_contact(db: Database, contact_ids: Sequence[int]) -> dict[int, list[int]]:
    """contact id -> linked user ids (ascending), for many contacts in one query."""
    if not contact_ids:
        return {}
    rows = db.execute(
        select(contact_links.c.contact_id, contact_links.c.user_id)
        .where(contact_links.c.contact_id.in_(contact_ids))
        .order_by(contact_links.c.contact_id, contact_links.c.user_id)
    )
    result: dict[int, list[int]] = {}
    for row in rows:
        result.setdefault(row[0], []).append(row[1])
    return result


class SqlLinkRepository:
    """Links between contacts and users, and their audit trail."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, contact_id: int, user_id: int, actor_id: int | None, now: datetime) -> bool:
        """Link (idempotent); True and an audit event when it changed something."""
        statement = (
            self._db.insert(contact_links)
            .values(contact_id=contact_id, user_id=user_id, created_by=actor_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["contact_id", "user_id"])
        )
        unknown = NotFound(f"no contact with id {contact_id} or no user with id {user_id}")
        changed = self._db.execute(statement, integrity_error=unknown).rowcount > 0
        if changed:
            self._record(contact_id, user_id, "link", actor_id, now)
        return changed

    def remove(self, contact_id: int, user_id: int, actor_id: int | None, now: datetime) -> bool:
        """Unlink (idempotent); True and an audit event when it changed something."""
        statement = delete(contact_links).where(
            contact_links.c.contact_id == contact_id, contact_links.c.user_id == user_id
        )
        changed = self._db.execute(statement).rowcount > 0
        if changed:
            self._record(contact_id, user_id, "unlink", actor_id, now)
        return changed

    def _record(
        self, contact_id: int, user_id: int, action: str, actor_id: int | None, now: datetime
    ) -> None:
        self._db.execute(
            insert(link_events).values(
                contact_id=contact_id, user_id=user_id, action=action, actor_id=actor_id, at=now
            )
        )

    def user_ids(self, contact_id: int) -> builtins.list[int]:
        """The ids of the users linked to a contact, ascending."""
        return user_ids_by_contact(self._db, [contact_id]).get(contact_id, [])

    def list(self) -> builtins.list[ContactLink]:
        """Every link, ordered by contact then user."""
        rows = self._db.execute(
            select(contact_links).order_by(contact_links.c.contact_id, contact_links.c.user_id)
        )
        return [
            ContactLink(
                contact_id=row.contact_id,
                user_id=row.user_id,
                created_by=row.created_by,
                created_at=row.created_at,
            )
            for row in rows
        ]

    def history(self, contact_id: int) -> builtins.list[LinkEvent]:
        """The audit events of one contact, oldest first."""
        rows = self._db.execute(
            select(link_events)
            .where(link_events.c.contact_id == contact_id)
            .order_by(link_events.c.id)
        )
        return [
            LinkEvent(
                contact_id=row.contact_id,
                user_id=row.user_id,
                action=row.action,
                actor_id=row.actor_id,
                at=row.at,
            )
            for row in rows
        ]
