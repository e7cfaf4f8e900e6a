"""Load: a few thousand GET /api/conversations from a second process while 100k chats sync.

``wa-manager serve`` runs in a child process on PostgreSQL (SQLite without a
server URL); the load comes from another child process
(``benchmarks.http_load``: keep-alive connections, a fixed number of GETs).
The sync is started first and the load begins once the sync is recorded as
running. Every answer must be a 200; the numbers go into the figures.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks.http_load import load

from tests.conftest import fresh_sqlite_url, migrated_url, postgres_url
from tests.reliability.figures import LOAD, Recorder
from tests.reliability.support import (
    INSTANCE,
    TOKEN,
    cli_environment,
    served_process,
    sql_app,
)
from wa_manager.adapters.fake_ultramsg import FakeUltraMsg
from wa_manager.domain.model import LIBRARY
from wa_manager.testing import StaticChats

CHATS = 100_000
REQUESTS = 3_000
CONNECTIONS = 8


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_listing_under_load_while_100k_chats_sync(
    request: pytest.FixtureRequest, tmp_path: Path, figures: Recorder
) -> None:
    url = migrated_url("postgres", request) if postgres_url() else fresh_sqlite_url(tmp_path)
    chats = [{"id": f"49153{n:08d}@c.us", "name": f"Person {n}"} for n in range(CHATS)]
    setup = sql_app(url, StaticChats())
    setup.add_user("admin", "admin", "a long password")
    token = setup.accounts.create_token(LIBRARY, "admin")
    setup.close()

    with FakeUltraMsg(instance_id=INSTANCE, token=TOKEN, chats=chats) as fake:
        env = cli_environment(fake.base_url, url) | {"ULTRAMSG_TIMEOUT": "120"}
        with served_process(env, tmp_path / "serve.log") as root:
            headers = {"Authorization": f"Bearer {token}"}
            sync_answer: dict[str, Any] = {}

            def run_sync() -> None:
                with httpx.Client(base_url=root, timeout=600) as client:
                    answer = client.post("/api/whatsapp-contacts", headers=headers)
                sync_answer.update(status=answer.status_code, body=answer.json())

            syncing = threading.Thread(target=run_sync)
            started = time.perf_counter()
            syncing.start()
            wait_until_a_sync_runs(root, headers)
            result = load(root, "/api/conversations", token, REQUESTS, CONNECTIONS)
            overlapped = syncing.is_alive()
            syncing.join(timeout=600)
            sync_seconds = time.perf_counter() - started

    assert sync_answer["status"] == 200, sync_answer
    assert sync_answer["body"]["created_contacts"] == CHATS
    assert result["statuses"] == {"200": result["requests"]}, result["statuses"]
    assert result["requests"] >= REQUESTS - CONNECTIONS
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    figures.add(LOAD, cases=1, requests=result["requests"])
    figures.note(
        LOAD,
        f"{result['requests']:,} GET /api/conversations over {CONNECTIONS} connections in "
        f"{result['seconds']:.1f} s ({result['requests_per_second']:.0f}/s), 0 errors, "
        f"{'all' if overlapped else 'partly'} during a sync of {CHATS:,} chats "
        f"({sync_seconds:.1f} s, {backend})",
    )


def wait_until_a_sync_runs(root: str, headers: dict[str, str]) -> None:
    """Return once the server records a sync that has not finished."""
    with httpx.Client(base_url=root, timeout=30) as client:
        for _ in range(600):
            runs = client.get("/api/sync-runs", headers=headers).json()["items"]
            if runs and runs[0].get("finished_at") is None:
                return
            time.sleep(0.05)
    raise AssertionError("the sync never showed up as running")
