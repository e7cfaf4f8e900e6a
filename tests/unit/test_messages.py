"""Messages on the memory store: the rules, replies, retries, history and webhooks.

What a person would notice: a reply's text is never lost and never sent twice,
statuses only move forward, a repeated webhook or history fetch stores one
message, and whoever may not see a conversation cannot read, send or fetch in it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.support import ANNA, ULTRAMSG_SAMPLE
from wa_manager import App
from wa_manager.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from wa_manager.domain.messages import (
    MAX_BODY_LENGTH,
    may_become,
    raw_message,
    status_for_ack,
    validate_body,
)
from wa_manager.domain.model import LIBRARY, WEBHOOK, Direction, MessageStatus, RawMessage, User
from wa_manager.testing import DEFAULT_NOW, FakeMessenger, FixedClock, memory_app

S = MessageStatus
TIME = 1732400123


def received(wa_id: str = "false_A", body: str = "Hallo", **data: object) -> dict[str, object]:
    """A ``message_received`` webhook from Anna."""
    return {
        "event_type": "message_received",
        "data": {"id": wa_id, "from": ANNA, "to": "4915000000000@c.us", "pushname": "Anna",
                 "type": "chat", "body": body, "time": TIME, **data},
    }  # fmt: skip


def created(wa_id: str, reference: str = "", body: str = "typed on the phone") -> dict[str, object]:
    """A ``message_create`` webhook: our own message, to Anna."""
    return {
        "event_type": "message_create",
        "referenceId": reference,
        "data": {"id": wa_id, "from": "4915000000000@c.us", "to": ANNA, "fromMe": True,
                 "type": "chat", "body": body, "time": TIME + 60},
    }  # fmt: skip


def ack(wa_id: str, state: object) -> dict[str, object]:
    return {"event_type": "message_ack", "data": {"id": wa_id, "ack": state}}


@pytest.fixture
def messenger() -> FakeMessenger:
    return FakeMessenger()


@pytest.fixture
def app(messenger: FakeMessenger) -> App:
    built = memory_app(ULTRAMSG_SAMPLE, messenger=messenger, clock=FixedClock(DEFAULT_NOW))
    built.sync()
    built.add_user("maria", "user")
    built.add_user("tom", "user")
    built.link(ANNA, "maria")
    return built


def user(app: App, name: str) -> User:
    return app.accounts.user(LIBRARY, name)


def anna_conversation(app: App) -> int:
    return next(c.id for c in app.conversations.all(LIBRARY) if c.contact.wa_id == ANNA)


def bodies(app: App, viewer: User | None = None) -> list[tuple[str, str | None, str]]:
    """(direction, body, status) of Anna's thread, oldest first."""
    page = app.messages(viewer or user(app, "maria"), anna_conversation(app), limit=200)
    return [(str(m.direction), m.body, str(m.status)) for m in reversed(page.items)]


# -- the rules ----------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["", " ", "\n\t ", "x" * (MAX_BODY_LENGTH + 1)])
def test_a_blank_or_too_long_reply_is_refused(body: str) -> None:
    with pytest.raises(InvalidInput):
        validate_body(body)


@given(st.text(min_size=1, max_size=MAX_BODY_LENGTH).filter(str.strip))
def test_a_reply_is_kept_byte_for_byte(body: str) -> None:
    assert validate_body(body) == body


@pytest.mark.parametrize(
    ("state", "status"),
    [("server", S.SENT), (1, S.SENT), ("device", S.DELIVERED), ("2", S.DELIVERED),
     ("read", S.READ), (3, S.READ), ("played", S.READ), (4, S.READ), ("", None), (None, None),
     (True, None), ("pending", None)],
)  # fmt: skip
def test_acks_mean_sent_delivered_or_read(state: object, status: MessageStatus | None) -> None:
    assert status_for_ack(state) is status


@given(st.lists(st.sampled_from(list(MessageStatus)), max_size=12))
def test_following_may_become_never_goes_backwards(steps: list[MessageStatus]) -> None:
    order = [S.QUEUED, S.SENT, S.DELIVERED, S.READ]
    current = S.QUEUED
    for step in steps:
        if may_become(current, step):
            if step in order[1:] and current in order:
                assert order.index(step) > order.index(current)
            current = step
    assert current in (*order, S.FAILED)


