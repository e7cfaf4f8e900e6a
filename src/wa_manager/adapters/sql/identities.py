"""``SqlIdentityRepository``: duplicate suggestions as SQL, and merges in one transaction.

The suggestions are a few queries that stay fast at a million contacts
(``benchmarks/duplicates.py``):

- ``same_phone``: the phones held twice, found by a scan of the ``phone`` index
  alone (``GROUP BY phone HAVING count(*) > 1``), then their contacts by that index;
- ``brazil_ninth_digit``: the Brazilian mobiles in the old form, without the ninth
  digit (a range of the ``phone`` index, ``'+55' <= phone < '+56'``), each probing
  the index for the same number with it;
- ``same_name_lid``: the ``@lid`` contacts with a name (the partial index
  ``ix_contacts_lid_name`` holds only those rows) joined to the ``@c.us`` contacts
  of the same source and name.

A merge locks both contact rows (``FOR UPDATE``, in id order), then both
conversations, then moves everything with set-based statements; the caller's unit
of work commits it all or nothing.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    update,
)

from wa_manager.adapters.sql.contacts import KEY_BATCH, batched, contact_from_row
from wa_manager.adapters.sql.database import Database
from wa_manager.adapters.sql.links import user_ids_by_contact
from wa_manager.adapters.sql.tables import (
    LID_ROWS,
    contact_aliases,
    contact_links,
    contact_teams,
    contacts,
    conversation_events,
    conversations,
    link_events,
    messages,
)
from wa_manager.adapters.sql.teams import team_ids_by_contact
from wa_manager.domain.identity import (
    BRAZIL,
    BRAZIL_WITHOUT_NINTH,
    MOBILE_FIRST_DIGITS,
    PERSON_SUFFIX,
    joined,
    latest,
)
from wa_manager.domain.model import (
    Contact,
    ConversationState,
    DuplicatePair,
    DuplicateReason,
    MergedConversations,
)


def _phones_held_twice() -> Any:
    """The phones of more than one contact: a scan of the ``phone`` index alone."""
    return (
        select(contacts.c.phone)
        .where(contacts.c.phone.is_not(None))
        .group_by(contacts.c.phone)
        .having(func.count() > 1)
    )


def _brazil_ninth_digit() -> Any:
    """Each Brazilian mobile in the old form (``+55 DD XXXXXXXX``, a range of the
    ``phone`` index) joined to the same number with its ninth digit, found by the index.

    Driven from the old form, which is rare since 2016 (in the benchmark 2% of the
    mobiles): driven from the new form, PostgreSQL probed the index once per mobile
    (1M contacts, 300k Brazilian: ~1.4 s instead of ~0.3 s); grouping by the number
    without its 9 sorted 300k computed keys (~2 s on either database)."""
    shorter, longer = contacts.alias("a"), contacts.alias("b")
    phone = shorter.c.phone
    with_ninth = func.substr(phone, 1, 5).op("||")("9").op("||")(func.substr(phone, 6))
    return (
        select(shorter.c.id, longer.c.id)
        .join_from(
            shorter,
            longer,
            and_(longer.c.phone == with_ninth, longer.c.source == shorter.c.source),
        )
        .where(
            phone >= BRAZIL,
            phone < "+56",
            func.length(phone) == BRAZIL_WITHOUT_NINTH,
            func.substr(phone, 6, 1).in_(MOBILE_DIGITS),
        )
    )


MOBILE_DIGITS = sorted(MOBILE_FIRST_DIGITS)


def _same_name_lid() -> Any:
    lid, person = contacts.alias("a"), contacts.alias("b")
    return (
        select(lid.c.id, person.c.id)
        .join_from(
            lid,
            person,
            and_(
                person.c.source == lid.c.source,
                person.c.name == lid.c.name,
                person.c.wa_id.like(f"%{PERSON_SUFFIX}"),
            ),
        )
        .where(
            # the very text of the partial index's WHERE (not a bound parameter), so that
            # SQLite and PostgreSQL see that the index covers these rows
            text(f"a.{LID_ROWS}"),
            lid.c.name.is_not(None),
            lid.c.name != "",
        )
    )


_QUERIES = (
    (DuplicateReason.BRAZIL_NINTH_DIGIT, _brazil_ninth_digit),
    (DuplicateReason.SAME_NAME_LID, _same_name_lid),
)


def _survivor_of(_dialect: str) -> Any:
    """``survivor_of``'s query, its values as bind parameters."""
    return (
        select(contacts.c.wa_id)
        .join_from(contact_aliases, contacts, contacts.c.id == contact_aliases.c.contact_id)
        .where(
            contact_aliases.c.source == bindparam("key_source"),
            contact_aliases.c.wa_id == bindparam("key_wa_id"),
        )
    )


