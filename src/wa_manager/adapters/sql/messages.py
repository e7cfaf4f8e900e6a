"""``SqlMessageRepository``: messages in and out, unique by (source, WhatsApp id).

Inserts are ``ON CONFLICT DO NOTHING``, so a webhook, its repeat and a history
fetch racing each other store one row whatever the order; status changes are one
``UPDATE … WHERE status IN (the statuses that may become the new one)``, so two
acks arriving out of order never move a message backwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, literal, or_, select, tuple_, update

from wa_manager.adapters.sql.contacts import batched
from wa_manager.adapters.sql.database import Database, dialect_insert
from wa_manager.adapters.sql.tables import conversations, messages
from wa_manager.domain.errors import Conflict
from wa_manager.domain.messages import earlier_statuses
from wa_manager.domain.model import Direction, Message, MessageStatus, NewMessage, Page

other = messages.alias("other")
_TAKEN = Conflict("another message holds that WhatsApp id")

# Rows per INSERT: 11 values each stays well below SQLite's 32,766 variables.
INSERT_BATCH = 1000


_COLUMNS = (
    "conversation_id",
    "source",
    "wa_message_id",
    "direction",
    "type",
    "body",
    "media_url",
    "author",
    "sender_name",
    "status",
    "created_at",
)


def _insert(dialect: str) -> Any:
    """INSERT of new messages, skipping stored (source, wa_message_id); values to add."""
    return (
        dialect_insert(dialect, messages)
        .on_conflict_do_nothing(index_elements=["source", "wa_message_id"])
        .returning(messages.c.conversation_id, messages.c.created_at)
    )


def _insert_one(dialect: str) -> Any:
    """``_insert`` of one message, its values as bind parameters (a webhook's)."""
    return _insert(dialect).values({name: bindparam(name) for name in _COLUMNS})


def _note_activity(_dialect: str) -> Any:
    """The conversation's last activity moved up to ``at``, never down."""
    column = conversations.c.last_message_at
    at = bindparam("at", type_=column.type)
    return (
        update(conversations)
        .where(conversations.c.id == bindparam("key_id"), or_(column.is_(None), column < at))
        .values(last_message_at=at, last_activity_at=at)
    )


def message_from_row(row: Row[Any]) -> Message:
    """A ``Message`` from a row of ``messages``."""
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        source=row.source,
        wa_message_id=row.wa_message_id,
        direction=row.direction,
        type=row.type,
        body=row.body,
        media_url=row.media_url,
        author=row.author,
        sender_name=row.sender_name,
        status=row.status,
        error=row.error,
        sent_by_user_id=row.sent_by_user_id,
        created_at=row.created_at,
        reference_id=row.reference_id,
    )


