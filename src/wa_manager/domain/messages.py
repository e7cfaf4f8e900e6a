"""The rules of messages, as pure functions.

- what a reply may be (``validate_body``): 1 to 4,096 characters, not blank,
  kept byte for byte (nothing is stripped);
- what UltraMsg's delivery acks mean (``status_for_ack``);
- that a status never goes backwards (``may_become``, ``earlier_statuses``);
- how UltraMsg's message JSON is read (``raw_message``) and what it becomes
  when stored (``new_message``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import Direction, MessageStatus, NewMessage, RawMessage
from wa_manager.domain.text import storable

MAX_BODY_LENGTH = 4096
MAX_HISTORY_LIMIT = 1000
MAX_UNIX_SECONDS = 253_402_300_800  # year 10000: anything later is no time

_ACKS: dict[str, MessageStatus] = {
    "server": MessageStatus.SENT,
    "1": MessageStatus.SENT,
    "device": MessageStatus.DELIVERED,
    "2": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "3": MessageStatus.READ,
    "played": MessageStatus.READ,
    "4": MessageStatus.READ,
}

# How far an outbound message has come. ``failed`` ranks with ``queued``: an ack that
# arrives for a message we marked failed (a timeout after UltraMsg had it) is the truth.
_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.FAILED: 0,
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 3,
}


def validate_body(body: object) -> str:
    """The text of a reply, unchanged; ``InvalidInput`` when it is blank or too long."""
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("a message needs some text; the body is empty")
    if len(body) > MAX_BODY_LENGTH:
        raise InvalidInput(
            f"a message is at most {MAX_BODY_LENGTH} characters; this one has {len(body)}"
        )
    return body


def status_for_ack(ack: object) -> MessageStatus | None:
    """``server``/1 → sent, ``device``/2 → delivered, ``read``/3 and ``played``/4 → read."""
    if isinstance(ack, bool) or not isinstance(ack, str | int):
        return None
    return _ACKS.get(str(ack).strip().lower())


def may_become(current: MessageStatus, new: MessageStatus) -> bool:
    """Whether an outbound message in ``current`` may move to ``new`` (never backwards;
    only a ``queued`` message can fail, only a ``failed`` one be queued again)."""
    if new is MessageStatus.FAILED:
        return current is MessageStatus.QUEUED
    if new is MessageStatus.QUEUED:
        return current is MessageStatus.FAILED
    if current not in _RANK or new not in _RANK:
        return False
    return _RANK[current] < _RANK[new]


def earlier_statuses(new: MessageStatus) -> tuple[MessageStatus, ...]:
    """Every status that may become ``new``: for an update that checks as it writes."""
    return tuple(status for status in MessageStatus if may_become(status, new))


def new_message(raw: RawMessage, conversation_id: int, now: datetime) -> NewMessage | None:
    """What a message read from UltraMsg (history, webhook) is stored as; None without
    a WhatsApp id (nothing could keep it unique)."""
    if not raw.wa_message_id:
        return None
    direction = Direction.OUT if raw.from_me else Direction.IN
    return NewMessage(
        conversation_id=conversation_id,
        wa_message_id=raw.wa_message_id,
        direction=direction,
        type=raw.type or "unknown",
        body=raw.body,
        media_url=raw.media_url,
        author=raw.author,
        sender_name=raw.sender_name,
        status=_first_status(raw) if direction is Direction.OUT else MessageStatus.RECEIVED,
        created_at=raw.sent_at or now,
    )


def _first_status(outbound: RawMessage) -> MessageStatus:
    """An outbound message read from UltraMsg is at least ``sent``; further when its ack
    says so (a history read after the customer read it)."""
    delivery = outbound.delivery
    if delivery is not None and _RANK[delivery] > _RANK[MessageStatus.SENT]:
        return delivery
    return MessageStatus.SENT


def _text(value: object) -> str | None:
    """A non-empty string field made storable, else None."""
    return storable(value) if isinstance(value, str) and value else None


def _sent_at(item: Mapping[str, Any]) -> datetime | None:
    for key in ("timestamp", "time"):
        value = item.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, int | float) and 0 < value < MAX_UNIX_SECONDS:
            return datetime.fromtimestamp(value, UTC)
    return None


def raw_message(item: Mapping[str, Any], chat_id: str) -> RawMessage:
    """One UltraMsg message (a webhook's ``data``, an item of ``chats/messages``) read
    defensively: odd or missing fields are None, text is made storable, the time is
    UltraMsg's ``timestamp`` or ``time`` (unix seconds; nonsense is None)."""
    wa_message_id = _text(item.get("id"))
    from_me = item.get("fromMe")
    if not isinstance(from_me, bool):
        from_me = str(from_me).lower() == "true" if isinstance(from_me, str) else None
    if from_me is None:
        from_me = bool(wa_message_id and wa_message_id.startswith("true_"))
    body = item.get("body")
    return RawMessage(
        wa_message_id=wa_message_id,
        chat_id=chat_id,
        from_me=from_me,
        type=_text(item.get("type")) or "unknown",
        body=storable(body) if isinstance(body, str) else None,
        media_url=_text(item.get("media")),
        author=_text(item.get("author")),
        sender_name=_text(item.get("pushname")),
        sent_at=_sent_at(item),
        delivery=status_for_ack(item.get("ack")),
    )
