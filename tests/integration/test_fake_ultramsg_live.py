"""The fake UltraMsg and a served app talking over real HTTP, as in ``make demo``.

The app (SQLite, the real UltraMsg client) runs under uvicorn on a loopback port;
the fake UltraMsg answers its calls and posts its webhooks back to it. A reply
goes queued -> sent -> delivered -> read by those webhooks alone; history comes
from the fake; a wrong token fails the reply with a clear error; an incoming
message made up by the fake lands in its chat's thread. Every wait polls with a
deadline; nothing asserts on timing.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from test_http_support import add_member
from tests.serving import served_in_thread

from wa_manager.adapters.fake_ultramsg import FakeUltraMsg, demo_chats, demo_messages
from wa_manager.bootstrap import App, bootstrap
from wa_manager.config import Settings
from wa_manager.domain.model import LIBRARY
from wa_manager.entrypoints.http.app import create_app
from wa_manager.testing import FastHasher

INSTANCE = "instance5150"
TOKEN = "tok-LIVE-FAKE-7c1d9e"
SECRET = "hook-LIVE-FAKE-3b8f2a"
ANNA = "4915112345678@c.us"
DEADLINE_SECONDS = 30.0
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str) -> T:
    """``probe()``'s first truthy value, polled until a generous deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def serving(app: App) -> contextlib.AbstractContextManager[str]:
    """``app``'s HTTP app under uvicorn on a free loopback port, in a thread; its root URL."""
    return served_in_thread(create_app(app, secret_key="live-fake-key"))


class Live:
    """The served app, the fake posting back to it, and an admin's API client."""

    def __init__(self, app: App, fake: FakeUltraMsg, api: httpx.Client) -> None:
        self.app, self.fake, self.api = app, fake, api

    def conversation(self, wa_id: str) -> int:
        return next(c.id for c in self.app.conversations.all(LIBRARY) if c.contact.wa_id == wa_id)

    def thread(self, conversation_id: int) -> list[dict[str, Any]]:
        answer = self.api.get(f"/api/conversations/{conversation_id}/messages?limit=200")
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def message(self, conversation_id: int, message_id: int) -> dict[str, Any]:
        return next(m for m in self.thread(conversation_id) if m["id"] == message_id)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    with FakeUltraMsg(
        instance_id=INSTANCE,
        token=TOKEN,
        chats=demo_chats(),
        messages=demo_messages(time.time() - 3600),
        webhook_delays=(0.05, 0.1, 0.2, 0.3),
        seed=7,
    ) as fake:
        settings = Settings(
            instance_id=INSTANCE,
            token=TOKEN,
            base_url=fake.base_url,
            database_url=f"sqlite:///{tmp_path / 'live.db'}",
            webhook_secret=SECRET,
            timeout=10,
        )
        app = bootstrap(settings, hasher=FastHasher())
        try:
            admin = add_member(app, "admin", "admin")
            app.sync()
            with (
                serving(app) as root,
                httpx.Client(base_url=root, headers=admin.headers, timeout=30) as api,
            ):
                fake.webhook_url = f"{root}/webhooks/ultramsg/{SECRET}"
                yield Live(app, fake, api)
                fake.webhook_url = None
        finally:
            app.close()


def answers(fake: FakeUltraMsg, event_type: str) -> list[dict[str, Any]]:
    return [json.loads(d.answer) for d in fake.deliveries(event_type)]


def test_a_reply_gets_its_whatsapp_id_and_ticks_from_the_fakes_webhooks(live: Live) -> None:
    cid = live.conversation(ANNA)
    sent = live.api.post(f"/api/conversations/{cid}/messages", json={"body": "Ready at 6 🙂"})
    assert sent.status_code == 201, sent.text
    reply = sent.json()
    assert reply["status"] == "sent"  # stored queued, then UltraMsg took it
    read = eventually(
        lambda: (m := live.message(cid, reply["id"]))["status"] == "read" and m,
        "the reply to be read",
    )
    ours = [m for m in live.fake.messages.history(ANNA, 10) if m["body"] == "Ready at 6 🙂"]
    assert read["wa_message_id"] == ours[0]["id"]
    assert ours[0]["ack"] == "read"
    # each webhook moved it one step: tied by referenceId, then delivered, then read
    assert [a.get("message") for a in answers(live.fake, "message_create")] == ["ours"]
    acks = eventually(lambda: len(a := answers(live.fake, "message_ack")) == 3 and a, "3 acks")
    assert [a.get("message") for a in acks] == [None, "delivered", "read"]
    assert [m["id"] for m in live.thread(cid)] == [reply["id"]]  # tied, not stored twice


def test_history_from_the_fake_fills_the_thread_once(live: Live) -> None:
    cid = live.conversation(ANNA)
    first = live.api.post(f"/api/conversations/{cid}/history?limit=100")
    assert first.status_code == 200, first.text
    expected = live.fake.messages.history(ANNA, 100)
    assert first.json() == {"fetched": len(expected), "created": len(expected)}
    again = live.api.post(f"/api/conversations/{cid}/history?limit=100").json()
    assert again == {"fetched": len(expected), "created": 0}
    thread = live.thread(cid)
    assert sorted(m["wa_message_id"] for m in thread) == sorted(m["id"] for m in expected)
    assert {m["direction"] for m in thread} == {"in", "out"}


def test_a_wrong_token_fails_the_reply_with_a_clear_error_and_no_token(live: Live) -> None:
    live.fake.token = "rotated-in-the-dashboard"
    cid = live.conversation(ANNA)
    answer = live.api.post(f"/api/conversations/{cid}/messages", json={"body": "Hello?"})
    assert answer.status_code == 502
    failed = next(m for m in live.thread(cid) if m["body"] == "Hello?")
    assert failed["status"] == "failed"
    assert "ULTRAMSG_TOKEN" in failed["error"]
    for text in (answer.text, failed["error"], json.dumps(live.thread(cid))):
        assert TOKEN not in text
    assert not [m for m in live.fake.messages.history(ANNA, 100) if m["body"] == "Hello?"]


def test_an_incoming_message_made_up_by_the_fake_lands_in_its_chats_thread(live: Live) -> None:
    live.fake.generate_inbound((0.01, 0.05))
    delivered = eventually(lambda: live.fake.deliveries("message_received"), "an inbound webhook")
    live.fake.generate_inbound(None)
    data = delivered[0].payload["data"]
    thread = live.thread(live.conversation(data["from"]))
    arrived = next(m for m in thread if m["wa_message_id"] == data["id"])
    assert arrived["direction"] == "in"
    assert arrived["body"] == data["body"]
    assert arrived["status"] == "received"
    if data["from"].endswith("@g.us"):
        assert arrived["author"] == data["author"]


def test_a_refused_webhook_is_posted_again_like_ultramsg_does(live: Live) -> None:
    right = live.fake.webhook_url
    assert right is not None
    live.fake.webhook_url = right.replace(SECRET, "not-the-secret")
    sent = live.fake.receive(ANNA, "Anyone there?", pushname="Anna")
    refused = eventually(
        lambda: [d for d in live.fake.webhook_attempts() if d.outcome == 404], "a refusal"
    )
    assert refused[0].event_type == "message_received"
    live.fake.webhook_url = right
    accepted = eventually(lambda: live.fake.deliveries("message_received"), "the retry")
    assert accepted[0].attempt >= 2
    cid = live.conversation(ANNA)
    assert [m["body"] for m in live.thread(cid) if m["wa_message_id"] == sent["id"]] == [
        "Anyone there?"
    ]
