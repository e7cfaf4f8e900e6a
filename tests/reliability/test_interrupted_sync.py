"""A sync killed with SIGKILL mid-sync is found ``interrupted``, never ``running``
forever; a sync still running in another live process is never marked so.

A real ``wa-manager sync`` child process is stopped while the fake UltraMsg stalls its
chat list (its history row written, its run lock held), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.reliability.support import (
    HIDDEN,
    INSTANCE,
    TOKEN,
    WA_MANAGER,
    cli_environment,
)
from wa_manager import Settings, bootstrap
from wa_manager.adapters.fake_ultramsg import FakeUltraMsg, sample_chats
from wa_manager.domain.model import CLI
from wa_manager.testing import FastHasher

pytestmark = pytest.mark.timeout(300)

STALL_SECONDS = 240  # longer than any test: the sync is killed while it waits


@pytest.fixture
def fake() -> Iterator[FakeUltraMsg]:
    with FakeUltraMsg(instance_id=INSTANCE, token=TOKEN, chats=sample_chats()) as server:
        yield server


def environment(fake: FakeUltraMsg, database_url: str) -> dict[str, str]:
    env = cli_environment(fake.base_url, database_url)
    return env | {"ULTRAMSG_TIMEOUT": str(STALL_SECONDS * 2)}


def wa_manager(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [WA_MANAGER, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    for secret in HIDDEN:
        assert secret not in done.stdout + done.stderr
    return done


def history(env: dict[str, str]) -> list[dict[str, object]]:
    done = wa_manager(env, "sync", "history", "--json")
    assert done.returncode == 0, done.stderr
    runs: list[dict[str, object]] = json.loads(done.stdout)
    return runs


def running_rows(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            query = (
                "SELECT count(*) FROM sync_runs"
                " WHERE finished_at IS NULL AND interrupted_at IS NULL"
            )
            return int(connection.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def start_stalled_sync(fake: FakeUltraMsg, env: dict[str, str], url: str) -> subprocess.Popen[str]:
    """A ``wa-manager sync`` child waiting on UltraMsg, once its history row is written."""
    fake.delay(STALL_SECONDS, times=1)
    child = subprocess.Popen(
        [WA_MANAGER, "sync"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for _ in range(600):  # bounded: at most a minute for the child to reach UltraMsg
        if running_rows(url) == 1 and fake.requests >= 1:
            return child
        assert child.poll() is None, child.returncode
        time.sleep(0.1)
    raise AssertionError("the sync never started")


def kill(child: subprocess.Popen[str]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL


def test_a_killed_sync_is_interrupted_at_the_next_sync(
    fake: FakeUltraMsg, database_url: str
) -> None:
    env = environment(fake, database_url)
    child = start_stalled_sync(fake, env, database_url)
    kill(child)
    assert [run["state"] for run in history(env)] == ["running"]  # nothing has looked yet

    done = wa_manager_when_the_lock_is_free(env, "sync")
    assert done.returncode == 0, done.stderr
    latest, *refused, killed = history(env)  # refused: tries while PostgreSQL held the lock
    assert (latest["state"], latest["error"]) == ("succeeded", None)
    assert all("already running" in str(run["error"]) for run in refused)
    assert killed["state"] == "interrupted"
    assert killed["finished_at"] is None
    assert "interrupted" in str(killed["error"])
    table = wa_manager(env, "sync", "history").stdout
    assert "interrupted" in table
    assert running_rows(database_url) == 0


def test_a_live_sync_is_never_marked_interrupted_and_a_dead_one_is_at_serve_start(
    fake: FakeUltraMsg, database_url: str
) -> None:
    env = environment(fake, database_url)
    child = start_stalled_sync(fake, env, database_url)
    app = bootstrap(Settings(instance_id=INSTANCE, database_url=database_url), hasher=FastHasher())
    try:
        assert app.syncs.mark_interrupted(CLI) == 0  # what `serve` does at start
        second = wa_manager(env, "sync")
        assert second.returncode == 1
        assert "already running" in second.stderr
        states = [run.state for run in app.syncs.history(CLI).items]
        assert states == ["failed", "running"]  # the refused one, the live one
        kill(child)
        marked = 0
        for _ in range(300):  # PostgreSQL frees the lock once it sees the socket close
            marked = app.syncs.mark_interrupted(CLI)
            if marked:
                break
            time.sleep(0.1)
        assert marked == 1
        assert [run.state for run in app.syncs.history(CLI).items] == ["failed", "interrupted"]
    finally:
        app.close()


def wa_manager_when_the_lock_is_free(
    env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """Run ``wa-manager`` until it is not refused as "already running" (PostgreSQL may
    take a moment to notice the killed client and free its lock); bounded."""
    for _ in range(100):
        done = wa_manager(env, *args)
        if "already running" not in done.stderr:
            return done
        time.sleep(0.2)
    raise AssertionError("the killed sync's lock was never freed")
