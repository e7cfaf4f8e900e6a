"""``SqlLinkRepository``: who may see which contact (users and teams), with an audit
event for every change; bulk changes are set-based (``INSERT … SELECT`` and
``DELETE … WHERE contact_id IN (SELECT …)``, whose ``RETURNING`` rows become the
audit events), a handful of statements whatever the number of contacts.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, literal, select

from wa_manager.adapters.sql.database import Database
from wa_manager.adapters.sql.selection import selected
from wa_manager.adapters.sql.tables import (
    contact_links,
    contact_teams,
    contacts,
    link_events,
    teams,
    users,
)
from wa_manager.domain.errors import NotFound
from wa_manager.domain.model import BulkLinkChange, ContactLink, ContactSelection, LinkEvent

# Each kind of grant: its table, the column naming the grantee, and the grantees' table.
_GRANTS: dict[str, tuple[Table, str, Table]] = {
    "user_id": (contact_links, "user_id", users),
    "team_id": (contact_teams, "team_id", teams),
}


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
        self,
        contact_id: int,
        user_id: int | None,
        action: str,
        actor_id: int | None,
        now: datetime,
        team_id: int | None = None,
    ) -> None:
        self._db.execute(
            insert(link_events).values(
                contact_id=contact_id,
                user_id=user_id,
                team_id=team_id,
                action=action,
                actor_id=actor_id,
                at=now,
            )
        )

    def add_team(self, contact_id: int, team_id: int, actor_id: int | None, now: datetime) -> bool:
        """Link a team (idempotent); True and an audit event when it changed something."""
        statement = (
            self._db.insert(contact_teams)
            .values(contact_id=contact_id, team_id=team_id, created_by=actor_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["contact_id", "team_id"])
        )
        unknown = NotFound(f"no contact with id {contact_id} or no team with id {team_id}")
        changed = self._db.execute(statement, integrity_error=unknown).rowcount > 0
        if changed:
            self._record(contact_id, None, "link", actor_id, now, team_id=team_id)
        return changed

    def remove_team(
        self, contact_id: int, team_id: int, actor_id: int | None, now: datetime
    ) -> bool:
        """Unlink a team (idempotent); True and an audit event when it changed something."""
        statement = delete(contact_teams).where(
            contact_teams.c.contact_id == contact_id, contact_teams.c.team_id == team_id
        )
        changed = self._db.execute(statement).rowcount > 0
        if changed:
            self._record(contact_id, None, "unlink", actor_id, now, team_id=team_id)
        return changed

    def team_ids(self, contact_id: int) -> builtins.list[int]:
        """The ids of the teams linked to a contact, ascending."""
        rows = self._db.execute(
            select(contact_teams.c.team_id)
            .where(contact_teams.c.contact_id == contact_id)
            .order_by(contact_teams.c.team_id)
        )
        return [row[0] for row in rows]

    def count_selected(self, selection: ContactSelection) -> int:
        """How many contacts ``selection`` names: one COUNT."""
        query = select(func.count()).select_from(contacts)
        query = query.where(*selected(self._db.dialect, selection))
        return int(self._db.execute(query).scalar_one())

    def bulk_change(
        self,
        selection: ContactSelection,
        change: BulkLinkChange,
        actor_id: int | None,
        now: datetime,
    ) -> int:
        """Every addition is one ``INSERT … SELECT`` over the selected contacts and the
        grantees, every removal one ``DELETE``; the rows they return become the audit
        events (one executemany). Return how many links changed."""
        events: list[dict[str, Any]] = []
        steps = (
            ("user_id", change.add_user_ids, change.remove_user_ids),
            ("team_id", change.add_team_ids, change.remove_team_ids),
        )
        for key, add_ids, remove_ids in steps:
            if add_ids:
                for contact_id, grantee in self._grant_all(key, selection, add_ids, actor_id, now):
                    events.append({"contact_id": contact_id, key: grantee, "action": "link"})
            if remove_ids:
                for contact_id, grantee in self._revoke_all(key, selection, remove_ids):
                    events.append({"contact_id": contact_id, key: grantee, "action": "unlink"})
        if events:
            rows = [
                {"user_id": None, "team_id": None, **event, "actor_id": actor_id, "at": now}
                for event in events
            ]
            self._db.execute(insert(link_events), rows)
        return len(events)

    def _grant_all(
        self,
        key: str,
        selection: ContactSelection,
        grantee_ids: Sequence[int],
        actor_id: int | None,
        now: datetime,
    ) -> builtins.list[tuple[int, int]]:
        table, column, grantees = _GRANTS[key]
        pairs = (
            select(
                contacts.c.id,
                grantees.c.id,
                literal(actor_id, table.c.created_by.type),
                literal(now, table.c.created_at.type),
            )
            .join_from(contacts, grantees, grantees.c.id.in_(list(grantee_ids)))
            .where(*selected(self._db.dialect, selection))
        )
        statement = (
            self._db.insert(table)
            .from_select(["contact_id", column, "created_by", "created_at"], pairs)
            .on_conflict_do_nothing(index_elements=["contact_id", column])
            .returning(table.c.contact_id, table.c[column])
        )
        return [(row[0], row[1]) for row in self._db.execute(statement)]

    def _revoke_all(
        self, key: str, selection: ContactSelection, grantee_ids: Sequence[int]
    ) -> builtins.list[tuple[int, int]]:
        table, column, _ = _GRANTS[key]
        chosen = select(contacts.c.id).where(*selected(self._db.dialect, selection))
        statement = (
            delete(table)
            .where(table.c[column].in_(list(grantee_ids)), table.c.contact_id.in_(chosen))
            .returning(table.c.contact_id, table.c[column])
        )
        return [(row[0], row[1]) for row in self._db.execute(statement)]

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
                team_id=row.team_id,
            )
            for row in rows
        ]
