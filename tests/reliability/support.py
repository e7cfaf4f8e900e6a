"""Helpers shared by the reliability tests: apps on real stores, database snapshots, clocks."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

from tests.serving import free_loopback_port
from wa_manager import Settings
from wa_manager.adapters.sql import SqlStore
from wa_manager.adapters.ultramsg import UltraMsgClient
from wa_manager.bootstrap import App, bootstrap
from wa_manager.config import Secret
from wa_manager.domain.model import CLI, LIBRARY, ConversationEvent, User
from wa_manager.domain.ports import ChatSource
from wa_manager.testing import FastHasher

INSTANCE = "instance777"
TOKEN = "tok-RELIABILITY-9d3b7c1e5a"  # recognisable: must never show up anywhere
WEBHOOK_SECRET = "hook-RELIABILITY-6f2a8e4c0b"  # the same
HIDDEN = (TOKEN, WEBHOOK_SECRET)
WEBHOOK_PATH = f"/webhooks/ultramsg/{WEBHOOK_SECRET}"
DATA_TABLES = ("contacts", "conversations", "contact_links", "users", "api_tokens")


class FakeTime:
    """A monotonic clock that moves only when the client sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now

    @property
    def elapsed(self) -> float:
        return self.now - 1000.0


def ultramsg_client(
    base_url: str, fake_time: FakeTime, *, token: str = TOKEN, **options: Any
) -> UltraMsgClient:
    """A client for ``base_url`` whose backoff sleeps on ``fake_time`` (no real waiting)."""
    settings: dict[str, Any] = {"timeout": 5.0, "max_attempts": 4, "max_total_seconds": 60.0}
    settings.update(options)
    return UltraMsgClient(
        base_url=base_url,
        instance_id=INSTANCE,
        token=Secret(token),
        sleep=fake_time.sleep,
        clock=fake_time.monotonic,
        **settings,
    )


def sql_app(database_url: str, chats: ChatSource, **settings: Any) -> App:
    """An ``App`` on the SQL store at ``database_url`` (migrated) reading ``chats``."""
    return bootstrap(
        Settings(instance_id=INSTANCE, token=TOKEN, database_url=database_url, **settings),
        chats=chats,
        store=SqlStore.open(database_url, auto_migrate=True),
        hasher=FastHasher(),
    )


def engine_of(app: App) -> Engine:
    """The SQLAlchemy engine under an app on a ``SqlStore``."""
    store = app.store
    assert isinstance(store, SqlStore)
    return store.engine


def snapshot(app: App, tables: Iterable[str] = DATA_TABLES) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the data tables, sorted: equal snapshots mean nothing was written."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine_of(app).connect() as connection:
        for table in tables:
            result = connection.execute(text(f"SELECT * FROM {table}"))  # noqa: S608 - fixed names
            rows[table] = sorted((tuple(row) for row in result), key=repr)
    return rows


def count_rows(app: App, table: str) -> int:
    """How many rows ``table`` has."""
    with engine_of(app).connect() as connection:
        count = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
    return int(count or 0)


def last_sync_error(app: App) -> str | None:
    """The error of the most recent recorded sync (None when it succeeded)."""
    run = app.syncs.last(LIBRARY)
    assert run is not None
    return run.error


def chats_json(count: int, *, start: int = 0, name: Callable[[int], str] | None = None) -> bytes:
    """An UltraMsg chat list of ``count`` people as JSON bytes."""
    label = name or (lambda number: f"Person {number}")
    return json.dumps(
        [
            {"id": f"49151{number:08d}@c.us", "name": label(number), "unread": 0}
            for number in range(start, start + count)
        ]
    ).encode()


def chats_with_a_lone_surrogate(count: int = 10) -> bytes:
    """A chat list whose first name is cut in the middle of an emoji (JSON ``\\ud83d``)."""
    return chats_json(count, name=lambda number: "Cut \ud83d" if number == 0 else f"P {number}")


