"""Several WhatsApp numbers end to end: stored instances on real databases (SQLite and
PostgreSQL), one fake UltraMsg serving three instances with different tokens, the CLI
(CliRunner, real settings from the environment) and the HTTP API.

Every output, answer and log line of these tests is collected and scanned for every
token at the end of each test, and the raw database (SQLite file bytes, PostgreSQL
table contents) is scanned for them too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from wa_manager import Settings
from wa_manager.adapters.fake_ultramsg import FakeUltraMsg
from wa_manager.adapters.sql.tables import metadata
from wa_manager.bootstrap import App, bootstrap, new_encryption_key
from wa_manager.domain.model import LIBRARY
from wa_manager.entrypoints.cli import Wiring, cli
from wa_manager.entrypoints.http.app import create_app
from wa_manager.testing import FastHasher

DEFAULT = "instance100"
SALES = "instance200"
SUPPORT = "instance300"
DEFAULT_TOKEN = "tok-default-7f3a9c"
SALES_TOKEN = "tok-sales-41b8e2d7"
SUPPORT_TOKEN = "tok-support-c0ffee99"
NEW_SALES_TOKEN = "tok-sales-rotated-5d6e"
TOKENS = (DEFAULT_TOKEN, SALES_TOKEN, SUPPORT_TOKEN, NEW_SALES_TOKEN)
WEBHOOK_SECRET = "env-hook-0a1b2c3d4e"
ANNA = "4915112345678@c.us"  # writes to every number: one contact per number
BEN = "4915187654321@c.us"
CARLA = "4915199999999@c.us"


def chats(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"id": wa_id, "name": name} for wa_id, name in pairs]


class Numbers:
    """Three numbers behind one fake UltraMsg, a database, and everything they printed."""

    def __init__(self, fake: FakeUltraMsg, database_url: str) -> None:
        self.fake = fake
        self.sales = fake.add_instance(SALES, SALES_TOKEN, chats((ANNA, "Anna S"), (BEN, "Ben")))
        self.support = fake.add_instance(SUPPORT, SUPPORT_TOKEN, chats((ANNA, "Anna H")))
        self.database_url = database_url
        self.key = new_encryption_key()
        self.seen: list[str] = []  # every output and answer, scanned for tokens

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "ULTRAMSG_INSTANCE_ID": DEFAULT,
            "ULTRAMSG_TOKEN": DEFAULT_TOKEN,
            "ULTRAMSG_BASE_URL": self.fake.base_url,
            "WA_MANAGER_DATABASE_URL": self.database_url,
            "WA_MANAGER_ENCRYPTION_KEY": self.key,
            "WA_MANAGER_WEBHOOK_SECRET": WEBHOOK_SECRET,
            **extra,
        }

    def run(self, *args: str, input: str | None = None, **env: str) -> Result:
        result = CliRunner().invoke(
            cli, list(args), input=input, env=self.env(**env), obj=Wiring(app_factory=self.app)
        )
        self.seen += [result.stdout, result.stderr]
        return result

    def app(self, settings: Settings | None = None, **env: str) -> App:
        settings = settings or Settings.from_env(self.env(**env))
        return bootstrap(settings, hasher=FastHasher())

    def add(self, instance_id: str, token: str, label: str | None = None) -> Result:
        args = ["instances", "add", instance_id, "--token-stdin"]
        if label:
            args += ["--label", label]
        result = self.run(*args, input=token + "\n")
        assert result.exit_code == 0, result.stderr
        return result

    def contacts(self) -> list[tuple[str, str, str | None]]:
        with self.app() as app:
            items = app.contacts.page(LIBRARY, limit=200).items
        return sorted((c.source, c.wa_id, c.name) for c in items)


@pytest.fixture
def numbers(database_url: str, caplog: pytest.LogCaptureFixture) -> Iterator[Numbers]:
    caplog.set_level(logging.DEBUG)
    with FakeUltraMsg(DEFAULT, DEFAULT_TOKEN, chats((ANNA, "Anna"), (CARLA, "Carla"))) as fake:
        world = Numbers(fake, database_url)
        yield world
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for token in TOKENS:
        assert token not in logged
        for text_ in world.seen:
            assert token not in text_
    assert_no_token_stored(database_url)


def raw_database_text(database_url: str) -> bytes:
    """Everything the database holds, as bytes: the SQLite file (and its WAL), or every
    row of every table of the PostgreSQL schema."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        path = Path(url.database)
        return b"".join(
            candidate.read_bytes()
            for candidate in (path, path.with_name(path.name + "-wal"))
            if candidate.exists()
        )
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return "\n".join(
                repr(row)
                for table in metadata.sorted_tables
                for row in connection.execute(text(f'SELECT * FROM "{table.name}"'))  # noqa: S608
            ).encode()
    finally:
        engine.dispose()


