"""``SqlContactRepository``: contacts, written in bulk by the sync and read page by page."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import Row, bindparam, literal_column, or_, select, update
from sqlalchemy.dialects import postgresql

from wa_manager.adapters.sql.database import Database, dialect_insert
from wa_manager.adapters.sql.links import user_ids_by_contact
from wa_manager.adapters.sql.selection import contact_conditions
from wa_manager.adapters.sql.sync_state import read_sync_state
from wa_manager.adapters.sql.tables import contact_aliases, contacts
from wa_manager.adapters.sql.teams import team_ids_by_contact
from wa_manager.domain.aliases import StoredAlias, resolve_aliases, with_aliases
from wa_manager.domain.model import (
    Contact,
    NewContact,
    Page,
    StoredContacts,
    StoredContactState,
)

_ONE_ROW = ("source", "wa_id", "name", "phone", "kind", "created_at", "last_seen_at")


def _insert_one(dialect: str) -> Any:
    """One contact, skipped when (source, wa_id) exists: ``add_many`` of one row."""
    return (
        dialect_insert(dialect, contacts)
        .values({name: bindparam(name) for name in _ONE_ROW})
        .on_conflict_do_nothing(index_elements=["source", "wa_id"])
    )


def _upsert_seen(dialect: str) -> Any:
    """``seen`` on PostgreSQL: insert, or note activity; returns whether it inserted."""
    statement = postgresql.insert(contacts).values({name: bindparam(name) for name in _ONE_ROW})
    return statement.on_conflict_do_update(
        index_elements=["source", "wa_id"],
        set_={"last_seen_at": statement.excluded.last_seen_at, "vanished_at": None},
    ).returning(literal_column("xmax = 0"))


def _touch(_dialect: str) -> Any:
    """``touch``'s UPDATE, its values as bind parameters."""
    return (
        update(contacts)
        .where(
            contacts.c.source == bindparam("key_source"),
            contacts.c.wa_id == bindparam("key_wa_id"),
        )
        .values(last_seen_at=bindparam("now"), vanished_at=None)
    )


# Rows per statement where a statement takes a list of keys (SQLite allows 32766 variables).
KEY_BATCH = 1000


# The snapshot query. On SQLite ``+source`` keeps the (source, wa_id) index out of
# it: reading the table straight through is ~2x faster than a rowid lookup per
# index entry, as long as most contacts are of this source (one instance per file).
_SNAPSHOT_SQL = {
    "sqlite": "SELECT wa_id, name, vanished_at IS NOT NULL FROM contacts WHERE +source = ?",
    "postgresql": "SELECT wa_id, name, vanished_at IS NOT NULL FROM contacts WHERE source = %s",
}