def hostile_webhook_bodies() -> list[tuple[bytes, str]]:
    """(body, content type) of the webhooks that were a 500 with the secret in the log:
    JSON 2,000 deep, a lone surrogate push name, a 2 KB form value of brackets."""
    surrogate = {
        "event_type": "message_received",
        "instanceId": INSTANCE,
        "data": {"from": "4915100000999@c.us", "pushname": "Cut \ud83d"},
    }
    return [
        (b'{"event_type": "message_received", "data": ' + b"[" * 2000 + b"]" * 2000 + b"}",
         "application/json"),
        (json.dumps(surrogate).encode(), "application/json"),
        (b"event_type=message_received&data=" + b"[" * 2048, "application/x-www-form-urlencoded"),
    ]  # fmt: skip


def hang_up_mid_body(root: str, path: str) -> None:
    """Send headers and half of a declared body to the server at ``root``, then hang up."""
    host, _, port = root.removeprefix("http://").partition(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n".encode()
            + b'{"event_type": "message_rec'
        )


WA_MANAGER = str(Path(sys.executable).with_name("wa-manager"))


def cli_environment(base_url: str, database_url: str, token: str = TOKEN) -> dict[str, str]:
    """The environment of a ``wa-manager`` process for this UltraMsg and database."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("ULTRAMSG_", "WA_MANAGER_"))}
    return keep | {
        "ULTRAMSG_INSTANCE_ID": INSTANCE,
        "ULTRAMSG_TOKEN": token,
        "ULTRAMSG_BASE_URL": base_url,
        "ULTRAMSG_TIMEOUT": "10",
        "WA_MANAGER_DATABASE_URL": database_url,
        "WA_MANAGER_SECRET_KEY": "reliability-session-key",
        "WA_MANAGER_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


def wait_until_serving(root: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Return once ``root/healthz`` answers 200; fail with the log if the server died."""
    for _ in range(600):
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{root}/healthz", timeout=2).status_code == 200:
                return
        assert server.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError(f"{root} did not answer in a minute: {log.read_text()}")


@contextlib.contextmanager
def served_process(env: dict[str, str], log: Path, *options: str) -> Iterator[str]:
    """``wa-manager serve [options]`` in a child process, its output in ``log``; its root URL."""
    port = free_loopback_port()
    with log.open("w") as output:
        server = subprocess.Popen(
            [WA_MANAGER, "serve", "--port", str(port), *options],
            env=env,
            stdout=output,
            stderr=output,
        )
        root = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(root, server, log)
            yield root
        finally:
            server.terminate()
            server.wait(timeout=60)


def together(*calls: Callable[[], object]) -> list[BaseException | None]:
    """Run ``calls`` in threads released at the same moment; what each raised."""
    start = threading.Barrier(len(calls))
    outcomes: list[BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        try:
            calls[index]()
        except BaseException as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def assert_sight_loss_waits_for_assignment(
    app: App, boss: User, assignee: User, conversation_id: int, take_sight: Callable[[], object]
) -> None:
    """Hold an assignment of ``conversation_id`` to ``assignee`` open at its most
    delicate point (the right to see it checked, the conversation changed, not yet
    committed, as ``Conversations.update`` does) while ``take_sight`` (an unlink, a
    membership ended) runs in another thread: it must wait for the assignment, and
    then take it away again, so nobody is left holding what they cannot see."""
    done = threading.Event()

    def race() -> None:
        take_sight()
        done.set()

    racer = threading.Thread(target=race)
    with app.store() as uow:
        assert uow.conversations.may_see(assignee, conversation_id)
        assert uow.conversations.lock(conversation_id) is not None
        uow.conversations.apply(
            ConversationEvent.assignment(conversation_id, None, assignee.id, boss.id, app.clock())
        )
        racer.start()
        racer.join(timeout=1.0)  # it must wait for this transaction: the right to see is held
        finished_early = done.is_set()
        uow.commit()
    racer.join()
    assert not finished_early, "taking sight away did not wait for the assignment in flight"
    assert app.conversations.get(CLI, conversation_id).assigned_user_id is None
    assert [e.type for e in app.conversations.events(CLI, conversation_id).items] == [
        "assigned",
        "unassigned",
    ]
