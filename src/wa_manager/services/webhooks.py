"""UltraMsg webhooks: a message from an unknown chat creates its contact at once.

UltraMsg POSTs one event per message (``docs/ultramsg.md#webhooks``), as JSON or
form-encoded; in the form its ``data`` arrives either as one field holding a
JSON object or as bracketed keys (``data[from]=...``). ``payload_from_form``
turns the form into the JSON shape, ``parse_event`` reads an event out of it and
``Webhooks.handle`` applies it:

- ``message_received``: the chat is ``data.from`` (for a group, the group id);
- ``message_create`` (sent by us): the chat is ``data.to``;
- the chat id obeys the sync's rules (``classify_chat_id``): broadcasts,
  channels, WhatsApp's own chat and, with ``WA_MANAGER_SYNC_GROUPS=false``,
  groups are ignored;
- an unknown chat becomes a contact (``source`` = the instance id) with its one
  conversation; a known one gets ``last_seen_at`` = now and is no longer vanished;
  a chat merged into another contact (an alias) lands on that contact, its survivor;
- the message itself is stored in that conversation, once per WhatsApp id
  (repeats and a racing history fetch find it there); a ``message_create`` whose
  top-level ``referenceId`` is one of our replies gives that reply its WhatsApp id
  instead (typed on the phone, it is a new outbound message); a new inbound
  message makes a pending or resolved conversation active again (``inbox``);
- ``message_ack``: the outbound message ``data.id`` moves to sent, delivered or
  read, never backwards.

Text that no database can store (a lone UTF-16 surrogate, as in a push name cut
in the middle of an emoji) is stored with U+FFFD in its place. Anything else
(other event types, another instance, malformed bodies, JSON nested too deeply
to decode) is ``ignored`` with a reason: UltraMsg retries a webhook that does not get a 2xx,
so the HTTP layer answers 200 and logs the reason. Creation relies on the
database's unique keys, not on the sync lock, so repeats and a concurrent sync
never make duplicates and never wait for each other.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from attrs import frozen

from wa_manager.domain.errors import StorageError
from wa_manager.domain.messages import new_message, raw_message, status_for_ack
from wa_manager.domain.model import (
    Actor,
    ChatKind,
    Conversation,
    MessageStatus,
    NewContact,
    RawMessage,
)
from wa_manager.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from wa_manager.domain.rules import classify_chat_id, phone_for_chat
from wa_manager.services.inbox import store_in_locked
from wa_manager.services.permissions import Action, authorize

MESSAGE_RECEIVED = "message_received"
MESSAGE_CREATE = "message_create"
MESSAGE_ACK = "message_ack"
MAX_CLOCK_SKEW = timedelta(minutes=5)
CHAT_FIELD_OF_EVENT = {MESSAGE_RECEIVED: "from", MESSAGE_CREATE: "to"}
MAX_FORM_DEPTH = 4
MAX_NAME_LENGTH = 2000


class WebhookOutcome(enum.StrEnum):
    """What a webhook did."""

    CREATED = "created"  # a new contact and its conversation
    TOUCHED = "touched"  # a known contact was seen again
    ACKNOWLEDGED = "acknowledged"  # a delivery ack moved one of our messages forward
    IGNORED = "ignored"  # nothing written; ``reason`` says why


@frozen
class WebhookResult:
    """The outcome of one webhook, with the chat it was about and, if ignored, why."""

    outcome: WebhookOutcome
    wa_id: str | None = None
    reason: str | None = None
    message: str | None = None  # stored | duplicate | ours | the new status of an ack
    note: str | None = None  # for the log: why the message itself was not stored


class MessageEvent(NamedTuple):
    """A message event reduced to what matters: which chat, and a name to start with."""

    event_type: str
    wa_id: str
    kind: ChatKind
    name: str | None


class IgnoredEvent(NamedTuple):
    """An event that asks for nothing: why, and the chat id when there was one."""

    reason: str
    wa_id: str | None = None


def payload_from_form(fields: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A form-encoded webhook as its JSON shape.

    ``data[from]=x`` becomes ``{"data": {"from": "x"}}`` (nested up to a few
    levels); a ``data`` field that holds a JSON object is decoded. A key given
    twice keeps its last value. Unparsable keys are kept as they are.
    """
    payload: dict[str, Any] = {}
    for key, value in fields:
        path = _bracket_path(key)
        target = payload
        for part in path[:-1]:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        target[path[-1]] = value
    data = payload.get("data")
    if isinstance(data, str):
        payload["data"] = _json_object_or_same(data)
    return payload


def _bracket_path(key: str) -> list[str]:
    """``data[from]`` -> ``["data", "from"]``; anything irregular -> ``[key]``."""
    head, bracket, rest = key.partition("[")
    if not bracket or not head or not rest.endswith("]"):
        return [key]
    parts = rest[:-1].split("][")
    irregular = any(not part or "[" in part or "]" in part for part in parts)
    if irregular or len(parts) >= MAX_FORM_DEPTH:
        return [key]
    return [head, *parts]


