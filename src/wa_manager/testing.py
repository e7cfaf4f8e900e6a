"""Test helpers for projects that use wa-manager: no network, no database.

Everything here is public and stable, and is what wa-manager's own unit tests use::

    from wa_manager import Settings, bootstrap
    from wa_manager.testing import InMemoryStore, StaticChats

    chats = StaticChats([{"id": "4915112345678@c.us", "name": "Anna"}])
    app = bootstrap(Settings(instance_id="instance12345"), chats=chats, store=InMemoryStore())
    app.sync()

or, shorter, with a fast password hasher already filled in::

    from wa_manager.testing import memory_app

    app = memory_app([{"id": "4915112345678@c.us", "name": "Anna"}])

What it offers:

- ``InMemoryStore`` / ``FakeUnitOfWork``: the database in memory, with the same
  semantics as the SQL store; ``FakeUnitOfWork.committed`` says whether a unit
  of work committed, ``InMemoryStore.recent_units`` keeps the last ones made.
- ``StaticChats(chats)``: a chat source over canned chats (UltraMsg-style dicts
  or ``RawChat`` pairs); ``calls`` counts fetches, ``chats`` can be replaced.
- ``raw_chat(item)``: what ``StaticChats`` makes of one dict or pair.
- ``FailingChats(error)``: a chat source that always raises ``error``.
- ``FakeMessenger(history)``: UltraMsg's messages in memory: canned history per
  chat, every send recorded in ``sent``, ``fail_with`` to make calls fail.
- ``FixedClock`` and ``TickingClock``: clocks that tests control.
- ``FastHasher``: a cheap, deterministic password hasher. For tests only: it
  is not safe for real passwords, and nothing in wa-manager uses it by itself.
- ``memory_app(chats, **settings)``: an ``App`` wired with all of the above.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from wa_manager.adapters.memory import FakeUnitOfWork, InMemoryStore
from wa_manager.bootstrap import App, Connect, bootstrap
from wa_manager.config import Settings
from wa_manager.domain.errors import UpstreamError, UpstreamUnavailable
from wa_manager.domain.model import ChatList, RawChat, RawMessage, SendReceipt
from wa_manager.domain.ports import ChatSource, Clock, MessageChannel, Store

__all__ = [
    "DEFAULT_INSTANCE_ID",
    "DEFAULT_NOW",
    "FailingChats",
    "FakeMessenger",
    "FakeUnitOfWork",
    "FastHasher",
    "FixedClock",
    "InMemoryStore",
    "StaticChats",
    "TickingClock",
    "memory_app",
    "raw_chat",
]

DEFAULT_INSTANCE_ID = "instance12345"
DEFAULT_NOW = datetime(2024, 11, 24, 12, 0, tzinfo=UTC)

ChatLike = Mapping[str, Any] | RawChat | tuple[str | None, str | None]


def raw_chat(item: ChatLike) -> RawChat:
    """A ``RawChat`` from an UltraMsg-style dict (``{"id": ..., "name": ...}``) or a pair.

    Like UltraMsg's adapter, a dict's ``id`` or ``name`` that is missing or not a
    string becomes None.
    """
    if isinstance(item, Mapping):
        wa_id, name = item.get("id"), item.get("name")
    else:
        wa_id, name = item
    return RawChat(
        wa_id if isinstance(wa_id, str) else None, name if isinstance(name, str) else None
    )


class StaticChats:
    """A ``ChatSource`` that returns the same canned chats on every fetch."""

    def __init__(self, chats: Iterable[ChatLike] = ()) -> None:
        self.chats: list[RawChat] = [raw_chat(item) for item in chats]
        self.calls = 0

    def replace(self, chats: Iterable[ChatLike]) -> None:
        """What the next fetches return (say, after a chat was renamed)."""
        self.chats = [raw_chat(item) for item in chats]

    def fetch_chats(self) -> ChatList:
        self.calls += 1
        return ChatList.of(self.chats)


class FailingChats:
    """A ``ChatSource`` whose every fetch raises ``error`` (UltraMsg being down, by default)."""

    def __init__(self, error: UpstreamError | None = None) -> None:
        self.error = error or UpstreamUnavailable("UltraMsg did not answer (a test's FailingChats)")
        self.calls = 0

    def fetch_chats(self) -> Sequence[RawChat]:
        self.calls += 1
        raise self.error


class FakeMessenger:
    """A ``MessageChannel`` in memory: canned history per chat, and every send recorded.

    ``history[chat_id]`` is what ``fetch_messages`` returns (newest first, cut to
    ``limit``); ``sent`` lists ``(chat_id, body, reference_id)`` of every send;
    ``fail_with`` (an ``UpstreamError``) makes every call raise it instead.
    """

    def __init__(self, history: Mapping[str, Sequence[RawMessage]] | None = None) -> None:
        self.history: dict[str, list[RawMessage]] = {
            chat: list(items) for chat, items in (history or {}).items()
        }
        self.sent: list[tuple[str, str, str]] = []
        self.fail_with: UpstreamError | None = None

    def fetch_messages(self, chat_id: str, limit: int) -> Sequence[RawMessage]:
        if self.fail_with is not None:
            raise self.fail_with
        return self.history.get(chat_id, [])[:limit]

    def send_text(self, chat_id: str, body: str, reference_id: str) -> SendReceipt:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((chat_id, body, reference_id))
        return SendReceipt(upstream_id=str(len(self.sent)))


class FixedClock:
    """A ``Clock`` that says ``now`` until told otherwise (``set``, ``advance``)."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        """From now on, say ``now``."""
        self.now = now

    def advance(self, delta: timedelta) -> None:
        """Move the time forward by ``delta``."""
        self.now += delta


class TickingClock:
    """A ``Clock`` that moves ``step`` forward on every call, starting at ``start``."""

    def __init__(self, start: datetime = DEFAULT_NOW, step: timedelta = timedelta(seconds=1)):
        self.next = start
        self.step = step

    def __call__(self) -> datetime:
        now, self.next = self.next, self.next + self.step
        return now


class FastHasher:
    """A ``PasswordHasher`` for tests: one SHA-256, no salt. Never for real passwords."""

    prefix = "fast-sha256$"

    def hash(self, password: str) -> str:
        return self.prefix + hashlib.sha256(password.encode("utf-8")).hexdigest()

    def verify(self, password_hash: str, password: str) -> bool:
        return hmac.compare_digest(password_hash.encode(), self.hash(password).encode())


def memory_app(
    chats: ChatSource | Iterable[ChatLike] = (),
    *,
    instance_id: str = DEFAULT_INSTANCE_ID,
    store: Store | None = None,
    clock: Clock | None = None,
    messenger: MessageChannel | None = None,
    connect: Connect | None = None,
    **settings: Any,
) -> App:
    """An ``App`` on canned chats, an ``InMemoryStore``, a ``FastHasher`` and a
    ``FakeMessenger`` (or ``messenger``).

    ``chats`` is a chat source or what ``StaticChats`` takes; ``settings`` are
    further ``Settings`` fields (e.g. ``sync_groups=False``, or ``encryption_key`` for
    stored instances); ``connect(instance_id, token)`` gives a stored instance's chat
    source (and channel), e.g. a ``StaticChats`` per instance.
    """
    source = StaticChats(chats) if isinstance(chats, Iterable) else chats
    return bootstrap(
        Settings(instance_id=instance_id, **settings),
        chats=source,
        store=store if store is not None else InMemoryStore(),
        clock=clock,
        hasher=FastHasher(),
        messenger=messenger if messenger is not None else FakeMessenger(),
        connect=connect,
    )
