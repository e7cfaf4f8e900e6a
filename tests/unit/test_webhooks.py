"""UltraMsg webhooks: parsing JSON and form payloads, and what a message does to contacts."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wa_manager.bootstrap import App
from wa_manager.domain.model import LIBRARY, WEBHOOK, ChatKind, Contact
from wa_manager.services.webhooks import (
    IgnoredEvent,
    MessageEvent,
    WebhookOutcome,
    parse_event,
    payload_from_form,
)
from wa_manager.testing import DEFAULT_INSTANCE_ID, DEFAULT_NOW, FixedClock, StaticChats, memory_app

ANNA = "4915112345678@c.us"
GROUP = "120363041234567890@g.us"


def message(
    event_type: str = "message_received",
    *,
    sender: str = ANNA,
    to: str = "4915000000000@c.us",
    pushname: str = "Anna",
    instance: str | None = "12345",
) -> dict[str, Any]:
    """An UltraMsg webhook body as ``docs/ultramsg.md#webhooks`` describes it."""
    payload: dict[str, Any] = {
        "event_type": event_type,
        "id": "",
        "referenceId": "",
        "data": {
            "id": f"false_{sender}_3EB0C767D82B1B2A4B5C",
            "from": sender,
            "to": to,
            "author": "",
            "pushname": pushname,
            "type": "chat",
            "body": "Hello",
            "fromMe": event_type == "message_create",
            "time": 1732400123,
        },
    }
    if instance is not None:
        payload["instanceId"] = instance
    return payload


def contacts_of(app: App) -> list[Contact]:
    return sorted(app.contacts.page(LIBRARY, limit=200).items, key=lambda c: c.id)


def conversation_wa_ids(app: App) -> list[str]:
    admin = (
        app.add_user("boss", "admin")
        if not app.accounts.users(LIBRARY)
        else app.accounts.users(LIBRARY)[0]
    )
    return sorted(c.contact.wa_id for c in app.conversations.page(admin, limit=200).items)


# -- what a message does -----------------------------------------------------------------


def test_a_message_from_an_unknown_person_creates_contact_and_conversation() -> None:
    app = memory_app(clock=FixedClock())

    result = app.webhooks.handle(WEBHOOK, message())

    assert result.outcome is WebhookOutcome.CREATED
    [anna] = contacts_of(app)
    assert (anna.wa_id, anna.name, anna.phone, anna.kind) == (
        ANNA,
        "Anna",
        "+4915112345678",
        "person",
    )
    assert anna.source == DEFAULT_INSTANCE_ID
    assert anna.last_seen_at == DEFAULT_NOW
    assert conversation_wa_ids(app) == [ANNA]


def test_the_chat_of_a_message_we_sent_is_its_recipient_and_our_name_is_not_used() -> None:
    app = memory_app()

    app.webhooks.handle(WEBHOOK, message("message_create", sender="4915000000000@c.us", to=ANNA))

    [anna] = contacts_of(app)
    assert anna.wa_id == ANNA
    assert anna.name is None


def test_a_group_message_creates_the_group_without_the_authors_name() -> None:
    app = memory_app()

    app.webhooks.handle(WEBHOOK, message(sender=GROUP, pushname="Some member"))

    [group] = contacts_of(app)
    assert (group.wa_id, group.kind, group.phone, group.name) == (GROUP, "group", None, None)


def test_repeats_create_nothing_more_and_touch_last_seen() -> None:
    clock = FixedClock()
    app = memory_app(clock=clock)
    app.webhooks.handle(WEBHOOK, message())
    clock.advance(timedelta(hours=2))

    again = app.webhooks.handle(WEBHOOK, message(pushname="Someone else"))

    assert again.outcome is WebhookOutcome.TOUCHED
    [anna] = contacts_of(app)
    assert anna.last_seen_at == DEFAULT_NOW + timedelta(hours=2)
    assert anna.created_at == DEFAULT_NOW
    assert anna.name == "Anna"  # names come from the sync, not from push names
    assert conversation_wa_ids(app) == [ANNA]


def test_a_known_contact_from_a_sync_is_touched_and_no_longer_vanished() -> None:
    clock = FixedClock()
    chats = StaticChats([{"id": ANNA, "name": "Anna Schmidt"}])
    app = memory_app(chats, clock=clock)
    app.sync()
    chats.replace([])
    app.sync()  # Anna is gone from the chat list
    assert contacts_of(app)[0].vanished_at is not None
    clock.advance(timedelta(minutes=5))

    result = app.webhooks.handle(WEBHOOK, message())

    assert result.outcome is WebhookOutcome.TOUCHED
    [anna] = contacts_of(app)
    assert anna.vanished_at is None
    assert anna.last_seen_at == DEFAULT_NOW + timedelta(minutes=5)
    assert anna.name == "Anna Schmidt"


