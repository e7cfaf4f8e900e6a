"""Ours: the whole sync use case, ``bootstrap(settings).sync()``, timed end to end.

From the HTTP request to UltraMsg (our client, against the local fake) to the
committed rows, exactly as ``wa-manager sync`` runs it. Building the app (the
engine, reading settings) and importing the UltraMsg client (which the app
imports on its first sync: httpx, 0.2–0.9 s on a loaded machine) happen before
the clock starts; the end-to-end contender (``cli.py``) times all of it. Every INSERT, UPDATE
and DELETE the sync sends is counted per table with a SQLAlchemy event, so a
re-sync with nothing to change can show that it wrote nothing.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

import wa_manager.adapters.ultramsg  # noqa: F401 - imported before the clock starts
from benchmarks.upstream import INSTANCE_ID, TOKEN
from wa_manager import Settings, bootstrap

WEBHOOK_SECRET = "bench-webhook-secret-not-a-secret"
_WRITE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)
DATA_TABLES = ("contacts", "conversations")


@contextmanager
def counting_writes() -> Iterator[Counter[str]]:
    """Rows written per table (the driver's rowcount) by any engine while inside."""
    written: Counter[str] = Counter()

    def count(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        match = _WRITE.match(statement)
        if match is not None:
            written[match.group(1).lower()] += max(cursor.rowcount, 0)

    event.listen(Engine, "after_cursor_execute", count)
    try:
        yield written
    finally:
        event.remove(Engine, "after_cursor_execute", count)


def settings(url: str, base_url: str) -> Settings:
    """The settings a benchmark app runs with: the fake UltraMsg and the bench database."""
    return Settings(
        instance_id=INSTANCE_ID,
        token=TOKEN,
        base_url=base_url,
        database_url=url,
        webhook_secret=WEBHOOK_SECRET,
    )


def our_sync(url: str, base_url: str) -> dict[str, Any]:
    """One sync; its seconds, its report and the rows it wrote per table."""
    with bootstrap(settings(url, base_url)) as app, counting_writes() as written:
        started = time.perf_counter()
        report = app.sync()
        finished = time.perf_counter()
    data_rows = sum(written[table] for table in DATA_TABLES)
    return {
        "seconds": finished - started,
        "report": report.as_dict(),
        "contacts": report.created_contacts,
        "conversations": report.created_conversations,
        "rows_written": data_rows,
        "writes_by_table": dict(written),
    }
