"""The installed ``wa-manager`` command, run as a subprocess against the fake UltraMsg.

A temporary SQLite file (and PostgreSQL when WA_MANAGER_TEST_DATABASE_URL is set)
holds the data; every run is checked for the UltraMsg token in its output.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.serving import free_loopback_port

from wa_manager.adapters.fake_ultramsg import FakeUltraMsg, sample_chats

WA_MANAGER = str(Path(sys.executable).with_name("wa-manager"))
INSTANCE_ID = "instance12345"
TOKEN = "tok-e2e-5c1d7a93b8f24e06"  # recognisable: must never show up in any output
WRONG_TOKEN = "tok-e2e-wrong-0d9e8f7a6b5c"
RUN_TIMEOUT = 120


class Cli:
    """Runs ``wa-manager`` in a directory with a given environment."""

    def __init__(self, cwd: Path, env: Mapping[str, str]) -> None:
        self.cwd = cwd
        self.env = dict(env)

    def run(
        self, *args: str, input: str = "", env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {**self.env, **(env or {})}
        result = subprocess.run(
            [WA_MANAGER, *args],
            cwd=self.cwd,
            env=environment,
            input=input,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        for secret in (TOKEN, WRONG_TOKEN):
            assert secret not in result.stdout
            assert secret not in result.stderr
        return result

    def ok(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        result = self.ok(*args)
        return json.loads(result.stdout)


def base_environment() -> dict[str, str]:
    """This process's environment without any wa-manager or UltraMsg settings."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ULTRAMSG_", "WA_MANAGER_"))
    }


def failed_with_one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def fake_ultramsg() -> Iterator[FakeUltraMsg]:
    with FakeUltraMsg(
        instance_id=INSTANCE_ID, token=TOKEN, chats=sample_chats(), host="127.0.0.1", port=0
    ) as fake:
        yield fake


def configured(cwd: Path, database_url: str, fake: FakeUltraMsg) -> Cli:
    """``wa-manager`` in ``cwd``, configured for the fake UltraMsg and this database."""
    env = base_environment() | {
        "ULTRAMSG_INSTANCE_ID": INSTANCE_ID,
        "ULTRAMSG_TOKEN": TOKEN,
        "ULTRAMSG_BASE_URL": fake.base_url,
        "ULTRAMSG_TIMEOUT": "5",
        "WA_MANAGER_DATABASE_URL": database_url,
    }
    return Cli(cwd, env)


@pytest.fixture
def cli(tmp_path: Path, database_url: str, fake_ultramsg: FakeUltraMsg) -> Cli:
    """``wa-manager`` on a fresh, migrated database (each backend) and the fake UltraMsg."""
    return configured(tmp_path, database_url, fake_ultramsg)


def test_db_upgrade_creates_the_schema_and_is_idempotent(
    tmp_path: Path, blank_database_url: str, fake_ultramsg: FakeUltraMsg
) -> None:
    cli = configured(tmp_path, blank_database_url, fake_ultramsg)
    assert "up to date" in cli.ok("db", "upgrade").stdout
    cli.ok("db", "upgrade")
    assert cli.json("users", "list", "--json") == []


def test_sync_then_a_second_sync_changes_nothing(cli: Cli) -> None:
    summary = cli.ok("sync").stdout.strip()
    match = re.fullmatch(
        rf"Synced {INSTANCE_ID}: (\d+) fetched, (\d+) new contacts, (\d+) new conversations, "
        r"0 renamed, (\d+) skipped in \d+ ms",
        summary,
    )
    assert match is not None, summary
    fetched, contacts, conversations, skipped = map(int, match.groups())
    assert fetched == len(sample_chats())
    assert contacts == conversations > 0
    assert skipped > 0

    result = cli.ok("sync", "--json")
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert set(report) >= {"instance_id", "duration_ms", "updated_contacts", "dry_run"}
    assert (report["instance_id"], report["fetched"], report["skipped"]) == (
        INSTANCE_ID,
        fetched,
        skipped,
    )
    assert (report["created_contacts"], report["created_conversations"]) == (0, 0)
    assert (report["updated_contacts"], report["dry_run"]) == (0, False)
    assert len(cli.json("contacts", "list", "--json")) == contacts


def test_a_wrong_token_exits_1_and_writes_nothing(cli: Cli) -> None:
    result = cli.run("sync", env={"ULTRAMSG_TOKEN": WRONG_TOKEN})
    assert "token" in failed_with_one_line(result, 1).lower()
    assert cli.json("contacts", "list", "--json") == []


def test_ultramsg_failing_every_retry_exits_1_and_writes_nothing(
    cli: Cli, fake_ultramsg: FakeUltraMsg
) -> None:
    fake_ultramsg.fail(500, times=100)
    result = cli.run("sync", "--json")
    failed_with_one_line(result, 1)
    assert result.stdout == ""
    assert fake_ultramsg.requests > 1  # a 500 is retried before giving up
    assert cli.json("contacts", "list", "--json") == []


def test_garbage_from_ultramsg_exits_1_and_writes_nothing(
    cli: Cli, fake_ultramsg: FakeUltraMsg
) -> None:
    fake_ultramsg.set_body(b"<html>maintenance</html>")
    result = cli.run("sync", "--json")
    failed_with_one_line(result, 1)
    assert result.stdout == ""
    assert cli.json("contacts", "list", "--json") == []


