"""Messages over HTTP: webhooks in, the thread out, replies with delivery state.

A served app (memory store, a fake UltraMsg channel): webhooks post inbound
messages and acks, users read threads and reply through the API, and the
answers are what a client relies on (status codes, shapes, idempotency, 404 for
what is not theirs, the same as for what is absent).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_http_support import World, make_app, person_chats, running, sync

from wa_manager.domain.errors import UpstreamRejected
from wa_manager.domain.model import LIBRARY
from wa_manager.testing import FakeMessenger

SECRET = "hook-9a8b7c6d5e4f3a2b"
HOOK = f"/webhooks/ultramsg/{SECRET}"
ANNA = "4915100000001@c.us"
TIME = 1732400123


@pytest.fixture
def messenger() -> FakeMessenger:
    return FakeMessenger()


@pytest.fixture
def world(messenger: FakeMessenger) -> Iterator[World]:
    app = make_app(person_chats(2), messenger=messenger, webhook_secret=SECRET)
    with running(app) as world:
        sync(world)
        world.app.link(ANNA, "maria")
        yield world


def conversation_id(world: World, wa_id: str = ANNA) -> int:
    return next(c.id for c in world.app.conversations.all(LIBRARY) if c.contact.wa_id == wa_id)


def inbound(wa_id: str, body: str, seconds: int = 0) -> dict[str, Any]:
    return {
        "event_type": "message_received",
        "data": {"id": wa_id, "from": ANNA, "to": "4915000000000@c.us", "pushname": "Anna",
                 "type": "chat", "body": body, "time": TIME + seconds},
    }  # fmt: skip


def thread(world: World, headers: dict[str, str], cid: int) -> list[dict[str, Any]]:
    answer = world.client.get(f"/api/conversations/{cid}/messages", headers=headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_webhooks_fill_the_thread_that_a_linked_user_reads(world: World) -> None:
    cid = conversation_id(world)
    for wa_id, body, seconds in (("false_1", "Hallo", 0), ("false_2", "Preis?", 30)):
        assert world.client.post(HOOK, json=inbound(wa_id, body, seconds)).status_code == 200
    world.client.post(HOOK, json=inbound("false_1", "Hallo"))  # UltraMsg repeats itself
    items = thread(world, world.user.headers, cid)
    assert [(m["body"], m["direction"], m["status"]) for m in items] == [
        ("Preis?", "in", "received"),
        ("Hallo", "in", "received"),
    ]
    assert items[1]["created_at"] == "2024-11-23T22:15:23+00:00"
    assert items[1]["sender_name"] == "Anna"


def test_a_reply_is_201_then_200_for_the_same_key_and_sent_once(
    world: World, messenger: FakeMessenger
) -> None:
    cid = conversation_id(world)
    path = f"/api/conversations/{cid}/messages"
    headers = {**world.user.headers, "Idempotency-Key": "7f3c"}
    first = world.client.post(path, json={"body": "Gerne, 12 €"}, headers=headers)
    again = world.client.post(path, json={"body": "Gerne, 12 €"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["status"] == "sent"
    assert first.json()["sent_by_user_id"] == world.user.user.id
    assert len(messenger.sent) == 1


@pytest.mark.parametrize("body", [{"body": ""}, {"body": "   "}, {"body": "x" * 4097}, {}])
def test_a_blank_or_too_long_reply_is_422_and_nothing_is_sent(
    world: World, messenger: FakeMessenger, body: dict[str, str]
) -> None:
    cid = conversation_id(world)
    answer = world.client.post(
        f"/api/conversations/{cid}/messages", json=body, headers=world.user.headers
    )
    assert answer.status_code == 422
    assert messenger.sent == []
    assert thread(world, world.user.headers, cid) == []


def test_when_ultramsg_refuses_the_reply_is_502_kept_as_failed_and_retried_later(
    world: World, messenger: FakeMessenger
) -> None:
    cid = conversation_id(world)
    messenger.fail_with = UpstreamRejected("UltraMsg says: Wrong token")
    answer = world.client.post(
        f"/api/conversations/{cid}/messages", json={"body": "Hallo?"}, headers=world.user.headers
    )
    assert answer.status_code == 502
    assert "Wrong token" in answer.json()["error"]["message"]
    (failed,) = thread(world, world.user.headers, cid)
    assert (failed["body"], failed["status"]) == ("Hallo?", "failed")
    messenger.fail_with = None
    retried = world.client.post(f"/api/messages/{failed['id']}/retry", headers=world.user.headers)
    assert retried.status_code == 200
    assert retried.json()["status"] == "sent"
    twice = world.client.post(f"/api/messages/{failed['id']}/retry", headers=world.user.headers)
    assert twice.status_code == 409
    assert len(messenger.sent) == 1


def test_ticks_follow_the_acks_and_never_go_back(world: World, messenger: FakeMessenger) -> None:
    cid = conversation_id(world)
    sent = world.client.post(
        f"/api/conversations/{cid}/messages", json={"body": "Danke!"}, headers=world.user.headers
    ).json()
    (_, _, reference) = messenger.sent[0]
    world.client.post(
        HOOK,
        json={"event_type": "message_create", "referenceId": reference,
              "data": {"id": "true_Z", "to": ANNA, "fromMe": True, "body": "Danke!", "time": TIME}},
    )  # fmt: skip
    seen = []
    for state in ("device", "server", "read"):
        world.client.post(
            HOOK, json={"event_type": "message_ack", "data": {"id": "true_Z", "ack": state}}
        )
        (message,) = thread(world, world.user.headers, cid)
        seen.append(message["status"])
    assert seen == ["delivered", "delivered", "read"]
    assert message["id"] == sent["id"]
    assert message["wa_message_id"] == "true_Z"


def test_what_a_user_may_not_see_is_404_like_what_does_not_exist(
    world: World, messenger: FakeMessenger
) -> None:
    other = conversation_id(world, "4915100000002@c.us")
    world.client.post(HOOK, json=inbound("false_9", "secret"))
    headers = world.user.headers
    answers = {
        "read": world.client.get(f"/api/conversations/{other}/messages", headers=headers),
        "send": world.client.post(
            f"/api/conversations/{other}/messages", json={"body": "hi"}, headers=headers
        ),
        "history": world.client.post(f"/api/conversations/{other}/history", headers=headers),
        "absent": world.client.get("/api/conversations/99999/messages", headers=headers),
    }
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 404)
    bodies = {a.json()["error"]["code"] for a in answers.values()}
    assert bodies == {"not_found"}
    assert messenger.sent == []


def test_history_is_fetched_from_ultramsg_once(world: World, messenger: FakeMessenger) -> None:
    from wa_manager.domain.messages import raw_message

    cid = conversation_id(world)
    messenger.history[ANNA] = [
        raw_message({"id": f"false_{n}", "body": f"#{n}", "time": TIME + n}, ANNA) for n in range(5)
    ]
    path = f"/api/conversations/{cid}/history"
    first = world.client.post(path, params={"limit": 3}, headers=world.user.headers)
    assert first.json() == {"fetched": 3, "created": 3}
    second = world.client.post(path, params={"limit": 5}, headers=world.user.headers)
    assert second.json() == {"fetched": 5, "created": 2}
    assert [m["body"] for m in thread(world, world.user.headers, cid)] == [
        f"#{n}" for n in (4, 3, 2, 1, 0)
    ]
    assert (
        world.client.post(path, params={"limit": 1001}, headers=world.user.headers).status_code
        == 422
    )