def assert_no_token_stored(database_url: str) -> None:
    raw = raw_database_text(database_url)
    for token in TOKENS:
        assert token.encode() not in raw


def test_sync_of_every_number_keeps_the_same_person_apart_per_number(numbers: Numbers) -> None:
    numbers.add(SALES, SALES_TOKEN, "Sales")
    numbers.add(SUPPORT, SUPPORT_TOKEN)

    result = numbers.run("sync", "--json")
    assert result.exit_code == 0, result.stderr
    reports = json.loads(result.stdout)["reports"]
    assert [r["instance_id"] for r in reports] == [DEFAULT, SALES, SUPPORT]
    assert [r["created_contacts"] for r in reports] == [2, 2, 1]
    assert numbers.contacts() == [
        (DEFAULT, ANNA, "Anna"),
        (DEFAULT, CARLA, "Carla"),
        (SALES, ANNA, "Anna S"),
        (SALES, BEN, "Ben"),
        (SUPPORT, ANNA, "Anna H"),
    ]
    history = json.loads(numbers.run("sync", "history", "--json").stdout)
    assert sorted(run["instance_id"] for run in history) == [DEFAULT, SALES, SUPPORT]
    listed = json.loads(numbers.run("instances", "list", "--json").stdout)
    assert [(i["instance_id"], i["label"], i["contacts"]) for i in listed] == [
        (DEFAULT, None, 2),
        (SALES, "Sales", 2),
        (SUPPORT, None, 1),
    ]
    assert all(item["last_sync_at"] for item in listed)
    assert listed[0]["webhook_path"] == f"/webhooks/ultramsg/{WEBHOOK_SECRET}"
    assert listed[1]["webhook_path"].startswith("/webhooks/ultramsg/")
    assert listed[1]["webhook_path"] != listed[2]["webhook_path"]


def test_one_number_failing_does_not_stop_the_others(numbers: Numbers) -> None:
    numbers.add(SALES, SALES_TOKEN)
    numbers.add(SUPPORT, SUPPORT_TOKEN)
    numbers.sales.fail(status=200, times=1, body=b'{"error":"Wrong token."}')

    result = numbers.run("sync", "--json")
    assert result.exit_code == 1
    reports = json.loads(result.stdout)["reports"]
    failed = reports[1]
    assert set(failed) == {"instance_id", "error"}
    assert failed["instance_id"] == SALES
    assert f"instances set-token {SALES}" in failed["error"]  # not ULTRAMSG_TOKEN: it is stored
    assert reports[0]["created_contacts"] == 2
    assert reports[2]["created_contacts"] == 1
    assert {source for source, _, _ in numbers.contacts()} == {DEFAULT, SUPPORT}
    assert f"error: {SALES}:" in result.stderr
    history = json.loads(numbers.run("sync", "history", "--json").stdout)
    assert {run["instance_id"]: run["state"] for run in history} == {
        DEFAULT: "succeeded",
        SALES: "failed",
        SUPPORT: "succeeded",
    }


