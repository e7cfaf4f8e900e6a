"""Ports: the small Protocols the domain owns and the adapters implement.

``ChatSource`` is where chats come from (UltraMsg, or canned chats in tests).
``UnitOfWork`` is one database transaction with its repositories; it commits
only when told (``commit()``) and rolls back on leaving otherwise.

Visibility is a property of the read queries: ``ConversationRepository.page``
and ``.get`` take the viewer and return only what that viewer may see.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from wa_manager.domain.model import (
    Actor,
    ApiToken,
    Contact,
    ContactLink,
    Conversation,
    LinkEvent,
    Message,
    MessageStatus,
    NewContact,
    NewMessage,
    Page,
    RawChat,
    RawMessage,
    SendReceipt,
    StoredContacts,
    StoredContactState,
    SyncReport,
    SyncRun,
    User,
)


class ChatSource(Protocol):
    """Where the chat list comes from."""

    def fetch_chats(self) -> Sequence[RawChat]:
        """Every chat of the instance, in UltraMsg's order; raises ``UpstreamError``."""
        ...


@runtime_checkable
class InstanceStatusSource(Protocol):
    """Says whether the UltraMsg instance is connected to its phone."""

    def instance_status(self) -> str | None:
        """``accountStatus.status`` (``authenticated``, ``qr``, ``standby``, ``loading``),
        None when UltraMsg did not say; raises ``UpstreamError``."""
        ...


class ContactRepository(Protocol):
    """Contacts, unique by (source, wa_id)."""

    def snapshot(self, source: str) -> dict[str, StoredContactState]:
        """wa_id -> (name, vanished) of every stored contact of ``source``, in one read."""
        ...

    def sync_state(self, source: str) -> StoredContacts:
        """The same as ``snapshot``, as a sync compares it: names and vanished wa_ids."""
        ...

    def add_many(self, source: str, contacts: Sequence[NewContact], now: datetime) -> int:
        """Insert contacts, skipping any (source, wa_id) that exists; return how many were inserted.

        New contacts get ``created_at`` and ``last_seen_at`` = ``now``."""
        ...

    def rename_many(self, source: str, renames: Sequence[tuple[str, str | None]]) -> int:
        """Set new names by wa_id; return how many rows changed."""
        ...

    def set_vanished(self, source: str, wa_ids: Sequence[str], at: datetime | None) -> int:
        """Set ``vanished_at`` (None: clear it) on these contacts; return how many changed."""
        ...

    def touch(self, source: str, wa_id: str, now: datetime) -> None:
        """Note activity: ``last_seen_at`` = now and ``vanished_at`` cleared (webhooks)."""
        ...

    def get(self, contact_id: int) -> Contact | None:
        """One contact with its ``user_ids``, or None."""
        ...

    def find(
        self, source: str | None, wa_id: str | None = None, phone: str | None = None
    ) -> Contact | None:
        """The contact with this wa_id or E.164 phone (any source when ``source`` is None)."""
        ...

    def page(
        self,
        *,
        search: str | None,
        limit: int,
        before_id: int | None,
        vanished: bool | None = None,
    ) -> Page[Contact]:
        """Contacts newest first (by id), filtered by a case-insensitive substring of
        name, phone or wa_id; ``vanished`` True/False filters on ``vanished_at``."""
        ...


class ConversationRepository(Protocol):
    """The one whatsapp conversation of each contact; reads take the viewer."""

    def add_missing(self, source: str, now: datetime) -> int:
        """Give every contact of ``source`` without a conversation one; return how many."""
        ...

    def add_for(self, source: str, wa_ids: Sequence[str], now: datetime) -> int:
        """Give these contacts of ``source`` a conversation if they lack one (webhooks);
        return how many were created. Idempotent, and safe against a concurrent sync."""
        ...

    def count_missing(self, source: str) -> int:
        """How many contacts of ``source`` have no conversation (for dry runs)."""
        ...

    def page(self, viewer: Actor, *, limit: int, before_id: int | None) -> Page[Conversation]:
        """Conversations ``viewer`` may see, newest first (by id): one query."""
        ...

    def get(self, viewer: Actor, conversation_id: int) -> Conversation | None:
        """One conversation if it exists and ``viewer`` may see it, else None."""
        ...

    def id_for(self, source: str, wa_id: str) -> int | None:
        """The id of the conversation of the contact (source, wa_id), if it has one
        (for webhooks: no viewer, the system files the message)."""
        ...


class UserRepository(Protocol):
    """Team members and their password hashes."""

    def add(self, username: str, role: str, password_hash: str | None, now: datetime) -> User:
        """Create a user; raise ``AlreadyExists`` for a taken username."""
        ...

    def get(self, user_id: int) -> User | None: ...

    def by_username(self, username: str) -> User | None: ...

    def password_hash(self, user_id: int) -> str | None:
        """The stored argon2 hash, or None for a user without a password."""
        ...

    def set_password_hash(self, user_id: int, password_hash: str) -> None: ...

    def list(self) -> builtins.list[User]:
        """Every user, ordered by id."""
        ...


class TokenRepository(Protocol):
    """API tokens, stored as hashes only."""

    def add(self, user_id: int, token_hash: str, name: str, now: datetime) -> ApiToken: ...

    def user_for(self, token_hash: str, now: datetime) -> User | None:
        """The active user of a live (not revoked) token, noting ``last_used_at``; else None."""
        ...

    def revoke(self, token_id: int, now: datetime) -> bool: ...

    def list_for(self, user_id: int) -> builtins.list[ApiToken]: ...