def test_raw_messages_are_read_defensively() -> None:
    odd = raw_message({"id": 5, "fromMe": "true", "time": "soon", "body": "Bad \ud83d x"}, ANNA)
    assert odd == RawMessage(None, ANNA, True, "unknown", "Bad \ufffd x", None, None, None, None)
    timed = raw_message({"id": "false_x", "timestamp": TIME, "media": ""}, ANNA)
    assert timed.sent_at == datetime.fromtimestamp(TIME, UTC)
    assert timed.from_me is False
    assert timed.media_url is None


# -- replies -------------------------------------------------------------------------------


def test_a_reply_is_sent_once_and_stored_as_sent(app: App, messenger: FakeMessenger) -> None:
    maria = user(app, "maria")
    message = app.send_message(maria, anna_conversation(app), "Hi Anna ✨\n")
    assert message.status is S.SENT
    assert message.sent_by_user_id == maria.id
    assert messenger.sent == [(ANNA, "Hi Anna ✨\n", message.reference_id)]
    assert bodies(app) == [("out", "Hi Anna ✨\n", "sent")]


def test_the_same_idempotency_key_gives_the_first_message_and_sends_nothing_more(
    app: App, messenger: FakeMessenger
) -> None:
    maria, tom = user(app, "maria"), user(app, "tom")
    app.link(ANNA, "tom")
    cid = anna_conversation(app)
    first = app.messaging.send(maria, cid, "Hi", idempotency_key="k-1")
    again = app.messaging.send(maria, cid, "Hi, changed", idempotency_key="k-1")
    toms = app.messaging.send(tom, cid, "Hi from Tom", idempotency_key="k-1")
    assert (first.created, again.created, toms.created) == (True, False, True)
    assert again.message == first.message
    assert [body for _, body, _ in messenger.sent] == ["Hi", "Hi from Tom"]


@pytest.mark.parametrize(
    "error",
    [UpstreamRejected("UltraMsg says: Wrong token"), UpstreamUnavailable("read timed out")],
)
def test_a_failed_send_keeps_the_text_as_failed_with_the_reason(
    app: App, messenger: FakeMessenger, error: Exception
) -> None:
    messenger.fail_with = error  # type: ignore[assignment]
    with pytest.raises(type(error)):
        app.send_message(user(app, "maria"), anna_conversation(app), "Are you there?")
    (message,) = app.messages(user(app, "maria"), anna_conversation(app)).items
    assert (message.body, message.status, message.error) == ("Are you there?", S.FAILED, str(error))
    assert messenger.sent == []


def test_a_failed_reply_can_be_retried_once_and_then_no_more(
    app: App, messenger: FakeMessenger
) -> None:
    maria = user(app, "maria")
    messenger.fail_with = UpstreamUnavailable("UltraMsg did not answer")
    with pytest.raises(UpstreamUnavailable):
        app.send_message(maria, anna_conversation(app), "Hello?")
    (failed,) = app.messages(maria, anna_conversation(app)).items
    messenger.fail_with = None
    retried = app.messaging.retry(maria, failed.id)
    assert (retried.status, retried.error) == (S.SENT, None)
    assert messenger.sent == [(ANNA, "Hello?", failed.reference_id)]
    with pytest.raises(Conflict, match="only a failed message"):
        app.messaging.retry(maria, failed.id)
    assert len(messenger.sent) == 1


# -- visibility ----------------------------------------------------------------------------


def test_whoever_may_not_see_the_conversation_can_neither_read_send_retry_nor_fetch(
    app: App, messenger: FakeMessenger
) -> None:
    tom, maria = user(app, "tom"), user(app, "maria")
    cid = anna_conversation(app)
    messenger.fail_with = UpstreamUnavailable("down")
    with pytest.raises(UpstreamUnavailable):
        app.send_message(maria, cid, "for Anna")
    (failed,) = app.messages(maria, cid).items
    messenger.fail_with = None
    calls = [
        lambda: app.messages(tom, cid),
        lambda: app.send_message(tom, cid, "hi"),
        lambda: app.messaging.retry(tom, failed.id),
        lambda: app.messaging.fetch_history(tom, cid),
    ]
    for call in calls:
        with pytest.raises(NotFound) as invisible:
            call()
        assert str(cid) in str(invisible.value) or str(failed.id) in str(invisible.value)
    assert messenger.sent == []
    for absent in (
        lambda: app.messages(tom, 99_999),
        lambda: app.messaging.retry(tom, 99_999),
    ):
        with pytest.raises(NotFound):
            absent()


# -- history -------------------------------------------------------------------------------