def batched(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    """``items`` in lists of at most ``size``."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def contact_from_row(
    row: Row[Any], user_ids: Sequence[int] = (), team_ids: Sequence[int] = ()
) -> Contact:
    """A ``Contact`` from a row of ``contacts``."""
    return Contact(
        id=row.id,
        source=row.source,
        wa_id=row.wa_id,
        name=row.name,
        phone=row.phone,
        kind=row.kind,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        vanished_at=row.vanished_at,
        user_ids=tuple(user_ids),
        team_ids=tuple(team_ids),
    )


class SqlContactRepository:
    """Contacts, unique by (source, wa_id)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def snapshot(self, source: str) -> dict[str, StoredContactState]:
        """wa_id -> (name, vanished) of every contact of ``source``: one query, read
        through the driver (the hot read of every re-sync)."""
        sql = _SNAPSHOT_SQL[self._db.dialect]
        state = StoredContactState
        return {
            wa_id: state(name, bool(vanished))
            for wa_id, name, vanished in self._db.driver_fetchall(sql, (source,))
        }

    def sync_state(self, source: str) -> StoredContacts:
        """``snapshot`` as the sync compares it: one query, columns as JSON text; merged
        chat ids (aliases) are in it too, as known ids (``with_aliases``)."""
        return with_aliases(read_sync_state(self._db, source), self._aliases(source))

    def _aliases(self, source: str) -> list[StoredAlias]:
        """The merged chat ids of ``source`` with their survivors (a small table)."""
        query = (
            select(
                contact_aliases.c.wa_id,
                contact_aliases.c.name,
                contacts.c.wa_id,
                contacts.c.vanished_at.is_not(None),
            )
            .join_from(contact_aliases, contacts, contacts.c.id == contact_aliases.c.contact_id)
            .where(contact_aliases.c.source == source)
        )
        return [StoredAlias(*row) for row in self._db.execute(query)]

    def add_many(self, source: str, new: Sequence[NewContact], now: datetime) -> int:
        """Insert in one executemany, skipping existing (source, wa_id); count what went in."""
        if not new:
            return 0
        if len(new) == 1:  # a webhook's one contact: a prepared single-row INSERT
            params = {**new[0]._asdict(), "source": source, "created_at": now, "last_seen_at": now}
            return self._db.execute(self._db.prepared(_insert_one), params).rowcount
        statement = self._db.insert(contacts).on_conflict_do_nothing(
            index_elements=["source", "wa_id"]
        )
        constants = {"source": source, "created_at": now, "last_seen_at": now}
        # Both drivers report the sum of the rows each execution inserted, so rows
        # skipped because a concurrent writer inserted them first are not counted.
        return self._db.insert_many(statement, NewContact._fields, new, constants)

    def rename_many(self, source: str, renames: Sequence[tuple[str, str | None]]) -> int:
        """Set new names by wa_id in one executemany; count the rows whose name changed.

        A merged chat id (an alias) renames no contact: the name is remembered with the
        alias (so the next sync sees no change), and not counted."""
        if not renames:
            return 0
        aliases = {alias.wa_id for alias in self._aliases(source)}
        if remembered := [{"key": k, "new_name": n} for k, n in renames if k in aliases]:
            self._db.execute(
                update(contact_aliases)
                .where(
                    contact_aliases.c.source == source,
                    contact_aliases.c.wa_id == bindparam("key"),
                )
                .values(name=bindparam("new_name")),
                remembered,
            )
            renames = [pair for pair in renames if pair[0] not in aliases]
            if not renames:
                return 0
        statement = (
            update(contacts)
            .where(
                contacts.c.source == source,
                contacts.c.wa_id == bindparam("key"),
                contacts.c.name.is_distinct_from(bindparam("new_name")),
            )
            .values(name=bindparam("new_name"))
        )
        rows = [{"key": wa_id, "new_name": name} for wa_id, name in renames]
        return self._db.execute(statement, rows).rowcount

    def set_vanished(self, source: str, wa_ids: Sequence[str], at: datetime | None) -> int:
        """Set ``vanished_at`` = ``at`` (None: back again) on these contacts, a batch of
        keys per statement; count the rows whose value changed. Aliases are resolved
        first (``resolve_aliases``): a survivor vanishes only with all its chat ids."""
        changed = 0
        differs = contacts.c.vanished_at.is_distinct_from(at)
        aliases = self._aliases(source)
        if aliases:
            wa_ids = resolve_aliases(wa_ids, aliases, vanishing=at is not None)
        for batch in batched(wa_ids, KEY_BATCH):
            statement = (
                update(contacts)
                .where(contacts.c.source == source, contacts.c.wa_id.in_(batch), differs)
                .values(vanished_at=at)
            )
            changed += self._db.execute(statement).rowcount
        return changed

    def touch(self, source: str, wa_id: str, now: datetime) -> None:
        """Note activity: ``last_seen_at`` = now and ``vanished_at`` cleared."""
        self._db.execute(
            self._db.prepared(_touch), {"key_source": source, "key_wa_id": wa_id, "now": now}
        )

    def seen(self, source: str, contact: NewContact, now: datetime) -> bool:
        """PostgreSQL: one ``INSERT … ON CONFLICT DO UPDATE`` whose row tells an insert
        (``xmax = 0``) from an update; SQLite (in-process, no round trip to save):
        ``add_many`` of one, then ``touch`` if it existed."""
        if self._db.dialect != "postgresql":
            if self.add_many(source, [contact], now):
                return True
            self.touch(source, contact.wa_id, now)
            return False
        params = {**contact._asdict(), "source": source, "created_at": now, "last_seen_at": now}
        return bool(self._db.execute(self._db.prepared(_upsert_seen), params).scalar_one())

    def get(self, contact_id: int) -> Contact | None:
        """One contact with its ``user_ids``, or None."""
        row = self._db.execute(select(contacts).where(contacts.c.id == contact_id)).first()
        if row is None:
            return None
        return contact_from_row(
            row,
            user_ids_by_contact(self._db, [row.id]).get(row.id, ()),
            team_ids_by_contact(self._db, [row.id]).get(row.id, ()),
        )

    def find(
        self, source: str | None, wa_id: str | None = None, phone: str | None = None
    ) -> Contact | None:
        """The (oldest) contact with this wa_id or E.164 phone, in ``source`` or any."""
        matches = [
            column == value
            for column, value in ((contacts.c.wa_id, wa_id), (contacts.c.phone, phone))
            if value is not None
        ]
        if not matches:
            return None
        query = select(contacts.c.id).where(or_(*matches))
        if source is not None:
            query = query.where(contacts.c.source == source)
        contact_id = self._db.execute(query.order_by(contacts.c.id).limit(1)).scalar()
        return None if contact_id is None else self.get(contact_id)

    def page(
        self,
        *,
        search: str | None,
        limit: int,
        before_id: int | None,
        vanished: bool | None = None,
        source: str | None = None,
    ) -> Page[Contact]:
        """Contacts newest first (by id), keyset-paginated; ``search`` is a
        case-insensitive substring of name, phone or wa_id (``%`` and ``_`` literal);
        ``source`` keeps one WhatsApp number's."""
        query = select(contacts)
        if before_id is not None:
            query = query.where(contacts.c.id < before_id)
        query = query.where(*contact_conditions(self._db.dialect, search, vanished, source))
        rows = self._db.execute(query.order_by(contacts.c.id.desc()).limit(limit + 1)).all()
        shown = rows[:limit]
        ids = [row.id for row in shown]
        links = user_ids_by_contact(self._db, ids)
        team_links = team_ids_by_contact(self._db, ids)
        items = tuple(
            contact_from_row(row, links.get(row.id, ()), team_links.get(row.id, ()))
            for row in shown
        )
        next_before_id = shown[-1].id if len(rows) > limit else None
        return Page(items=items, next_before_id=next_before_id)
