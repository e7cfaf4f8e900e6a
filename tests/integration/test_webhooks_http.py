"""``POST /webhooks/ultramsg/{secret}`` end to end, and webhooks racing a sync on real databases."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from wa_manager import Settings
from wa_manager.adapters.sql import SqlStore
from wa_manager.bootstrap import App, bootstrap
from wa_manager.domain.model import LIBRARY, WEBHOOK, RawChat
from wa_manager.entrypoints.http.app import create_app
from wa_manager.redaction import redact
from wa_manager.services.webhooks import WebhookOutcome
from wa_manager.testing import FastHasher, InMemoryStore, StaticChats

INSTANCE = "instance4242"
SECRET = "hook-5f0d9c1e8a7b4d2c"
PATH = f"/webhooks/ultramsg/{SECRET}"
ANNA = "4915112345678@c.us"


def make_app(store: Any = None, chats: list[RawChat] | None = None, **settings: Any) -> App:
    values: dict[str, Any] = {"instance_id": INSTANCE, "token": "t0ken-x", "webhook_secret": SECRET}
    values.update(settings)
    return bootstrap(
        Settings(**values),
        chats=StaticChats(chats or []),
        store=store if store is not None else InMemoryStore(),
        hasher=FastHasher(),
    )


def event(event_type: str = "message_received", sender: str = ANNA, **data: Any) -> dict[str, Any]:
    return {
        "event_type": event_type,
        "instanceId": "4242",
        "data": {"from": sender, "to": "4915000000000@c.us", "pushname": "Anna", **data},
    }


@pytest.fixture
def app() -> App:
    return make_app()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def wa_ids(app: App) -> list[str]:
    return sorted(contact.wa_id for contact in app.contacts.page(LIBRARY, limit=200).items)


def test_json_message_creates_the_contact(client: TestClient, app: App) -> None:
    response = client.post(PATH, json=event())

    assert response.status_code == 200
    assert response.json() == {"status": "created", "wa_id": ANNA, "reason": None}
    assert wa_ids(app) == [ANNA]
    admin = app.add_user("boss", "admin")
    assert [c.contact.wa_id for c in app.conversations.page(admin).items] == [ANNA]


def test_form_with_bracketed_keys(client: TestClient, app: App) -> None:
    body = urlencode(
        {"event_type": "message_received", "data[from]": ANNA, "data[pushname]": "Anna ✨"}
    )

    response = client.post(
        PATH, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.json()["status"] == "created"
    assert [c.name for c in app.contacts.page(LIBRARY).items] == ["Anna ✨"]


def test_form_with_data_as_json_string(client: TestClient, app: App) -> None:
    response = client.post(
        PATH,
        data={"event_type": "message_create", "data": json.dumps({"to": ANNA, "from": "1@c.us"})},
    )

    assert response.json()["status"] == "created"
    assert wa_ids(app) == [ANNA]


def test_repeated_delivery_keeps_one_contact(client: TestClient, app: App) -> None:
    answers = [client.post(PATH, json=event()).json()["status"] for _ in range(3)]

    assert answers == ["created", "touched", "touched"]
    assert wa_ids(app) == [ANNA]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe\x00garbage", "application/octet-stream"),
        (b"", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"%%%=&&", "application/x-www-form-urlencoded"),
        (json.dumps(event("message_ack")).encode(), "application/json"),
        (json.dumps(event(sender="status@broadcast")).encode(), "application/json"),
    ],
)
def test_malformed_or_unknown_events_get_200_nothing_done_and_a_log_line(
    client: TestClient,
    app: App,
    content: bytes,
    content_type: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="wa_manager.webhooks"):
        response = client.post(PATH, content=content, headers={"Content-Type": content_type})

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert wa_ids(app) == []
    assert any("webhook ignored" in record.getMessage() for record in caplog.records)


# -- bodies that were a 500 with the secret in the error log ---------------------------

FORM = "application/x-www-form-urlencoded"
DEEP_JSON = '{"event_type": "message_received", "data": ' + "[" * 2000 + "]" * 2000 + "}"


def own_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What wa-manager logged (the test client's own request log left out)."""
    return [record for record in caplog.records if record.name.startswith("wa_manager")]


