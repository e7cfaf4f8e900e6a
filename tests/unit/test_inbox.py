"""Inbox rules on the memory store: what reopens a conversation, and what does not.

A new inbound message reopens a pending or resolved conversation; an outbound
one never does; a history fetch reopens only for inbound messages newer than the
conversation's last activity, so loading earlier messages leaves it resolved.
"""

from __future__ import annotations

from datetime import timedelta

from tests.unit.support import ANNA, ULTRAMSG_SAMPLE
from wa_manager import App
from wa_manager.domain.model import LIBRARY, WEBHOOK, RawMessage
from wa_manager.testing import DEFAULT_NOW, FakeMessenger, FixedClock, memory_app


def _message(wa_id: str, minutes_ago: int, *, from_me: bool = False) -> RawMessage:
    at = DEFAULT_NOW - timedelta(minutes=minutes_ago)
    return RawMessage(wa_id, ANNA, from_me, "chat", wa_id, None, None, None, at)


def _setup(messenger: FakeMessenger) -> tuple[App, int]:
    app = memory_app(ULTRAMSG_SAMPLE, messenger=messenger, clock=FixedClock(DEFAULT_NOW))
    app.sync()
    conversation = next(c for c in app.conversations.all(LIBRARY) if c.contact.wa_id == ANNA)
    return app, conversation.id


def test_history_reopens_only_for_inbound_messages_newer_than_the_last_activity() -> None:
    messenger = FakeMessenger({ANNA: [_message("false_new", 5), _message("false_old", 90)]})
    app, cid = _setup(messenger)
    messenger.history[ANNA] = [_message("false_mid", 30)]
    app.messaging.fetch_history(LIBRARY, cid)  # the first messages: newer than nothing
    app.conversations.set_status(LIBRARY, cid, "resolved")
    messenger.history[ANNA] = [_message("false_old", 90), _message("true_ours", 1, from_me=True)]
    assert app.messaging.fetch_history(LIBRARY, cid).created == 2  # earlier in, and ours out
    assert app.conversations.get(LIBRARY, cid).status == "resolved"
    messenger.history[ANNA] = [_message("false_new", 0)]
    app.messaging.fetch_history(LIBRARY, cid)
    assert app.conversations.get(LIBRARY, cid).status == "active"
    trail = app.conversations.events(LIBRARY, cid).items
    assert [(e.from_value, e.to_value, e.actor_id) for e in trail] == [
        ("active", "resolved", None),
        ("resolved", "active", None),
    ]


def test_a_webhook_of_our_own_message_does_not_reopen() -> None:
    app, cid = _setup(FakeMessenger())
    app.conversations.set_status(LIBRARY, cid, "pending")
    ours = {
        "event_type": "message_create",
        "data": {"id": "true_x", "from": "4915000000000@c.us", "to": ANNA, "fromMe": True,
                 "type": "chat", "body": "typed on the phone",
                 "time": int(DEFAULT_NOW.timestamp())},
    }  # fmt: skip
    assert app.webhooks.handle(WEBHOOK, ours).message == "stored"
    conversation = app.conversations.get(LIBRARY, cid)
    assert conversation.status == "pending"
    assert conversation.last_message is not None
    assert conversation.last_message.body == "typed on the phone"
