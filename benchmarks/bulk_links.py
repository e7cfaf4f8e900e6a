"""``python -m benchmarks.bulk_links [SIZE] [DATABASE_URL]``: time one bulk link.

Syncs SIZE canned contacts (default 5,000) into a fresh database, then links all of
them to two users and a team in one ``bulk_link`` (by search, as "select all N
matching" does), then unlinks them again; prints the seconds of each. The default
database is a temporary SQLite file; give a PostgreSQL URL to measure there (its
tables are emptied first).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from wa_manager import Settings, bootstrap
from wa_manager.adapters.sql import SqlStore, upgrade
from wa_manager.domain.model import LIBRARY, BulkLinkChange, ContactSelection
from wa_manager.testing import FastHasher, StaticChats


def measure(size: int, url: str) -> dict[str, float]:
    """Seconds to link and to unlink ``size`` contacts to two users and a team."""
    upgrade(url)
    store = SqlStore.open(url)
    chats = StaticChats([(f"49152{n:08d}@c.us", f"Person {n}") for n in range(size)])
    app = bootstrap(Settings(instance_id="bench"), chats=chats, store=store, hasher=FastHasher())
    try:
        app.sync()
        users = [app.add_user(name, "user").id for name in ("anna", "bert")]
        team = app.teams.add(LIBRARY, "support").id
        everyone = ContactSelection(search="@c.us")
        figures = {}
        for label, change in (
            ("link", BulkLinkChange(add_user_ids=tuple(users), add_team_ids=(team,))),
            ("unlink", BulkLinkChange(remove_user_ids=tuple(users), remove_team_ids=(team,))),
        ):
            started = time.perf_counter()
            contacts, changed = app.contacts.bulk_link(LIBRARY, everyone, change)
            figures[label] = time.perf_counter() - started
            assert (contacts, changed) == (size, 3 * size), (contacts, changed)
        return figures
    finally:
        store.close()


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory() as folder:
        url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{Path(folder) / 'bench.db'}"
        figures = measure(size, url)
    print(
        f"{size} contacts x (2 users + 1 team): "
        + ", ".join(f"{label} {seconds:.3f} s" for label, seconds in figures.items())
    )


if __name__ == "__main__":
    main()
