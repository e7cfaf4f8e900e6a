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

from sqlalchemy import Insert, Select, Table, delete, exists, func, insert, literal, select

from wa_manager.adapters.sql.database import Database
from wa_manager.adapters.sql.grants import add_pair, grantees_by_contact, remove_pair
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
    return grantees_by_contact(db, contact_links.c.contact_id, contact_links.c.user_id, contact_ids)


def _events_from(
    pairs: Select[Any], key: str, action: str, actor_id: int | None, now: datetime
) -> Insert:
    """``INSERT … SELECT``: an audit event per (contact_id, ``key``) row of ``pairs``."""
    events = pairs.add_columns(
        literal(action, link_events.c.action.type),
        literal(actor_id, link_events.c.actor_id.type),
        literal(now, link_events.c.at.type),
    )
    return insert(link_events).from_select(["contact_id", key, "action", "actor_id", "at"], events)


class SqlLinkRepository:
    """Links between contacts and users, and their audit trail."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, contact_id: int, user_id: int, actor_id: int | None, now: datetime) -> bool:
        """Link (idempotent); True and an audit event when it changed something."""
        return self._grant("user_id", contact_id, user_id, actor_id, now)

    def remove(self, contact_id: int, user_id: int, actor_id: int | None, now: datetime) -> bool:
        """Unlink (idempotent); True and an audit event when it changed something."""
        return self._revoke("user_id", contact_id, user_id, actor_id, now)

    def add_team(self, contact_id: int, team_id: int, actor_id: int | None, now: datetime) -> bool:
        """Link a team (idempotent); True and an audit event when it changed something."""
        return self._grant("team_id", contact_id, team_id, actor_id, now)

    def remove_team(
        self, contact_id: int, team_id: int, actor_id: int | None, now: datetime
    ) -> bool:
        """Unlink a team (idempotent); True and an audit event when it changed something."""
        return self._revoke("team_id", contact_id, team_id, actor_id, now)

    def _grant(
        self, key: str, contact_id: int, grantee_id: int, actor_id: int | None, now: datetime
    ) -> bool:
        """Link one grantee of kind ``key``; a ``link`` event when it changed something."""
        table, column, _ = _GRANTS[key]
        noun = key.removesuffix("_id")
        unknown = NotFound(f"no contact with id {contact_id} or no {noun} with id {grantee_id}")
        pair = {"contact_id": contact_id, column: grantee_id}
        extra = {"created_by": actor_id, "created_at": now}
        changed = add_pair(self._db, table, pair, extra, unknown)
        if changed:
            self._record(pair, "link", actor_id, now)
        return changed

    def _revoke(
        self, key: str, contact_id: int, grantee_id: int, actor_id: int | None, now: datetime
    ) -> bool:
        """Unlink one grantee of kind ``key``; an ``unlink`` event when it changed something."""
        table, column, _ = _GRANTS[key]
        pair = {"contact_id": contact_id, column: grantee_id}
        changed = remove_pair(self._db, table, pair)
        if changed:
            self._record(pair, "unlink", actor_id, now)
        return changed

    def _record(
        self, pair: dict[str, int], action: str, actor_id: int | None, now: datetime
    ) -> None:
        """One audit event for ``pair`` (contact_id and user_id or team_id)."""
        self._db.execute(
            insert(link_events).values(**pair, action=action, actor_id=actor_id, at=now)
        )

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
        grantees, every removal one ``DELETE``, each with its audit events written by one
        more ``INSERT … SELECT``: a fixed number of statements for any number of
        contacts. Return how many links changed."""
        changed = 0
        steps = (
            ("user_id", change.add_user_ids, change.remove_user_ids),
            ("team_id", change.add_team_ids, change.remove_team_ids),
        )
        for key, add_ids, remove_ids in steps:
            if add_ids:
                changed += self._grant_all(key, selection, add_ids, actor_id, now)
            if remove_ids:
                changed += self._revoke_all(key, selection, remove_ids, actor_id, now)
        return changed

    def _grant_all(
        self,
        key: str,
        selection: ContactSelection,
        grantee_ids: Sequence[int],
        actor_id: int | None,
        now: datetime,
    ) -> int:
        table, column, grantees = _GRANTS[key]
        pairs = (
            select(
                contacts.c.id.label("contact_id"),
                grantees.c.id.label(column),
                literal(actor_id, table.c.created_by.type).label("created_by"),
                literal(now, table.c.created_at.type).label("created_at"),
            )
            .join_from(contacts, grantees, grantees.c.id.in_(list(grantee_ids)))
            .where(*selected(self._db.dialect, selection))
        )
        granted = self._db.insert(table).from_select(
            ["contact_id", column, "created_by", "created_at"], pairs
        )
        granted = granted.on_conflict_do_nothing(index_elements=["contact_id", column])
        if self._db.dialect == "postgresql":
            return self._audit_returned(granted, key, "link", actor_id, now)
        # SQLite: the unit of work holds the write lock, so the pairs not yet linked,
        # recorded first, are exactly those the INSERT then adds.
        new = pairs.where(
            ~exists().where(table.c.contact_id == contacts.c.id, table.c[column] == grantees.c.id)
        ).subquery("new")
        recorded = self._record_all(
            select(new.c.contact_id, new.c[column]), key, "link", actor_id, now
        )
        self._db.execute(granted)
        return recorded

    def _revoke_all(
        self,
        key: str,
        selection: ContactSelection,
        grantee_ids: Sequence[int],
        actor_id: int | None,
        now: datetime,
    ) -> int:
        table, column, _ = _GRANTS[key]
        chosen = select(contacts.c.id).where(*selected(self._db.dialect, selection))
        conditions = (table.c[column].in_(list(grantee_ids)), table.c.contact_id.in_(chosen))
        revoked = delete(table).where(*conditions)
        if self._db.dialect == "postgresql":
            return self._audit_returned(revoked, key, "unlink", actor_id, now)
        existing = select(table.c.contact_id, table.c[column]).where(*conditions)
        recorded = self._record_all(existing, key, "unlink", actor_id, now)
        self._db.execute(revoked)
        return recorded

    def _record_all(
        self, pairs: Select[Any], key: str, action: str, actor_id: int | None, now: datetime
    ) -> int:
        """One ``INSERT … SELECT`` of an audit event per (contact_id, grantee) of ``pairs``."""
        statement = _events_from(pairs, key, action, actor_id, now)
        return self._db.execute(statement.execution_options(preserve_rowcount=True)).rowcount

    def _audit_returned(
        self, change: Any, key: str, action: str, actor_id: int | None, now: datetime
    ) -> int:
        """PostgreSQL: the change as a data-modifying CTE whose ``RETURNING`` rows are
        the audit events, exact under concurrent changes (one statement)."""
        table = change.table
        done = change.returning(table.c.contact_id, table.c[key]).cte("changed")
        statement = _events_from(select(done.c.contact_id, done.c[key]), key, action, actor_id, now)
        statement = statement.add_cte(done).execution_options(preserve_rowcount=True)
        return self._db.execute(statement).rowcount

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
                merged_contact_id=row.merged_contact_id,
            )
            for row in rows
        ]