def test_history_stores_what_is_new_and_nothing_twice(app: App, messenger: FakeMessenger) -> None:
    messenger.history[ANNA] = [
        raw_message({"id": "false_1", "body": "first", "time": TIME}, ANNA),
        raw_message({"id": "true_2", "fromMe": True, "body": "second", "time": TIME + 5}, ANNA),
        raw_message({"body": "no id: cannot be kept unique"}, ANNA),
    ]
    app.webhooks.handle(WEBHOOK, received("false_1", "first"))
    result = app.messaging.fetch_history(user(app, "maria"), anna_conversation(app), limit=10)
    assert (result.fetched, result.created) == (3, 1)
    again = app.messaging.fetch_history(user(app, "maria"), anna_conversation(app), limit=10)
    assert (again.fetched, again.created) == (3, 0)
    assert bodies(app) == [("in", "first", "received"), ("out", "second", "sent")]


def test_history_keeps_how_far_our_messages_had_come(app: App, messenger: FakeMessenger) -> None:
    messenger.history[ANNA] = [
        raw_message({"id": "true_r", "fromMe": True, "body": "read", "ack": "read"}, ANNA),
        raw_message({"id": "true_d", "fromMe": True, "body": "at the phone", "ack": 2}, ANNA),
        raw_message({"id": "true_s", "fromMe": True, "body": "no ack", "ack": ""}, ANNA),
        raw_message({"id": "false_i", "body": "theirs", "ack": "read"}, ANNA),
    ]
    app.messaging.fetch_history(user(app, "maria"), anna_conversation(app), limit=10)
    assert sorted(bodies(app)) == [
        ("in", "theirs", "received"),
        ("out", "at the phone", "delivered"),
        ("out", "no ack", "sent"),
        ("out", "read", "read"),
    ]


def test_a_failed_history_fetch_writes_nothing(app: App, messenger: FakeMessenger) -> None:
    messenger.fail_with = UpstreamRejected("UltraMsg says: Instance not found")
    with pytest.raises(UpstreamRejected):
        app.messaging.fetch_history(user(app, "maria"), anna_conversation(app))
    assert bodies(app) == []


# -- webhooks ------------------------------------------------------------------------------


def test_an_inbound_message_is_stored_once_however_often_it_arrives(app: App) -> None:
    outcomes = [app.webhooks.handle(WEBHOOK, received()).message for _ in range(3)]
    assert outcomes == ["stored", "duplicate", "duplicate"]
    (message,) = app.messages(user(app, "maria"), anna_conversation(app)).items
    assert message.created_at == datetime.fromtimestamp(TIME, UTC)
    assert (message.sender_name, message.direction) == ("Anna", Direction.IN)


def test_our_reply_gets_its_whatsapp_id_and_ticks_from_the_webhooks(
    app: App, messenger: FakeMessenger
) -> None:
    sent = app.send_message(user(app, "maria"), anna_conversation(app), "Hi")
    assert (
        app.webhooks.handle(WEBHOOK, created("true_X", sent.reference_id or "")).message == "ours"
    )
    for state, expected in (("device", "delivered"), ("server", None), ("read", "read")):
        assert app.webhooks.handle(WEBHOOK, ack("true_X", state)).message == expected
    assert bodies(app) == [("out", "Hi", "read")]


def test_a_message_typed_on_the_phone_is_a_new_outbound_message(app: App) -> None:
    assert app.webhooks.handle(WEBHOOK, created("true_P")).message == "stored"
    (message,) = app.messages(user(app, "maria"), anna_conversation(app)).items
    assert (message.direction, message.sent_by_user_id, message.status) == (
        Direction.OUT,
        None,
        S.SENT,
    )


@pytest.mark.parametrize(
    ("data", "why"),
    [({"id": ""}, "no id"), ({"time": "noon"}, "not a time"),
     ({"time": int((DEFAULT_NOW + timedelta(days=2)).timestamp())}, "in the future")],
)  # fmt: skip
def test_a_message_without_an_id_or_with_a_bad_time_is_not_stored(
    app: App, data: dict[str, object], why: str
) -> None:
    result = app.webhooks.handle(WEBHOOK, received(**data))
    assert result.message is None
    assert result.note is not None
    assert why in result.note
    assert bodies(app) == []


def test_a_lone_surrogate_in_a_body_is_stored_as_a_replacement_character(app: App) -> None:
    app.webhooks.handle(WEBHOOK, received(body="cut \ud83d here"))
    assert bodies(app) == [("in", "cut \ufffd here", "received")]