def test_one_number_alone_syncs_as_before(numbers: Numbers) -> None:
    numbers.add(SALES, SALES_TOKEN)
    result = numbers.run("sync", "--instance", SALES, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["instance_id"] == SALES
    assert report["created_contacts"] == 2
    assert "reports" not in report
    unknown = numbers.run("sync", "--instance", "instance999")
    assert unknown.exit_code == 2
    assert "instances list" in unknown.stderr


def test_webhooks_are_routed_by_their_path(numbers: Numbers) -> None:
    numbers.add(SALES, SALES_TOKEN)
    numbers.add(SUPPORT, SUPPORT_TOKEN)
    paths = {i["instance_id"]: i["webhook_path"] for i in numbers_list(numbers)}

    def event(instance_digits: str) -> dict[str, Any]:
        data = {"from": BEN, "to": "4915000000000@c.us", "pushname": "Ben", "id": "x", "body": "hi"}
        return {"event_type": "message_received", "instanceId": instance_digits, "data": data}

    with numbers.app() as app, TestClient(create_app(app)) as client:
        assert client.post(paths[SUPPORT], json=event("300")).json()["status"] == "created"
        assert client.post(paths[DEFAULT], json=event("100")).json()["status"] == "created"
        # an event of another instance at a number's path is not filed there
        assert client.post(paths[SALES], json=event("300")).json()["status"] == "ignored"
        assert client.post("/webhooks/ultramsg/not-a-secret", json=event("")).status_code == 404
    assert numbers.contacts() == [(DEFAULT, BEN, "Ben"), (SUPPORT, BEN, "Ben")]


def numbers_list(numbers: Numbers) -> list[dict[str, Any]]:
    result = numbers.run("instances", "list", "--json")
    assert result.exit_code == 0, result.stderr
    listed: list[dict[str, Any]] = json.loads(result.stdout)
    return listed


def test_replies_go_out_through_the_conversations_own_number(numbers: Numbers) -> None:
    numbers.add(SALES, SALES_TOKEN)
    assert numbers.run("sync").exit_code == 0
    with numbers.app() as app:
        admin = app.add_user("boss", "admin")
        by_source = {
            c.contact.wa_id + "/" + source_of(app, c.contact.id): c.id
            for c in app.conversations.all(admin)
        }
        app.send_message(admin, by_source[f"{ANNA}/{SALES}"], "From sales")
        app.send_message(admin, by_source[f"{ANNA}/{DEFAULT}"], "From the default")
    assert [m["body"] for m in numbers.sales.messages.history(ANNA, 10)] == ["From sales"]
    assert [m["body"] for m in numbers.fake.messages.history(ANNA, 10)] == ["From the default"]


def source_of(app: App, contact_id: int) -> str:
    return app.contacts.get(LIBRARY, contact_id).source


def test_the_key_rotates_with_the_old_one_readable_meanwhile(numbers: Numbers) -> None:
    old_key = numbers.key
    numbers.add(SALES, SALES_TOKEN)
    new_key = new_encryption_key()

    both = {"WA_MANAGER_ENCRYPTION_KEY": f"{new_key},{old_key}"}
    assert numbers.run("sync", "--instance", SALES, **both).exit_code == 0  # old still opens
    rotated = numbers.run("instances", "rotate-key", **both)
    assert rotated.exit_code == 0, rotated.stderr
    assert "1 stored token" in rotated.stdout

    only_new = {"WA_MANAGER_ENCRYPTION_KEY": new_key}
    assert numbers.run("sync", "--instance", SALES, **only_new).exit_code == 0
    stale = numbers.run("sync", "--instance", SALES, WA_MANAGER_ENCRYPTION_KEY=old_key)
    assert stale.exit_code == 2
    assert stale.stderr.startswith(
        f"error: WA_MANAGER_ENCRYPTION_KEY cannot decrypt the stored token of {SALES}"
    )
    assert len(stale.stderr.strip().splitlines()) == 1
    [latest, *_] = json.loads(numbers.run("sync", "history", "--json").stdout)
    assert (latest["instance_id"], latest["state"]) == (SALES, "failed")  # its own history row
    assert "cannot decrypt" in latest["error"]

    numbers.key = new_key
    changed = numbers.run("instances", "set-token", SALES, "--token-stdin", input=NEW_SALES_TOKEN)
    assert changed.exit_code == 0, changed.stderr
    assert numbers.run("sync", "--instance", SALES).exit_code == 1  # the fake wants the old one
    numbers.sales.token = NEW_SALES_TOKEN
    assert numbers.run("sync", "--instance", SALES).exit_code == 0


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("", "WA_MANAGER_ENCRYPTION_KEY is not set"),
        ("not-a-key", "WA_MANAGER_ENCRYPTION_KEY: key 1 is not a Fernet key"),
    ],
)
def test_a_missing_or_malformed_key_says_how_to_make_one(
    numbers: Numbers, key: str, says: str
) -> None:
    result = numbers.run(
        "instances", "add", SALES, "--token-stdin", input=SALES_TOKEN,
        WA_MANAGER_ENCRYPTION_KEY=key,
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {says}")
    assert "wa-manager instances new-key" in result.stderr
    assert "Traceback" not in result.stderr
    assert numbers_list(numbers)[1:] == []  # nothing stored


def test_a_single_number_setup_needs_no_key(numbers: Numbers) -> None:
    result = numbers.run("sync", "--json", WA_MANAGER_ENCRYPTION_KEY="")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["instance_id"] == DEFAULT
    assert numbers.run("instances", "list", WA_MANAGER_ENCRYPTION_KEY="").exit_code == 0


def test_new_key_prints_a_usable_key(numbers: Numbers) -> None:
    result = numbers.run("instances", "new-key")
    assert result.exit_code == 0
    key = result.stdout.strip()
    numbers.key = key
    numbers.add(SALES, SALES_TOKEN)
    assert numbers.run("sync", "--instance", SALES).exit_code == 0


def test_remove_keeps_the_contacts_and_the_default_cannot_be_removed(numbers: Numbers) -> None:
    numbers.add(SALES, SALES_TOKEN)
    assert numbers.run("sync").exit_code == 0
    removed = numbers.run("instances", "remove", SALES)
    assert removed.exit_code == 0, removed.stderr
    assert [i["instance_id"] for i in numbers_list(numbers)] == [DEFAULT]
    assert (SALES, BEN, "Ben") in numbers.contacts()
    again = numbers.run("instances", "remove", SALES)
    assert again.exit_code == 1
    assert numbers.run("instances", "remove", DEFAULT).exit_code == 2
    duplicate = numbers.run("instances", "add", DEFAULT, "--token-stdin", input="x-token-1")
    assert duplicate.exit_code == 1


def test_the_http_api_takes_tokens_and_never_gives_them_back(numbers: Numbers) -> None:
    with numbers.app() as app, TestClient(create_app(app)) as client:
        app.add_user("boss", "admin")
        headers = {"Authorization": "Bearer " + app.accounts.create_token(LIBRARY, "boss")}

        def call(method: str, path: str, **kwargs: Any) -> Any:
            response = client.request(method, path, headers=headers, **kwargs)
            numbers.seen.append(response.text)
            return response

        body = {"instance_id": SALES, "token": SALES_TOKEN, "label": "Sales"}
        added = call("POST", "/api/instances", json=body)
        assert added.status_code == 201, added.text
        assert added.json()["webhook_path"].startswith("/webhooks/ultramsg/")
        assert call("POST", "/api/instances", json=body).status_code == 409
        listed = call("GET", "/api/instances").json()["items"]
        assert [item["instance_id"] for item in listed] == [DEFAULT, SALES]
        assert [item["default"] for item in listed] == [True, False]

        one = call("POST", f"/api/whatsapp-contacts?instance={SALES}")
        assert one.status_code == 200
        assert one.json()["instance_id"] == SALES
        every = call("POST", "/api/whatsapp-contacts").json()
        assert [report["instance_id"] for report in every["reports"]] == [DEFAULT, SALES]

        status = call("GET", "/api/instance/status").json()
        assert status["instance_id"] == DEFAULT
        assert status["connected"] is True
        assert [item["instance_id"] for item in status["instances"]] == [DEFAULT, SALES]
        numbers.sales.status = "qr"
        status = call("GET", "/api/instance/status").json()
        assert [item["connected"] for item in status["instances"]] == [True, False]

        assert call("DELETE", f"/api/instances/{SALES}").status_code == 204
        assert call("DELETE", f"/api/instances/{SALES}").status_code == 404
        assert call("GET", "/api/contacts?search=Ben").json()["items"][0]["source"] == SALES

        page = client.get("/settings/whatsapp-numbers")  # signed out: to the login
        assert page.status_code in (200, 303)


def test_status_reports_every_number(numbers: Numbers) -> None:
    numbers.add(SALES, SALES_TOKEN)
    numbers.sales.status = "qr"
    result = numbers.run("status", "--json")
    assert result.exit_code == 1
    answer = json.loads(result.stdout)
    assert answer["instance_id"] == DEFAULT
    assert [(i["instance_id"], i["connected"]) for i in answer["instances"]] == [
        (DEFAULT, True),
        (SALES, False),
    ]
    text_ = numbers.run("status").stdout
    assert f"UltraMsg {SALES}: NOT connected (qr)" in text_


def test_the_database_holds_the_tokens_sealed_only(numbers: Numbers) -> None:
    numbers.add(SALES, SALES_TOKEN)
    numbers.add(SUPPORT, SUPPORT_TOKEN)
    raw = raw_database_text(numbers.database_url)
    assert raw.count(b"gAAAAA") >= 2  # two Fernet tokens: the scan sees the stored rows
    assert SALES.encode() in raw
    assert_no_token_stored(numbers.database_url)


def test_the_http_api_without_a_key_says_how_to_make_one(numbers: Numbers) -> None:
    with numbers.app(WA_MANAGER_ENCRYPTION_KEY="") as app, TestClient(create_app(app)) as client:
        app.add_user("boss", "admin")
        headers = {"Authorization": "Bearer " + app.accounts.create_token(LIBRARY, "boss")}
        body = {"instance_id": SALES, "token": SALES_TOKEN}
        answer = client.post("/api/instances", json=body, headers=headers)
        numbers.seen.append(answer.text)
        assert answer.status_code == 503
        assert "wa-manager instances new-key" in answer.json()["error"]["message"]
        listed = client.get("/api/instances", headers=headers).json()["items"]
        assert [item["instance_id"] for item in listed] == [DEFAULT]