class LinkRepository(Protocol):
    """Who may see which contact, and the audit trail of every change."""

    def add(self, contact_id: int, user_id: int, actor_id: int | None, now: datetime) -> bool:
        """Link (idempotent); record an audit event when it changed something; True if it did."""
        ...

    def remove(self, contact_id: int, user_id: int, actor_id: int | None, now: datetime) -> bool:
        """Unlink (idempotent); record an audit event when it changed something."""
        ...

    def user_ids(self, contact_id: int) -> builtins.list[int]:
        """The ids of the users linked to a contact, ascending."""
        ...

    def list(self) -> builtins.list[ContactLink]:
        """Every link, ordered by contact then user."""
        ...

    def history(self, contact_id: int) -> builtins.list[LinkEvent]:
        """The audit events of one contact, oldest first."""
        ...


class SyncRunRepository(Protocol):
    """The record of every sync."""

    def start(self, instance_id: str, trigger: str, actor_id: int | None, now: datetime) -> int: ...

    def finish(
        self, run_id: int, now: datetime, report: SyncReport | None, error: str | None
    ) -> None: ...

    def page(self, *, limit: int, before_id: int | None) -> Page[SyncRun]: ...

    def latest(self) -> SyncRun | None: ...


class MessageRepository(Protocol):
    """Messages, unique by (source, wa_message_id) once WhatsApp has named them."""

    def add_many(self, source: str, new_messages: Sequence[NewMessage]) -> int:
        """Insert messages of ``source``, skipping any whose WhatsApp id is stored;
        return how many were inserted. Safe against a concurrent insert of the same."""
        ...

    def add_outbound(
        self,
        source: str,
        conversation_id: int,
        body: str,
        *,
        sent_by_user_id: int | None,
        reference_id: str,
        idempotency_key: str | None,
        now: datetime,
    ) -> tuple[Message, bool]:
        """Store a reply as ``queued``; with an ``idempotency_key`` already used by that
        user, return their first message instead. True when it was stored now."""
        ...

    def get(self, message_id: int) -> Message | None: ...

    def by_reference(self, reference_id: str) -> Message | None:
        """The outbound message we sent with this ``referenceId``, if any."""
        ...

    def advance(self, message_id: int, status: MessageStatus, *, error: str | None = None) -> bool:
        """Move a message to ``status`` if it may (``messages.may_become``), in one
        checked update, with ``error`` (None clears it); True if it moved."""
        ...

    def tie(self, message_id: int, wa_message_id: str) -> bool:
        """Give a reply of ours the WhatsApp id UltraMsg reported for it, unless it has
        one or another message of its source holds that id; True if it was set."""
        ...

    def advance_by_wa_id(self, source: str, wa_message_id: str, status: MessageStatus) -> bool:
        """The same, for the outbound message WhatsApp knows by ``wa_message_id`` (acks)."""
        ...

    def page(self, conversation_id: int, *, limit: int, before_id: int | None) -> Page[Message]:
        """A conversation's messages, newest first by their own time (then id); the
        page after ``before_id`` starts below that message."""
        ...


class UnitOfWork(Protocol):
    """One transaction and its repositories: ``with uow: ...; uow.commit()``."""

    contacts: ContactRepository
    messages: MessageRepository
    conversations: ConversationRepository
    users: UserRepository
    tokens: TokenRepository
    links: LinkRepository
    sync_runs: SyncRunRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed, and release the connection."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def lock_sync(self, instance_id: str) -> None:
        """Take the sync lock for the rest of this transaction, or raise
        ``SyncAlreadyRunning`` at once when another transaction holds it."""
        ...


class UnitOfWorkFactory(Protocol):
    """Makes a fresh ``UnitOfWork`` per use case call."""

    def __call__(self) -> UnitOfWork: ...


class Store(Protocol):
    """A database: a factory of units of work that can also be checked and closed."""

    def __call__(self) -> UnitOfWork: ...

    def ping(self) -> None:
        """Return when the database answers; raise ``StorageError`` otherwise."""
        ...

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


class Clock(Protocol):
    """The time, injectable so tests can fix it."""

    def __call__(self) -> datetime: ...


class PasswordHasher(Protocol):
    """Hashes and checks passwords (argon2 in production)."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class MessageSource(Protocol):
    """Where a chat's message history comes from (UltraMsg's ``chats/messages``)."""

    def fetch_messages(self, chat_id: str, limit: int) -> Sequence[RawMessage]:
        """The chat's latest ``limit`` (1-1000) messages; raises ``UpstreamError``."""
        ...


class MessageSender(Protocol):
    """Sends a text message to a chat (UltraMsg's ``messages/chat``)."""

    def send_text(self, chat_id: str, body: str, reference_id: str) -> SendReceipt:
        """Hand ``body`` to UltraMsg for ``chat_id``, tagged with our ``reference_id``.

        Never repeated once UltraMsg may have received it: ``UpstreamRejected`` means
        it was not sent, ``UpstreamUnavailable`` may mean either (the message says).
        """
        ...


@runtime_checkable
class MessageChannel(MessageSource, MessageSender, Protocol):
    """Both: what the message use cases talk to (the UltraMsg client, or a test fake)."""