def assert_secret_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    for record in own_records(caplog):
        assert SECRET not in record.getMessage()
        assert SECRET not in (record.exc_text or "")
        assert "unexpected error" not in record.getMessage()


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (DEEP_JSON, "application/json"),
        (json.dumps({"event_type": "message_received", "data": "[" * 2000}), "application/json"),
        ("event_type=message_received&data=" + "[" * 2048, FORM),
        (json.dumps(event(sender="\ud83d@broadcast")), "application/json"),
    ],
    ids=["json-2000-deep", "data-string-2000-deep", "form-2KB-of-brackets", "surrogate-chat-id"],
)
def test_bodies_that_broke_the_handler_are_ignored_with_one_log_line(
    client: TestClient,
    app: App,
    content: str,
    content_type: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        response = client.post(PATH, content=content, headers={"Content-Type": content_type})

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert wa_ids(app) == []
    assert [record.getMessage()[:15] for record in own_records(caplog)] == ["webhook ignored"]
    assert_secret_never_logged(caplog)


@pytest.mark.parametrize("as_form", [False, True], ids=["json", "form-with-data-as-json"])
def test_a_push_name_with_a_lone_surrogate_is_stored_with_a_replacement_character(
    sql_store: SqlStore, as_form: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(sql_store)
    body = event(pushname="Bad \ud83d name")  # json.dumps writes it as the escape \ud83d
    with TestClient(create_app(app)) as client, caplog.at_level(logging.INFO):
        if as_form:
            response = client.post(
                PATH, data={"event_type": body["event_type"], "data": json.dumps(body["data"])}
            )
        else:
            response = client.post(
                PATH, content=json.dumps(body), headers={"Content-Type": "application/json"}
            )

    assert response.status_code == 200
    assert response.json() == {"status": "created", "wa_id": ANNA, "reason": None}
    assert [contact.name for contact in app.contacts.page(LIBRARY).items] == ["Bad \ufffd name"]
    assert_secret_never_logged(caplog)


def _send_with_a_hang_up(asgi: Any, path: str) -> list[dict[str, Any]]:
    """POST half a body to ``path``, then the client disconnects; what the app sent back."""
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"event_type": "message_rec', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
    }  # fmt: skip
    # A thread of its own: the e2e suite's Playwright keeps an event loop running in
    # the main thread for the whole session, and asyncio.run refuses to nest in it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: asyncio.run(asgi(scope, receive, send))).result()
    return sent


def test_a_client_hanging_up_mid_body_gets_nothing_and_no_error_is_logged(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    asgi = create_app(app, secret_key="k")
    with caplog.at_level(logging.INFO):
        sent = _send_with_a_hang_up(asgi, PATH)

    assert sent == []
    assert wa_ids(app) == []
    assert [record.levelno for record in own_records(caplog)] == [logging.INFO]
    assert_secret_never_logged(caplog)


def test_an_unexpected_error_in_the_webhook_logs_its_path_redacted(
    client: TestClient, app: App, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(actor: object, payload: object, instance: object = None) -> None:
        raise RuntimeError("the store is on fire")

    monkeypatch.setattr(app, "webhooks", SimpleNamespace(handle=broken))
    # without the logging filter: the middleware itself must not write the secret
    monkeypatch.setattr(logging.getLogger("wa_manager.http"), "filters", [])
    with caplog.at_level(logging.INFO):
        response = client.post(PATH, json=event())

    assert response.status_code == 500
    [logged] = [record.getMessage() for record in own_records(caplog)]
    assert logged.startswith("unexpected error in POST /webhooks/ultramsg/***: Traceback")
    assert "the store is on fire" in logged
    assert SECRET not in logged


def test_an_oversized_body_is_ignored(client: TestClient, app: App) -> None:
    huge = event(body="x" * 300_000)
    response = client.post(PATH, json=huge)
    assert response.json()["status"] == "ignored"
    assert wa_ids(app) == []


@pytest.mark.parametrize("path", ["/webhooks/ultramsg/wrong", f"/webhooks/ultramsg/{SECRET}x"])
def test_a_wrong_secret_is_404_and_writes_nothing(client: TestClient, app: App, path: str) -> None:
    response = client.post(path, json=event())

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert wa_ids(app) == []


def test_without_a_configured_secret_the_webhook_does_not_exist() -> None:
    app = make_app(webhook_secret=None)
    with TestClient(create_app(app)) as client:
        assert client.post("/webhooks/ultramsg/anything", json=event()).status_code == 404
        assert client.post("/webhooks/ultramsg/", json=event()).status_code == 404
    assert wa_ids(app) == []


def test_without_an_instance_id_the_webhook_is_503() -> None:
    app = bootstrap(Settings(webhook_secret=SECRET), store=InMemoryStore(), hasher=FastHasher())
    with TestClient(create_app(app)) as client:
        response = client.post(PATH, json=event())
    assert response.status_code == 503
    assert "ULTRAMSG_INSTANCE_ID" in response.json()["error"]["message"]


def test_the_secret_never_reaches_the_access_log() -> None:
    line = f'127.0.0.1:5000 - "POST {PATH} HTTP/1.1" 200'
    assert SECRET not in redact(line)
    assert redact(f"{PATH}?a=1") == "/webhooks/ultramsg/***?a=1"
    assert redact("/api/contacts") == "/api/contacts"


def test_the_access_log_filter_is_installed_while_serving(client: TestClient) -> None:
    access = logging.getLogger("uvicorn.access")
    record = access.makeRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "POST", PATH, "1.1", 200), None,
    )  # fmt: skip
    assert access.filter(record)
    assert SECRET not in record.getMessage()


# -- webhooks racing a sync, on SQLite and PostgreSQL ---------------------------------------


def _person(number: int) -> str:
    return f"49151{number:08d}@c.us"


def test_webhooks_racing_a_sync_never_duplicate(sql_store: SqlStore) -> None:
    """Syncs and webhooks for the same chats at the same moment: one contact and one
    conversation per chat, no crash, whoever wins."""
    shared = [_person(n) for n in range(1, 41)]
    webhook_only = [_person(n) for n in range(100, 111)]
    app = make_app(sql_store, [RawChat(wa_id, f"Person {wa_id[:13]}") for wa_id in shared])
    start = threading.Barrier(4)
    failures: list[BaseException] = []
    outcomes: list[WebhookOutcome] = []

    def run_sync() -> None:
        start.wait()
        try:
            app.sync()
        except BaseException as error:
            failures.append(error)

    def deliver(ids: list[str]) -> None:
        start.wait()
        for wa_id in ids:
            try:
                outcomes.append(app.webhooks.handle(WEBHOOK, event(sender=wa_id)).outcome)
            except BaseException as error:
                failures.append(error)

    threads = [
        threading.Thread(target=run_sync),
        threading.Thread(target=deliver, args=(shared + webhook_only,)),
        threading.Thread(target=deliver, args=(list(reversed(shared)),)),
        threading.Thread(target=deliver, args=(webhook_only,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sorted(wa_ids_all(app)) == sorted(shared + webhook_only)
    admin = app.add_user("racer", "admin")
    conversations = app.conversations.page(admin, limit=200).items
    assert sorted(c.contact.wa_id for c in conversations) == sorted(shared + webhook_only)
    assert outcomes.count(WebhookOutcome.CREATED) <= len(shared + webhook_only)
    assert app.sync().created_contacts == 0  # a second sync finds everything in place


def wa_ids_all(app: App) -> list[str]:
    return [contact.wa_id for contact in app.contacts.page(LIBRARY, limit=200).items]