def test_a_contact_created_by_a_webhook_is_not_recreated_by_the_sync() -> None:
    app = memory_app([{"id": ANNA, "name": "Anna Schmidt"}])
    app.webhooks.handle(WEBHOOK, message())

    report = app.sync()

    assert (report.created_contacts, report.created_conversations, report.updated_contacts) == (
        0,
        0,
        1,
    )
    assert [c.name for c in contacts_of(app)] == ["Anna Schmidt"]


# -- what is ignored -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (message("group_participants_changed"), "does not concern contacts"),
        (message(sender="status@broadcast"), "broadcast chats are not conversations"),
        (message(sender="120363000000000000@newsletter"), "newsletter"),
        (message(sender="0@c.us"), "system"),
        (message(sender="not-an-id"), "no usable chat id"),
        (message(instance="99999"), "another UltraMsg instance"),
        ({"event_type": "message_received"}, "no data object"),
        ({"data": {"from": ANNA}}, "no event_type"),
        ([1, 2, 3], "not a JSON object"),
        (None, "not a JSON object"),
        ({"event_type": "message_received", "data": "{broken"}, "no data object"),
        ({"event_type": "message_received", "data": {"from": 4915112345678}}, "no usable"),
    ],
)
def test_malformed_and_unknown_events_write_nothing(payload: object, reason: str) -> None:
    app = memory_app()

    result = app.webhooks.handle(WEBHOOK, payload)

    assert result.outcome is WebhookOutcome.IGNORED
    assert result.reason is not None
    assert reason in result.reason
    assert contacts_of(app) == []


def test_groups_are_ignored_when_groups_are_not_synced() -> None:
    app = memory_app(sync_groups=False)

    result = app.webhooks.handle(WEBHOOK, message(sender=GROUP))

    assert result.outcome is WebhookOutcome.IGNORED
    assert result.reason is not None
    assert "WA_MANAGER_SYNC_GROUPS" in result.reason
    assert contacts_of(app) == []


def test_the_full_instance_id_is_accepted_too() -> None:
    app = memory_app()
    assert app.webhooks.handle(WEBHOOK, message(instance=DEFAULT_INSTANCE_ID)).outcome is (
        WebhookOutcome.CREATED
    )


def test_without_an_instance_id_the_event_is_taken_as_ours() -> None:
    app = memory_app()
    assert app.webhooks.handle(WEBHOOK, message(instance=None)).outcome is WebhookOutcome.CREATED


# -- form-encoded payloads -----------------------------------------------------------------


def test_form_with_bracketed_keys_reads_like_json() -> None:
    body = urlencode(
        {
            "event_type": "message_received",
            "instanceId": "12345",
            "data[from]": ANNA,
            "data[to]": "4915000000000@c.us",
            "data[pushname]": "Anna 🎉",
            "data[media][url]": "",
        }
    )

    payload = payload_from_form(parse_qsl(body, keep_blank_values=True))

    assert payload["data"]["from"] == ANNA
    assert payload["data"]["media"] == {"url": ""}
    event = parse_event(payload, instance_id=DEFAULT_INSTANCE_ID)
    assert isinstance(event, MessageEvent)
    assert (event.wa_id, event.kind, event.name) == (ANNA, ChatKind.PERSON, "Anna 🎉")


def test_form_with_data_as_a_json_string() -> None:
    fields = [
        ("event_type", "message_create"),
        ("data", json.dumps({"from": "4915000000000@c.us", "to": ANNA})),
    ]

    event = parse_event(payload_from_form(fields), instance_id=DEFAULT_INSTANCE_ID)

    assert isinstance(event, MessageEvent)
    assert event.wa_id == ANNA


@pytest.mark.parametrize(
    "key", ["data[", "data[]", "[from]", "data[a][b][c][d]", "data]x[", "data[a]b"]
)
def test_irregular_form_keys_are_kept_as_they_are(key: str) -> None:
    assert payload_from_form([(key, "x")]) == {key: "x"}


def test_a_json_string_that_is_not_an_object_is_no_data() -> None:
    event = parse_event(
        payload_from_form([("event_type", "message_received"), ("data", "[1]")]),
        instance_id=DEFAULT_INSTANCE_ID,
    )
    assert event == IgnoredEvent("no data object")


@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20)), max_size=20))
def test_any_form_is_either_an_event_or_ignored_never_an_error(
    fields: list[tuple[str, str]],
) -> None:
    event = parse_event(payload_from_form(fields), instance_id=DEFAULT_INSTANCE_ID)
    assert isinstance(event, MessageEvent | IgnoredEvent)