class SqlMessageRepository:
    """Messages of conversations."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_many(self, source: str, new_messages: Sequence[NewMessage]) -> int:
        """Insert, skipping any (source, wa_message_id) already stored (by anyone)."""
        rows = [
            {
                "conversation_id": m.conversation_id,
                "source": source,
                "wa_message_id": m.wa_message_id,
                "direction": str(m.direction),
                "type": m.type,
                "body": m.body,
                "media_url": m.media_url,
                "author": m.author,
                "sender_name": m.sender_name,
                "status": str(m.status),
                "created_at": m.created_at,
            }
            for m in _unique(new_messages)
        ]
        inserted = 0
        newest: dict[int, datetime] = {}
        for batch in batched(rows, INSERT_BATCH):
            statement = (
                self._db.prepared(_insert_one)  # a webhook's one message: prepared
                if len(batch) == 1
                else _insert(self._db.dialect).values(batch)
            )
            for row in self._db.execute(statement, batch[0] if len(batch) == 1 else None):
                inserted += 1
                if (
                    row.conversation_id not in newest
                    or row.created_at > newest[row.conversation_id]
                ):
                    newest[row.conversation_id] = row.created_at
        for conversation_id, at in sorted(newest.items()):
            self._note_activity(conversation_id, at)
        return inserted

    def _note_activity(self, conversation_id: int, at: datetime) -> None:
        """Move the conversation's last activity up to ``at`` (never down): one UPDATE whose
        condition PostgreSQL re-checks after a concurrent insert's, so the newest wins."""
        self._db.execute(self._db.prepared(_note_activity), {"key_id": conversation_id, "at": at})

    def add_outbound(
        self,
        source: str,
        conversation_id: int,
        body: str,
        *,
        sent_by_user_id: int | None,
        reference_id: str,
        idempotency_key: str | None,
        now: datetime,
    ) -> tuple[Message, bool]:
        """Store a reply as ``queued``; an idempotency key already used by that user gives
        back their first message (a concurrent twin waits for it, then finds it)."""
        values = {
            "conversation_id": conversation_id,
            "source": source,
            "direction": str(Direction.OUT),
            "type": "chat",
            "body": body,
            "status": str(MessageStatus.QUEUED),
            "sent_by_user_id": sent_by_user_id,
            "reference_id": reference_id,
            "idempotency_key": idempotency_key,
            "created_at": now,
        }
        statement = self._db.insert(messages).values(values)
        if idempotency_key is not None:
            statement = statement.on_conflict_do_nothing(
                index_elements=["sent_by_user_id", "idempotency_key"]
            )
        row = self._db.execute(statement.returning(*messages.c)).first()
        if row is not None:
            self._note_activity(conversation_id, now)
            return message_from_row(row), True
        earlier = self._db.execute(
            select(messages).where(
                messages.c.sent_by_user_id == sent_by_user_id,
                messages.c.idempotency_key == idempotency_key,
            )
        ).one()
        return message_from_row(earlier), False

    def get(self, message_id: int) -> Message | None:
        """One message, or None."""
        row = self._db.execute(select(messages).where(messages.c.id == message_id)).first()
        return None if row is None else message_from_row(row)

    def by_reference(self, reference_id: str) -> Message | None:
        """The message we sent with this ``referenceId``."""
        query = select(messages).where(messages.c.reference_id == reference_id)
        row = self._db.execute(query).first()
        return None if row is None else message_from_row(row)

    def advance(self, message_id: int, status: MessageStatus, *, error: str | None = None) -> bool:
        """One UPDATE that checks the status it moves from."""
        statement = (
            update(messages)
            .where(
                messages.c.id == message_id,
                messages.c.status.in_([str(s) for s in earlier_statuses(status)]),
            )
            .values(status=str(status), error=error)
        )
        return self._db.execute(statement).rowcount > 0

    def tie(self, message_id: int, wa_message_id: str) -> bool:
        """One UPDATE where the message has no WhatsApp id and nobody of its source has
        this one (the unique key settles a concurrent twin)."""
        taken = (
            select(other.c.id)
            .where(other.c.source == messages.c.source, other.c.wa_message_id == wa_message_id)
            .exists()
        )
        statement = (
            update(messages)
            .where(messages.c.id == message_id, messages.c.wa_message_id.is_(None), ~taken)
            .values(wa_message_id=wa_message_id)
        )
        return self._db.execute(statement, integrity_error=_TAKEN).rowcount > 0

    def advance_by_wa_id(self, source: str, wa_message_id: str, status: MessageStatus) -> bool:
        """The same for an outbound message WhatsApp knows by this id (acks)."""
        statement = (
            update(messages)
            .where(
                messages.c.source == source,
                messages.c.wa_message_id == wa_message_id,
                messages.c.direction == str(Direction.OUT),
                messages.c.status.in_([str(s) for s in earlier_statuses(status)]),
            )
            .values(status=str(status), error=None)
        )
        return self._db.execute(statement).rowcount > 0

    def page(self, conversation_id: int, *, limit: int, before_id: int | None) -> Page[Message]:
        """Newest first by (created_at, id), from the (conversation_id, created_at, id)
        index: a deep page costs what the first does.

        The cursor is one row-value comparison, ``(created_at, id) < (the cursor's)``,
        which both databases turn into a range of that index. (Spelt as ``a < x OR
        (a = x AND id < y)``, SQLite walked the thread's index down to the cursor: a
        page 90% down a thread of 200,000 messages took 77-88 ms, the first 0.4-0.6.)"""
        query = select(messages).where(messages.c.conversation_id == conversation_id)
        if before_id is not None:
            cursor_time = (
                select(messages.c.created_at)
                .where(messages.c.id == before_id, messages.c.conversation_id == conversation_id)
                .scalar_subquery()
            )
            query = query.where(
                tuple_(messages.c.created_at, messages.c.id)
                < tuple_(cursor_time, literal(before_id, messages.c.id.type))
            )
        query = query.order_by(messages.c.created_at.desc(), messages.c.id.desc()).limit(limit + 1)
        rows = self._db.execute(query).all()
        items = tuple(message_from_row(row) for row in rows[:limit])
        return Page(items=items, next_before_id=items[-1].id if len(rows) > limit else None)


def _unique(new: Sequence[NewMessage]) -> list[NewMessage]:
    """One of each WhatsApp id (the last wins), as one INSERT may not hit a row twice."""
    return list({m.wa_message_id: m for m in new}.values())