def test_missing_configuration_exits_2_naming_the_variables(tmp_path: Path) -> None:
    cli = Cli(tmp_path, base_environment())
    line = failed_with_one_line(cli.run("sync"), 2)
    assert "ULTRAMSG_INSTANCE_ID" in line
    assert "ULTRAMSG_TOKEN" in line


def test_users_tokens_links_and_conversations(cli: Cli) -> None:
    cli.ok("sync")
    cli.ok("users", "add", "maria", "--role", "user", "--password-stdin", input="maria-pw-123\n")
    cli.ok("users", "add", "alice", "--role", "admin")
    duplicate = cli.run("users", "add", "alice", "--role", "user")
    assert "alice" in failed_with_one_line(duplicate, 1)

    token = cli.ok("tokens", "create", "alice").stdout
    assert token.count("\n") == 1
    assert len(token.strip()) >= 32

    cli.ok("links", "add", "+4915112345678", "maria")
    links = cli.json("links", "list", "--json")
    assert [(link["wa_id"], link["username"]) for link in links] == [
        ("4915112345678@c.us", "maria")
    ]
    seen = cli.json("conversations", "list", "--as", "maria", "--json")
    assert [c["contact"]["wa_id"] for c in seen] == ["4915112345678@c.us"]
    everything = cli.json("conversations", "list", "--as", "alice", "--json")
    assert len(everything) > 1
    assert links[0]["contact_id"] in {c["contact"]["id"] for c in everything}


def test_demo_without_serving_in_an_empty_directory(tmp_path: Path) -> None:
    cli = Cli(tmp_path, base_environment())
    first = cli.ok("demo", "--no-serve")
    assert f"Synced {INSTANCE_ID}: " in first.stdout
    assert "admin / " in first.stdout
    assert "maria / " in first.stdout
    assert "token=" not in first.stdout + first.stderr
    assert "<script>" not in first.stdout
    assert "Live" not in first.stdout  # nothing is live without the web UI
    assert (tmp_path / "wa_manager.db").is_file()
    fetched = re.search(r"Fetched (\d+) messages of (\d+) conversations, (\d+) new", first.stdout)
    assert fetched is not None, first.stdout
    assert int(fetched[1]) == int(fetched[3]) >= 2 * int(fetched[2]) > 0

    second = cli.ok("demo", "--no-serve")
    assert "admin / " not in second.stdout  # passwords are printed once
    assert "exists already" in second.stdout
    assert f"Fetched {fetched[1]} messages of {fetched[2]} conversations, 0 new" in second.stdout
    seen = cli.json("conversations", "list", "--as", "maria", "--json")
    assert len(seen) == 3
    thread = cli.json("messages", "list", str(seen[0]["id"]), "--as", "maria", "--json")
    assert {message["direction"] for message in thread} == {"in", "out"}
    with contextlib.closing(sqlite3.connect(tmp_path / "wa_manager.db")) as database:
        threads = database.execute(
            "SELECT count(*), count(DISTINCT m.conversation_id) FROM conversations c "
            "LEFT JOIN messages m ON m.conversation_id = c.id"
        ).fetchone()
    assert threads == (int(fetched[1]), int(fetched[2]))  # every thread has messages


def test_serve_answers_health_checks_until_stopped(cli: Cli) -> None:
    port = free_loopback_port()
    server = subprocess.Popen(
        [WA_MANAGER, "serve", "--port", str(port)],
        cwd=cli.cwd,
        env=cli.env | {"WA_MANAGER_SECRET_KEY": "s" * 40},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 60
        while health is None and time.monotonic() < deadline and server.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None, "the server never answered"
        assert health.json() == {"status": "ok"}
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert TOKEN not in stderr


def test_the_served_demo_gives_a_reply_its_ticks(tmp_path: Path) -> None:
    cli = Cli(tmp_path, base_environment())
    port = free_loopback_port()
    demo = subprocess.Popen(
        [WA_MANAGER, "demo", "--port", str(port)],
        cwd=tmp_path,
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stdout is not None
        banner = []
        for line in demo.stdout:
            banner.append(line)
            if line.startswith("Open http"):
                break
        assert any("gets its ticks" in line for line in banner), banner
        token = cli.ok("tokens", "create", "admin").stdout.split()[-1]
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        with api:
            sent = None
            deadline = time.monotonic() + 60
            while sent is None and time.monotonic() < deadline:
                try:
                    sent = api.post("/api/conversations/1/messages", json={"body": "Ready at 6"})
                except httpx.TransportError:
                    time.sleep(0.2)
            assert sent is not None, "the demo never answered"
            assert sent.status_code == 201, sent.text
            status = sent.json()["status"]
            while status != "read" and time.monotonic() < deadline:
                time.sleep(0.2)
                items = api.get("/api/conversations/1/messages?limit=5").json()["items"]
                status = next(m["status"] for m in items if m["id"] == sent.json()["id"])
            assert status == "read"
    finally:
        demo.terminate()
        stdout, stderr = demo.communicate(timeout=30)
    output = "".join(banner) + stdout + stderr
    assert "/webhooks/ultramsg/***" in output  # the fake's webhooks came in
    assert not re.search(r"/webhooks/ultramsg/(?!\*\*\*)", output)  # the secret never shows
