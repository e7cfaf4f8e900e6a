"""The fake UltraMsg's messages: one list per chat, in UltraMsg's JSON shape.

``MessageBook`` keeps each chat's messages oldest first, as UltraMsg's history
items (``id``, ``from``, ``to``, ``author``, ``pushname``, ``type``, ``body``,
``fromMe``, ``timestamp``, ``media``, ``ack``); ``history`` answers
``chats/messages`` with the latest ``limit`` of them, oldest first.
``webhook_event`` wraps one as the body UltraMsg posts (``data`` carries ``time``
instead of ``timestamp``; docs/ultramsg.md, "Webhooks").
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Mapping
from typing import Any

Message = dict[str, Any]

MAX_HISTORY = 1000


def message_id(chat_id: str, from_me: bool) -> str:
    """A WhatsApp message id as UltraMsg writes it: ``true_<chat>_<hex>`` for ours,
    ``false_<chat>_<hex>`` for incoming ones."""
    return f"{'true' if from_me else 'false'}_{chat_id}_3EB0{secrets.token_hex(8).upper()}"


def make_message(
    chat_id: str,
    own_id: str,
    body: str,
    *,
    from_me: bool,
    timestamp: int,
    author: str = "",
    pushname: str = "",
    type: str = "chat",
    media: str = "",
    wa_id: str | None = None,
) -> Message:
    """One message of ``chat_id`` in UltraMsg's shape (``own_id`` is the instance's number;
    ``wa_id`` a fixed message id, else a fresh one)."""
    return {
        "id": wa_id or message_id(chat_id, from_me),
        "from": own_id if from_me else chat_id,
        "to": chat_id if from_me else own_id,
        "author": author,
        "pushname": pushname,
        "ack": "pending" if from_me else "",
        "type": type,
        "body": body,
        "media": media,
        "fromMe": from_me,
        "isForwarded": False,
        "timestamp": timestamp,
    }


def webhook_event(
    event_type: str, message: Message, instance_id: str, reference_id: str = ""
) -> dict[str, Any]:
    """The body UltraMsg posts for ``message`` (``instanceId`` holds only the digits)."""
    data = {key: value for key, value in message.items() if key != "timestamp"}
    data["time"] = message["timestamp"]
    return {
        "event_type": event_type,
        "instanceId": "".join(ch for ch in instance_id if ch.isdigit()),
        "id": "",
        "referenceId": reference_id,
        "hash": secrets.token_hex(16),
        "data": data,
    }


class MessageBook:
    """Every chat's messages, oldest first; safe to use from several threads."""

    def __init__(self, messages: Mapping[str, Iterable[Message]] | None = None) -> None:
        self._lock = threading.Lock()
        self._chats: dict[str, list[Message]] = {
            chat: [dict(item) for item in items] for chat, items in (messages or {}).items()
        }

    def add(self, chat_id: str, message: Message) -> None:
        """Append ``message`` to the chat's list."""
        with self._lock:
            self._chats.setdefault(chat_id, []).append(message)

    def history(self, chat_id: str, limit: int) -> list[Message]:
        """The chat's latest ``limit`` messages, oldest first (copies)."""
        with self._lock:
            items = self._chats.get(chat_id, [])
            return [dict(item) for item in items[-limit:]] if limit > 0 else []

    def set_ack(self, chat_id: str, wa_message_id: str, ack: str) -> None:
        """Record how far one of our messages has come."""
        with self._lock:
            for item in self._chats.get(chat_id, []):
                if item["id"] == wa_message_id:
                    item["ack"] = ack

    def chats(self) -> list[str]:
        """The ids of every chat that has messages."""
        with self._lock:
            return list(self._chats)

    def count(self) -> int:
        """How many messages there are, over all chats."""
        with self._lock:
            return sum(len(items) for items in self._chats.values())