def _state(row: Row[Any]) -> ConversationState:
    return ConversationState(row.id, row.status, row.assigned_user_id)


class SqlIdentityRepository:
    """Duplicate suggestions, merges and aliases."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def duplicates(self) -> builtins.list[DuplicatePair]:
        """The three suggestion queries, each pair as (lower id, higher id)."""
        found = self._same_phone()
        for reason, query in _QUERIES:
            for one, other in self._db.execute(query()):
                found.add((one, other, reason) if one < other else (other, one, reason))
        # sorted as plain tuples: comparing attrs objects costs ~1 s for 26k pairs
        return [DuplicatePair(*pair) for pair in sorted(found)]

    def contacts(self, contact_ids: Sequence[int]) -> dict[int, Contact]:
        """A batch of keys per query, with their user and team links."""
        found: dict[int, Contact] = {}
        for batch in batched(sorted(set(contact_ids)), KEY_BATCH):
            rows = self._db.execute(select(contacts).where(contacts.c.id.in_(batch))).all()
            users = user_ids_by_contact(self._db, batch)
            teams = team_ids_by_contact(self._db, batch)
            for row in rows:
                found[row.id] = contact_from_row(row, users.get(row.id, ()), teams.get(row.id, ()))
        return found

    def _same_phone(self) -> set[tuple[int, int, DuplicateReason]]:
        """Two steps: the phones held twice, then their contacts by the ``phone`` index
        (one query joining both made PostgreSQL expect 160k such phones instead of 1k
        and hash the whole table in every worker: 1M contacts, 1.2 s -> 0.4 s)."""
        phones = [row[0] for row in self._db.execute(_phones_held_twice())]
        holders: dict[tuple[str, str], list[int]] = {}
        for row in self._holders(phones):
            holders.setdefault((row.source, row.phone), []).append(row.id)
        same = DuplicateReason.SAME_PHONE
        return {
            (first, second, same)
            for ids in holders.values()
            for index, first in enumerate(sorted(ids))
            for second in sorted(ids)[index + 1 :]
        }

    def _holders(self, phones: Sequence[str]) -> Iterator[Row[Any]]:
        """(id, source, phone) of the contacts with these phones, a batch per query."""
        columns = (contacts.c.id, contacts.c.source, contacts.c.phone)
        for batch in batched(phones, KEY_BATCH):
            yield from self._db.execute(select(*columns).where(contacts.c.phone.in_(batch)))

    def lock(self, contact_ids: Sequence[int]) -> dict[int, Contact]:
        """The contacts, locked ``FOR UPDATE`` in id order (PostgreSQL; SQLite's unit of
        work holds the write lock already)."""
        query = (
            select(contacts)
            .where(contacts.c.id.in_(sorted(set(contact_ids))))
            .order_by(contacts.c.id)
            .with_for_update()
        )
        return {row.id: contact_from_row(row) for row in self._db.execute(query)}

    def merge(
        self, merged: Contact, survivor: Contact, actor_id: int | None, now: datetime
    ) -> MergedConversations | None:
        """See ``IdentityRepository.merge``; set-based statements, nothing committed."""
        folded = self._fold_conversations(merged.id, survivor.id)
        for table, column in ((contact_links, "user_id"), (contact_teams, "team_id")):
            self._unite(table, column, merged.id, survivor.id)
        for table in (link_events, contact_aliases):
            self._move(table.c.contact_id, merged.id, survivor.id)
        execute = self._db.execute
        execute(
            insert(link_events).values(
                contact_id=survivor.id,
                action="merge",
                actor_id=actor_id,
                at=now,
                merged_contact_id=merged.id,
            )
        )
        execute(
            insert(contact_aliases).values(
                source=merged.source,
                wa_id=merged.wa_id,
                contact_id=survivor.id,
                merged_contact_id=merged.id,
                name=merged.name,
                actor_id=actor_id,
                at=now,
            )
        )
        kept = joined(survivor, merged)
        execute(
            update(contacts)
            .where(contacts.c.id == survivor.id)
            .values(
                name=kept.name,
                phone=kept.phone,
                created_at=kept.created_at,
                last_seen_at=kept.last_seen_at,
                vanished_at=kept.vanished_at,
            )
        )
        execute(delete(contacts).where(contacts.c.id == merged.id))
        return folded

    def _move(self, column: Any, old: int, new: int) -> None:
        """Every row of ``column``'s table that names ``old`` there names ``new`` instead."""
        self._db.execute(update(column.table).where(column == old).values({column.name: new}))

    def _unite(self, table: Any, column: str, merged_id: int, survivor_id: int) -> None:
        """Give the survivor every grant of the merged contact it lacks (set-based)."""
        rows = select(
            literal(survivor_id, table.c.contact_id.type),
            table.c[column],
            table.c.created_by,
            table.c.created_at,
        ).where(table.c.contact_id == merged_id)
        statement = self._db.insert(table).from_select(
            ["contact_id", column, "created_by", "created_at"], rows
        )
        self._db.execute(statement.on_conflict_do_nothing(index_elements=["contact_id", column]))
        self._db.execute(delete(table).where(table.c.contact_id == merged_id))

    def _fold_conversations(self, merged_id: int, survivor_id: int) -> MergedConversations | None:
        """Both contacts' conversations locked in id order; the merged one's moved to the
        survivor, or folded into the survivor's (messages and events moved, times joined)."""
        rows = self._db.execute(
            select(conversations)
            .where(conversations.c.contact_id.in_([merged_id, survivor_id]))
            .order_by(conversations.c.id)
            .with_for_update()
        ).all()
        by_contact = {row.contact_id: row for row in rows}
        theirs, ours = by_contact.get(merged_id), by_contact.get(survivor_id)
        if theirs is None:
            return None
        if ours is None:
            self._db.execute(
                update(conversations)
                .where(conversations.c.id == theirs.id)
                .values(contact_id=survivor_id)
            )
            return None
        for table in (messages, conversation_events):
            self._move(table.c.conversation_id, theirs.id, ours.id)
        self._db.execute(delete(conversations).where(conversations.c.id == theirs.id))
        created_at = min(ours.created_at, theirs.created_at)
        last_message_at = latest(ours.last_message_at, theirs.last_message_at)
        self._db.execute(
            update(conversations)
            .where(conversations.c.id == ours.id)
            .values(
                created_at=created_at,
                last_message_at=last_message_at,
                last_activity_at=last_message_at or created_at,
            )
        )
        return MergedConversations(_state(ours), _state(theirs))

    def survivor_of(self, source: str, wa_id: str) -> str | None:
        """The survivor's wa_id, by the alias key: one indexed lookup, a statement built
        once per process (every webhook asks)."""
        params = {"key_source": source, "key_wa_id": wa_id}
        result: str | None = self._db.execute(self._db.prepared(_survivor_of), params).scalar()
        return result