def _json_object_or_same(text: str) -> Any:
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested too deeply
        return text
    return decoded if isinstance(decoded, dict) else text


def _instance_digits(instance_id: str) -> str:
    """``instance12345`` -> ``12345``: how UltraMsg names the instance in webhooks."""
    return "".join(ch for ch in instance_id if ch.isascii() and ch.isdigit())


def _from_this_instance(payload: Mapping[str, Any], instance_id: str) -> bool:
    """Whether the event's ``instanceId`` (when it names one) is ours."""
    sender_instance = payload.get("instanceId")
    return sender_instance in (None, "") or str(sender_instance) in (
        instance_id,
        _instance_digits(instance_id),
    )


def parse_event(
    payload: object, *, instance_id: str, include_groups: bool = True
) -> MessageEvent | IgnoredEvent:
    """Read a message event out of a webhook payload, or say why it asks for nothing."""
    if not isinstance(payload, Mapping):
        return IgnoredEvent("the body is not a JSON object or a form")
    event_type = payload.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        return IgnoredEvent("no event_type")
    chat_field = CHAT_FIELD_OF_EVENT.get(event_type)
    if chat_field is None:
        return IgnoredEvent(f"event_type {event_type[:40]!r} does not concern contacts")
    if not _from_this_instance(payload, instance_id):
        return IgnoredEvent("the event belongs to another UltraMsg instance")
    data = payload.get("data")
    if isinstance(data, str):
        data = _json_object_or_same(data)
    if not isinstance(data, Mapping):
        return IgnoredEvent("no data object")
    wa_id = data.get(chat_field)
    if isinstance(wa_id, str):
        wa_id = _storable(wa_id)
    kind = classify_chat_id(wa_id)
    if kind is ChatKind.INVALID:
        return IgnoredEvent(f"no usable chat id in data.{chat_field}")
    assert isinstance(wa_id, str)
    if not kind.is_conversation:
        return IgnoredEvent(f"{kind} chats are not conversations", wa_id)
    if kind is ChatKind.GROUP and not include_groups:
        return IgnoredEvent("group chats are not synced (WA_MANAGER_SYNC_GROUPS=false)", wa_id)
    return MessageEvent(event_type, wa_id, kind, _first_name(event_type, kind, data))


def _first_name(event_type: str, kind: ChatKind, data: Mapping[str, Any]) -> str | None:
    """The name a new contact starts with: the sender's push name, when it is theirs.

    Only a person's incoming message names the chat; in a group the push name is
    the author's, and on our own messages it is ours. The next sync sets the name
    from the chat list anyway.
    """
    if event_type != MESSAGE_RECEIVED or kind is ChatKind.GROUP:
        return None
    name = data.get("pushname")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
        return None
    return _storable(name)


