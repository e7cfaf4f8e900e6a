"""Eight syncs at once, with link changes and listings in between, on a real loopback server.

The app runs under uvicorn in this process (SQLite and PostgreSQL), reading the
fake UltraMsg server; threads fire 8 syncs together while others set links and
page through conversations. Afterwards: no 5xx, every sync answered with a
report or a 409 "already running", no duplicate contact or conversation, no
lost link, and each user sees exactly their linked contacts.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import backend_params, fresh_sqlite_url, migrated_url
from tests.reliability.figures import CONCURRENCY, Recorder
from tests.reliability.support import (
    INSTANCE,
    TOKEN,
    FakeTime,
    engine_of,
    sql_app,
    ultramsg_client,
)
from tests.serving import served_in_thread
from wa_manager.adapters.fake_ultramsg import FakeUltraMsg
from wa_manager.bootstrap import App
from wa_manager.domain.model import LIBRARY
from wa_manager.entrypoints.http.app import create_app

SYNCS = 8
LINKERS = 3
LISTERS = 3

pytestmark = pytest.mark.timeout(600)


def person(number: int, prefix: str = "Person") -> dict[str, Any]:
    return {"id": f"49152{number:08d}@c.us", "name": f"{prefix} {number}"}


@pytest.fixture(params=backend_params("sqlite", "postgres"))
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return fresh_sqlite_url(tmp_path)
    return migrated_url("postgres", request)


def serving(app: App) -> contextlib.AbstractContextManager[str]:
    """``app``'s HTTP app under uvicorn on a free loopback port, in a thread; its root URL."""
    return served_in_thread(create_app(app, secret_key="concurrency-key"))


class Storm:
    """Runs workers together and keeps every answer they got."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.answers: list[tuple[str, int, str]] = []
        self._lock = threading.Lock()
        self.start = threading.Barrier(SYNCS + LINKERS + LISTERS)

    def call(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=self.root, timeout=120) as client:
            response = client.request(
                method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )
        with self._lock:
            self.answers.append(
                (f"{method} {path.split('?')[0]}", response.status_code, response.text)
            )
        return response

    def run(self, workers: list[Callable[[], None]]) -> None:
        errors: list[BaseException] = []

        def wrapped(work: Callable[[], None]) -> None:
            try:
                self.start.wait(timeout=60)
                work()
            except BaseException as error:  # reported below, in the test's thread
                errors.append(error)

        threads = [threading.Thread(target=wrapped, args=(work,)) for work in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not errors, errors


def run_storm(database: str, figures: Recorder, chats: int, rounds: int) -> None:
    initial = [person(n) for n in range(chats)]
    with FakeUltraMsg(instance_id=INSTANCE, token=TOKEN, chats=initial) as fake:
        app = sql_app(database, ultramsg_client(fake.base_url, FakeTime(), timeout=60))
        try:
            admin = app.add_user("admin", "admin", "a long password")
            admin_token = app.accounts.create_token(LIBRARY, "admin")
            users = [app.add_user(f"member{i}", "user", "a long password") for i in range(LINKERS)]
            tokens = [app.accounts.create_token(LIBRARY, user.username) for user in users]
            app.sync()
            contacts = sorted(contact.id for contact in app.contacts.page(LIBRARY, limit=200).items)
            with serving(app) as root:
                for round_number in range(rounds):
                    fake.chats = [
                        *(person(n, f"Round {round_number}") for n in range(chats)),
                        *(
                            person(n)
                            for n in range(chats * (round_number + 1), chats * (round_number + 2))
                        ),
                    ]
                    storm = Storm(root)
                    expected_links = storm_round(storm, admin_token, tokens, users, contacts)
                    check_round(storm, app, expected_links, users, tokens, root)
                    figures.add(CONCURRENCY, cases=1, requests=len(storm.answers))
            assert admin.is_admin
        finally:
            app.close()


def storm_round(
    storm: Storm, admin_token: str, tokens: list[str], users: list[Any], contacts: list[int]
) -> dict[int, list[int]]:
    """Fire the workers; the links each contact must end with."""
    expected: dict[int, list[int]] = {}
    shares = [contacts[index::LINKERS] for index in range(LINKERS)]

    def syncer() -> None:
        storm.call("POST", "/api/whatsapp-contacts", admin_token)

    def linker(index: int) -> Callable[[], None]:
        def work() -> None:
            for contact in shares[index]:
                body = {"user_ids": [users[index].id]}
                answer = storm.call("PUT", f"/api/contacts/{contact}/users", admin_token, json=body)
                assert answer.status_code == 200, answer.text
                expected[contact] = [users[index].id]

        return work

    def lister(token: str) -> Callable[[], None]:
        def work() -> None:
            for _ in range(10):
                storm.call("GET", "/api/conversations?limit=200", token)
                storm.call("GET", "/api/contacts?limit=50", admin_token)

        return work

    storm.run(
        [syncer] * SYNCS
        + [linker(index) for index in range(LINKERS)]
        + [lister(token) for token in [*tokens, admin_token][:LISTERS]]
    )
    return expected


def check_round(
    storm: Storm,
    app: App,
    expected_links: dict[int, list[int]],
    users: list[Any],
    tokens: list[str],
    root: str,
) -> None:
    statuses = Counter((kind, status) for kind, status, _ in storm.answers)
    assert all(status < 500 for _, status in statuses), statuses
    syncs = [(status, body) for kind, status, body in storm.answers if "whatsapp" in kind]
    assert len(syncs) == SYNCS
    for status, body in syncs:
        assert status == 200 or (status == 409 and "already running" in body), (status, body)
    assert any(status == 200 for status, _ in syncs)
    others = [status for kind, status, _ in storm.answers if "whatsapp" not in kind]
    assert set(others) == {200}, statuses

    with engine_of(app).connect() as connection:
        duplicates = connection.execute(
            text("SELECT wa_id FROM contacts GROUP BY source, wa_id HAVING count(*) > 1")
        ).all()
        doubled = connection.execute(
            text("SELECT contact_id FROM conversations GROUP BY contact_id HAVING count(*) > 1")
        ).all()
        orphans = connection.execute(
            text(
                "SELECT count(*) FROM contacts c WHERE NOT EXISTS "
                "(SELECT 1 FROM conversations v WHERE v.contact_id = c.id)"
            )
        ).scalar()
    assert duplicates == []
    assert doubled == []
    assert orphans == 0
    for contact, user_ids in expected_links.items():
        assert app.contacts.user_ids(LIBRARY, contact) == user_ids
    for user, token in zip(users, tokens, strict=True):
        with httpx.Client(base_url=root, timeout=60) as client:
            seen = client.get(
                "/api/conversations?limit=200", headers={"Authorization": f"Bearer {token}"}
            ).json()["items"]
        mine = {contact for contact, ids in expected_links.items() if user.id in ids}
        assert {item["contact"]["id"] for item in seen} == mine


def test_eight_syncs_at_once_with_links_and_listings(database: str, figures: Recorder) -> None:
    run_storm(database, figures, chats=150, rounds=1)
    if database.startswith("sqlite"):
        figures.fixed(
            CONCURRENCY,
            "SQLite: a link change (or any Bearer request) during a sync failed with 503 "
            "(a read transaction cannot turn into a write after another commit in WAL "
            "mode); units of work now begin with BEGIN IMMEDIATE",
        )


@pytest.mark.slow
def test_rounds_of_eight_big_syncs_at_once(database: str, figures: Recorder) -> None:
    run_storm(database, figures, chats=5_000, rounds=3)
