"""The HTTP API on a real SQLite database: in-process, and as a real `wa-manager serve` process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_http_support import World, all_pages, make_app, person_chats, running, sync
from tests.serving import free_loopback_port

from wa_manager.adapters.sql import SqlStore


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'http.db'}", auto_migrate=True)
    with running(make_app(person_chats(12), store=store)) as world:
        sync(world)
        yield world
    store.close()


def test_pages_and_links_on_sqlite(world: World) -> None:
    contacts = all_pages(world.client, "/api/contacts", world.admin.headers, limit=5)
    assert len({item["id"] for item in contacts}) == 12
    linked = [contacts[1]["id"], contacts[7]["id"]]
    for contact_id in linked:
        response = world.client.put(
            f"/api/contacts/{contact_id}/users",
            json={"user_ids": [world.user.user.id]},
            headers=world.admin.headers,
        )
        assert response.json() == {"user_ids": [world.user.user.id]}
    seen = all_pages(world.client, "/api/conversations", world.user.headers, limit=1)
    assert sorted(item["contact"]["id"] for item in seen) == sorted(linked)
    hidden = all_pages(world.client, "/api/conversations", world.admin.headers, limit=50)
    invisible = next(item["id"] for item in hidden if item["contact"]["id"] not in linked)
    absent = max(item["id"] for item in hidden) + 1
    answers = [
        world.client.get(f"/api/conversations/{number}", headers=world.user.headers)
        for number in (invisible, absent)
    ]
    assert [answer.status_code for answer in answers] == [404, 404]
    assert answers[0].text.replace(str(invisible), "N") == answers[1].text.replace(str(absent), "N")


def test_search_and_huge_ids_on_sqlite(world: World) -> None:
    found = world.client.get(
        "/api/contacts", params={"search": "Person 7"}, headers=world.admin.headers
    )
    assert [item["name"] for item in found.json()["items"]] == ["Person 7"]
    huge = world.client.get(f"/api/contacts/{2**63 - 1}", headers=world.admin.headers)
    assert huge.status_code == 404
    cursor = "djE6Y29udGFjdHM6OTIyMzM3MjAzNjg1NDc3NTgwNw"  # before_id 2**63-1
    page = world.client.get("/api/contacts", params={"cursor": cursor}, headers=world.admin.headers)
    assert page.status_code == 200
    assert len(page.json()["items"]) == 12


# -- a real server process --------------------------------------------------------------


WA_MANAGER = str(Path(sys.executable).with_name("wa-manager"))  # the installed console script


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [WA_MANAGER, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    return done.stdout


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise AssertionError(f"the server exited early: {log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not come up")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """(base URL, an admin's API token, its log) of `wa-manager serve` on a SQLite file."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ULTRAMSG_", "WA_MANAGER_"))
    }
    env["WA_MANAGER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'served.db'}"
    env["WA_MANAGER_SECRET_KEY"] = "served-secret"
    _cli(env, "users", "add", "boss", "--role", "admin", "--password-stdin", stdin="long enough\n")
    token = _cli(env, "tokens", "create", "boss").strip()
    port = free_loopback_port()
    log = tmp_path / "server.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [WA_MANAGER, "serve", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, f"{base}/healthz", log)
        yield base, token, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_real_server_answers_the_api(server: tuple[str, str, Path]) -> None:
    base, token, log = server
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/api/me").status_code == 401
        me = client.get("/api/me", headers=bearer)
        assert me.json()["username"] == "boss"
        assert me.headers["x-frame-options"] == "DENY"
        assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
        not_configured = client.post("/api/whatsapp-contacts", headers=bearer)
        assert not_configured.status_code == 503
        assert "ULTRAMSG" in not_configured.json()["error"]["message"]
        bad = client.get("/api/contacts", params={"limit": "x"}, headers=bearer)
        assert bad.status_code == 422
        assert token not in bad.text + not_configured.text
    assert token not in log.read_text()


def test_reads_answer_while_a_long_write_holds_the_sqlite_lock(
    world: World, tmp_path: Path
) -> None:
    """A GET is a read: it neither waits for a writer nor writes (``last_used_at`` is
    written at most every few minutes, and was just written by the first request)."""
    import sqlite3

    headers = world.admin.headers
    assert world.client.get("/api/me", headers=headers).status_code == 200
    writer = sqlite3.connect(tmp_path / "http.db", timeout=0, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a big sync in another process holds the lock
        writer.execute("UPDATE contacts SET name = 'renamed'")
        for path in ("/api/me", "/api/contacts", "/api/conversations", "/api/sync-runs"):
            answer = world.client.get(path, headers=headers)
            assert answer.status_code == 200, (path, answer.text)
        names = {
            item["name"]
            for item in world.client.get("/api/contacts", headers=headers).json()["items"]
        }
        assert "renamed" not in names  # the last committed state
    finally:
        writer.close()
