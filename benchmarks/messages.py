"""Messages: a thread page at many stored messages, and webhook bodies for the ingest load.

``prepare_messages`` stores ``total`` messages straight through the driver (one
executemany on SQLite, ``COPY`` on PostgreSQL): a fifth of them in one thread
(the conversation under test), the rest spread over up to 1,000 others, one
second apart, as UltraMsg's history would leave them. ``thread_latency`` then
times ``GET /api/conversations/{id}/messages`` over HTTP against our server:
the first page of 50, and a page 90% of the way down the thread, asked with the
cursor the API hands out for it (``before_id``: the id of the page's last
message before it, read from the database rather than by paging 180,000
messages down); median and p99.

``webhook_bodies`` makes distinct ``message_received`` events (JSON, as UltraMsg
posts them) for the ingest load of ``http_load``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from benchmarks.databases import dbapi_connect
from benchmarks.listing import DEPTH, PAGE_SIZE, _sample, _summary
from benchmarks.upstream import INSTANCE_ID

THREAD_SHARE = 0.2
OTHER_THREADS = 1000
_COLUMNS = "conversation_id, source, wa_message_id, direction, type, body, status, created_at"


def _rows(
    thread: int, others: list[int], total: int, sqlite: bool
) -> Any:  # an iterator of row tuples
    start = datetime(2025, 1, 1, tzinfo=UTC)
    in_thread = max(1, int(total * THREAD_SHARE))
    for index in range(total):
        conversation = thread if index % 5 == 0 and index // 5 < in_thread else None
        if conversation is None:
            conversation = others[index % len(others)] if others else thread
        moment = start + timedelta(seconds=index)
        created: Any = (
            moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment
        )
        yield (
            conversation,
            INSTANCE_ID,
            f"false_bench{index}@c.us_{index:012d}",
            "in",
            "chat",
            f"Message number {index}: hello there, how are you?",
            "received",
            created,
        )


def prepare_messages(url: str, total: int) -> dict[str, Any]:
    """Store ``total`` messages; the thread's conversation id and how many it holds."""
    connection = dbapi_connect(url)
    sqlite = url.startswith("sqlite")
    try:
        ids = [row[0] for row in connection.execute("SELECT id FROM conversations ORDER BY id")]
        thread, others = ids[-1], ids[:-1][-OTHER_THREADS:]
        started = time.perf_counter()
        rows = _rows(thread, others, total, sqlite)
        if sqlite:
            connection.execute("BEGIN")
            connection.executemany(
                f"INSERT INTO messages ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
        else:
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY messages ({_COLUMNS}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        connection.commit()
        seconds = time.perf_counter() - started
        where = f"WHERE conversation_id = {int(thread)}"
        count = connection.execute(f"SELECT count(*) FROM messages {where}").fetchone()[0]
        # The cursor the API hands out with the page ending there: its last item's id.
        cursor = connection.execute(
            f"SELECT id FROM messages {where} ORDER BY created_at DESC, id DESC "
            f"LIMIT 1 OFFSET {int(count * DEPTH)}"
        ).fetchone()[0]
    finally:
        connection.close()
    return {
        "thread": thread,
        "thread_messages": count,
        "deep_cursor": cursor,
        "insert_seconds": seconds,
    }


def thread_latency(
    root: str, token: str, prepared: dict[str, Any], budget_seconds: float
) -> dict[str, Any]:
    """Median and p99 (ms) of the thread's first page and of a deep one, over HTTP."""
    path = f"/api/conversations/{prepared['thread']}/messages?limit={PAGE_SIZE}"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with httpx.Client(base_url=root, headers=headers, timeout=60) as client:
        deep_path = f"{path}&before_id={prepared['deep_cursor']}"
        first = _sample(lambda: client.get(path).raise_for_status(), budget_seconds, 2000)
        deep = _sample(lambda: client.get(deep_path).raise_for_status(), budget_seconds, 2000)
    return {**prepared, "first": _summary(first), "deep": _summary(deep)}


def webhook_bodies(count: int, offset: int) -> list[bytes]:
    """``count`` distinct ``message_received`` events from 1,000 senders, as JSON bytes."""
    digits = "".join(ch for ch in INSTANCE_ID if ch.isdigit())
    now = int(time.time())
    return [
        json.dumps(
            {
                "event_type": "message_received",
                "instanceId": digits,
                "data": {
                    "id": f"false_{4915100000000 + n % 1000}@c.us_BENCH{offset + n:010d}",
                    "from": f"{4915100000000 + n % 1000}@c.us",
                    "to": "4915000000000@c.us",
                    "pushname": f"Sender {n % 1000}",
                    "type": "chat",
                    "body": f"Webhook message {offset + n}",
                    "fromMe": False,
                    "time": now,
                },
            }
        ).encode()
        for n in range(count)
    ]
