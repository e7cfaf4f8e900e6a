"""The practical limit: the least work that turns the same answer into the same rows.

Fetch the body with one httpx GET, decode it with msgspec into (id, name)
structs (SQLite's ``method="json"``: ``json.loads`` into dicts, then the same),
classify each id with the domain's own fast rules (the rows must be the same
rows: kind, E.164 phone, skipped chats), then write every contact with
one raw DB-API ``executemany`` (PostgreSQL: or ``COPY``) and every conversation
with one ``INSERT ... SELECT`` from the contacts just written, in one
transaction. No ORM, no SQLAlchemy, no per-row round trip: a sync cannot do
less and still store the same rows. SQLite gets the same pragmas as ours (WAL,
``synchronous=NORMAL``, foreign keys on), so durability is the same.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from benchmarks.databases import dbapi_connect
from wa_manager.domain.model import CONVERSATION_SOURCE, CONVERSATION_STATUS_ACTIVE
from wa_manager.domain.rules import classify_chat_id, phone_for_chat

METHODS = ("executemany", "copy", "json")


class _Chat(msgspec.Struct, gc=False):
    id: str | None = None
    name: str | None = None


_DECODER = msgspec.json.Decoder(list[_Chat])
_CONTACT_COLUMNS = "source, wa_id, name, phone, kind, created_at, last_seen_at"


def _decoded(body: bytes, method: str) -> Iterator[tuple[Any, Any]]:
    """(id, name) of each chat: msgspec structs, or (``json``) the standard library's dicts."""
    if method == "json":
        return ((chat.get("id"), chat.get("name")) for chat in json.loads(body))
    return ((chat.id, chat.name) for chat in _DECODER.decode(body))


def contact_rows(
    body: bytes, source: str, now: Any, method: str = "executemany"
) -> list[tuple[Any, ...]]:
    """The contact rows of an answer: conversations only, one per id (its last name wins)."""
    wanted: dict[str, tuple[Any, ...]] = {}
    for wa_id, name in _decoded(body, method):
        kind = classify_chat_id(wa_id)
        if kind.is_conversation:
            phone = phone_for_chat(wa_id, kind)
            wanted[wa_id] = (source, wa_id, name or None, phone, kind.contact_kind, now, now)
    return list(wanted.values())


def _sqlite_write(connection: Any, rows: list[tuple[Any, ...]], source: str, now: str) -> None:
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("BEGIN")
    connection.executemany(
        f"INSERT INTO contacts ({_CONTACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows
    )
    connection.execute(
        "INSERT INTO conversations (contact_id, source, status, created_at, last_activity_at) "
        "SELECT id, ?, ?, ?, ? FROM contacts WHERE source = ?",
        (CONVERSATION_SOURCE, CONVERSATION_STATUS_ACTIVE, now, now, source),
    )
    connection.commit()


def _postgres_write(
    connection: Any, rows: list[tuple[Any, ...]], source: str, now: datetime, method: str
) -> None:
    with connection.cursor() as cursor:
        if method == "copy":
            with cursor.copy(f"COPY contacts ({_CONTACT_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO contacts ({_CONTACT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        cursor.execute(
            "INSERT INTO conversations (contact_id, source, status, created_at, last_activity_at) "
            "SELECT id, %s, %s, %s, %s FROM contacts WHERE source = %s",
            (CONVERSATION_SOURCE, CONVERSATION_STATUS_ACTIVE, now, now, source),
        )
    connection.commit()


def limit_sync(
    url: str, chats_url: str, source: str, method: str = "executemany"
) -> dict[str, Any]:
    """Fetch, decode and write one sync's rows; the seconds of each phase and the rows."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    connection = dbapi_connect(url)
    sqlite = url.startswith("sqlite")
    if sqlite and method == "copy":
        raise ValueError("COPY is PostgreSQL only")
    if not sqlite and method == "json":
        raise ValueError("the json.loads limit is SQLite's (PostgreSQL's is COPY)")
    try:
        started = time.perf_counter()
        body = httpx.get(chats_url, timeout=300).content
        fetched = time.perf_counter()
        moment = datetime.now(UTC)
        now: Any = moment.replace(tzinfo=None).isoformat(" ") if sqlite else moment
        rows = contact_rows(body, source, now, method)
        planned = time.perf_counter()
        if sqlite:
            _sqlite_write(connection, rows, source, now)
        else:
            _postgres_write(connection, rows, source, now, method)
        finished = time.perf_counter()
    finally:
        connection.close()
    return {
        "seconds": finished - started,
        "fetch_seconds": fetched - started,
        "decode_seconds": planned - fetched,
        "write_seconds": finished - planned,
        "contacts": len(rows),
        "conversations": len(rows),
    }
