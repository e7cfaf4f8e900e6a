"""The naive peer: the sync most projects write, an ORM loop.

Its own SQLAlchemy ORM classes mapped onto the same ``contacts`` and
``conversations`` tables (benchmarks only: wa-manager maps no ORM classes).
For each chat it asks the database whether the contact exists, adds it, and
flushes to learn its id for the conversation; one commit at the end. It uses
the same id rules as ours (so the speed-up measured is the database pattern's,
not a slower phone parser's) and fetches with httpx and ``response.json()``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, MetaData, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from wa_manager.adapters.sql.engine import make_engine
from wa_manager.domain.model import CONVERSATION_SOURCE, CONVERSATION_STATUS_ACTIVE
from wa_manager.domain.rules import classify_chat_id, phone_for_chat

_Id = BigInteger().with_variant(Integer(), "sqlite")


class _Base(DeclarativeBase):
    metadata = MetaData()


class NaiveContact(_Base):
    """A contact row, ORM-style."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(128))
    wa_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    vanished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NaiveConversation(_Base):
    """A conversation row, ORM-style."""

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(_Id, ForeignKey("contacts.id"))
    source: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    assigned_user_id: Mapped[int | None] = mapped_column(_Id)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def naive_sync(url: str, chats_url: str, source: str) -> dict[str, Any]:
    """The obvious loop; its seconds and the rows it created."""
    engine = make_engine(url)  # the same engine set-up (pragmas) as ours
    created = 0
    try:
        started = time.perf_counter()
        chats = httpx.get(chats_url, timeout=300).json()
        with Session(engine) as session:
            now = datetime.now(UTC)
            for chat in chats:
                wa_id, name = chat.get("id"), chat.get("name") or None
                kind = classify_chat_id(wa_id)
                if not kind.is_conversation:
                    continue
                contact = session.scalars(
                    select(NaiveContact).filter_by(source=source, wa_id=wa_id)
                ).first()
                if contact is None:
                    contact = NaiveContact(
                        source=source,
                        wa_id=wa_id,
                        name=name,
                        phone=phone_for_chat(wa_id, kind),
                        kind=kind.contact_kind,
                        created_at=now,
                        last_seen_at=now,
                    )
                    session.add(contact)
                    session.flush()
                    session.add(
                        NaiveConversation(
                            contact_id=contact.id,
                            source=CONVERSATION_SOURCE,
                            status=CONVERSATION_STATUS_ACTIVE,
                            created_at=now,
                            last_activity_at=now,
                        )
                    )
                    session.flush()
                    created += 1
                elif contact.name != name:
                    contact.name = name
            session.commit()
        finished = time.perf_counter()
    finally:
        engine.dispose()
    return {"seconds": finished - started, "contacts": created, "conversations": created}