def _storable(text: str) -> str:
    """``text`` with every lone UTF-16 surrogate (which UTF-8, and so no database, can
    hold) replaced by U+FFFD; JSON's ``"\\ud83d"`` decodes to one."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)
    return text


def _data(payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    data = payload.get("data")
    if isinstance(data, str):
        data = _json_object_or_same(data)
    return data if isinstance(data, Mapping) else None


def message_in(payload: Mapping[str, Any], chat_id: str, now: datetime) -> RawMessage | str:
    """The message an event carries, or why it cannot be stored (no id, a bad time)."""
    data = _data(payload)
    if data is None:
        return "no data object"
    raw = raw_message(data, chat_id)
    if raw.wa_message_id is None:
        return "the message has no id"
    for key in ("timestamp", "time"):
        if key in data and data[key] not in (None, "") and raw.sent_at is None:
            return f"data.{key} is not a time in unix seconds"
    if raw.sent_at is not None and raw.sent_at > now + MAX_CLOCK_SKEW:
        return "the message's time is in the future"
    return raw


@frozen
class Webhooks:
    """The webhook use case, bound to the store, the clock and the default instance once."""

    store: UnitOfWorkFactory
    clock: Clock
    instance_id: Callable[[], str]  # the environment's instance (``ConfigError`` without one)
    include_groups: bool = True

    def handle(self, actor: Actor, payload: object, instance: str | None = None) -> WebhookResult:
        """Apply one webhook payload (already decoded) of ``instance`` (by default the
        environment's: its webhook path decided) and say what it did."""
        authorize(actor, Action.HANDLE_WEBHOOK)
        instance_id = instance if instance is not None else self.instance_id()
        if isinstance(payload, Mapping) and payload.get("event_type") == MESSAGE_ACK:
            return self._ack(instance_id, payload)
        event = parse_event(payload, instance_id=instance_id, include_groups=self.include_groups)
        if isinstance(event, IgnoredEvent):
            return WebhookResult(WebhookOutcome.IGNORED, event.wa_id, event.reason)
        assert isinstance(payload, Mapping)
        now = self.clock()
        message = message_in(payload, event.wa_id, now)
        new_contact = NewContact(
            event.wa_id,
            event.name,
            phone_for_chat(event.wa_id, event.kind),
            event.kind.contact_kind,
        )
        for attempt in range(2):
            try:
                with self.store() as uow:
                    wa_id, created = _seen(uow, instance_id, new_contact, now)
                    conversation = _locked_conversation(uow, instance_id, wa_id, now, created)
                    note = None
                    if isinstance(message, str):
                        filed, note = None, f"message not stored: {message}"
                    else:
                        filed = _file_message(uow, instance_id, conversation, message, payload, now)
                    uow.commit()
                break
            except _MergedMeanwhile:
                if attempt:  # merged twice in one webhook's time: give up, UltraMsg retries
                    raise
        outcome = WebhookOutcome.CREATED if created else WebhookOutcome.TOUCHED
        return WebhookResult(outcome, event.wa_id, message=filed, note=note)

    def _ack(self, instance_id: str, payload: Mapping[str, Any]) -> WebhookResult:
        """A delivery ack: the outbound message it names moves forward, never back."""
        if not _from_this_instance(payload, instance_id):
            return WebhookResult(
                WebhookOutcome.IGNORED, None, "the event belongs to another UltraMsg instance"
            )
        data = _data(payload)
        wa_message_id = data.get("id") if data is not None else None
        status = status_for_ack(data.get("ack")) if data is not None else None
        if not isinstance(wa_message_id, str) or not wa_message_id or status is None:
            return WebhookResult(WebhookOutcome.IGNORED, None, "an ack needs data.id and data.ack")
        with self.store() as uow:
            moved = uow.messages.advance_by_wa_id(instance_id, wa_message_id, status)
            uow.commit()
        if not moved:
            return WebhookResult(
                WebhookOutcome.IGNORED, None, "no outbound message of ours to move forward"
            )
        return WebhookResult(WebhookOutcome.ACKNOWLEDGED, None, message=str(status))


class _MergedMeanwhile(StorageError):
    """A merge made this chat an alias while the webhook created its contact anew."""


def _seen(uow: UnitOfWork, source: str, contact: NewContact, now: datetime) -> tuple[str, bool]:
    """Note the chat's activity: on the contact it was merged into when it is an alias
    (never a contact of its own again), else on its own contact, created if new. The
    wa_id it landed on, and whether a contact was created.

    A merge of this chat committing while ``seen`` waited for its row lock leaves the
    contact just created unwanted: the alias is read again after a creation (a rare
    path), and ``_MergedMeanwhile`` rolls it all back for one more try.
    """
    survivor = uow.identities.survivor_of(source, contact.wa_id)
    if survivor is not None:
        uow.contacts.touch(source, survivor, now)
        return survivor, False
    created = uow.contacts.seen(source, contact, now)
    if created and uow.identities.survivor_of(source, contact.wa_id) is not None:
        raise _MergedMeanwhile(f"chat {contact.wa_id} was merged meanwhile; try again")
    return contact.wa_id, created


def _locked_conversation(
    uow: UnitOfWork, source: str, wa_id: str, now: datetime, created: bool
) -> Conversation:
    """The conversation of the contact (source, wa_id), created if it has none, locked
    until the transaction ends: for a known contact, which has one as a rule (the sync
    and webhooks create both in one transaction), one statement."""
    conversation = None if created else uow.conversations.lock_for(source, wa_id)
    if conversation is None:
        uow.conversations.add_for(source, [wa_id], now)
        conversation = uow.conversations.lock_for(source, wa_id)
    assert conversation is not None  # its contact exists in this transaction
    return conversation


def _file_message(
    uow: UnitOfWork,
    source: str,
    conversation: Conversation,
    message: RawMessage,
    payload: Mapping[str, Any],
    now: datetime,
) -> str:
    """Store the event's message and say how: ``stored``, ``duplicate`` or ``ours``
    (the ``message_create`` of a reply we sent, tied by its ``referenceId``)."""
    assert message.wa_message_id is not None
    reference = payload.get("referenceId")
    if payload.get("event_type") == MESSAGE_CREATE and isinstance(reference, str) and reference:
        ours = uow.messages.by_reference(reference)
        if ours is not None and ours.source == source:
            uow.messages.tie(ours.id, message.wa_message_id)
            uow.messages.advance(ours.id, MessageStatus.SENT)
            return "ours"
    row = new_message(message, conversation.id, now)
    assert row is not None
    return "stored" if store_in_locked(uow, source, conversation, [row], now) else "duplicate"
