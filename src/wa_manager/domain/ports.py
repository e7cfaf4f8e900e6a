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
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from wa_manager.domain.instances import StoredInstance
from wa_manager.domain.model import (
    EVERY_CONVERSATION,
    ActivityKey,
    Actor,
    ApiToken,
    BulkLinkChange,
    Contact,
    ContactLink,
    ContactSelection,
    Conversation,
    ConversationEvent,
    ConversationFilter,
    DuplicatePair,
    InstanceMembers,
    LinkEvent,
    MergedConversations,
    Message,
    MessageStatus,
    NewContact,
    NewMessage,
    Page,
    RawChat,
    RawMessage,
    SendReceipt,
    SignedInSession,
    StoredContacts,
    StoredContactState,
    SyncReport,
    SyncRun,
    Team,
    TeamEvent,
    TokenUse,
    User,
)


class ChatSource(Protocol):
    """Where the chat list comes from."""

    def fetch_chats(self) -> Sequence[RawChat]:
        """Every chat of the instance, in UltraMsg's order; raises ``UpstreamError``.

        Best a ``ChatList`` (two columns, what the sync reads whole and what a
        million chats cost least as); any sequence of ``RawChat`` works."""
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

    def seen(self, source: str, contact: NewContact, now: datetime) -> bool:
        """``add_many`` of this one contact, or ``touch`` when it exists: whether it was
        created (webhooks; on PostgreSQL one statement)."""
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
        source: str | None = None,
    ) -> Page[Contact]:
        """Contacts newest first (by id), filtered by a case-insensitive substring of
        name, phone or wa_id; ``vanished`` True/False filters on ``vanished_at``;
        ``source`` keeps the contacts of that WhatsApp number (instance id)."""
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

    def page(
        self,
        viewer: Actor,
        *,
        limit: int,
        before: ActivityKey | None,
        where: ConversationFilter = EVERY_CONVERSATION,
    ) -> Page[Conversation]:
        """Conversations ``viewer`` may see that match ``where``, by last activity newest
        first (``activity_key``), each with its ``last_message``; the page after
        ``before`` starts strictly below that key."""
        ...

    def get(self, viewer: Actor, conversation_id: int) -> Conversation | None:
        """One conversation if it exists and ``viewer`` may see it, else None."""
        ...

    def sources(self, viewer: Actor) -> builtins.list[str]:
        """The WhatsApp numbers (instance ids, the contacts' ``source``) of the
        contacts ``viewer`` may see, ascending, each once (a list's filter)."""
        ...

    def id_for(self, source: str, wa_id: str) -> int | None:
        """The id of the conversation of the contact (source, wa_id), if it has one
        (for webhooks: no viewer, the system files the message)."""
        ...

    def lock(self, conversation_id: int) -> Conversation | None:
        """The conversation as stored (no viewer: the caller checked), its row locked
        until the transaction ends so workflow changes to it happen one at a time."""
        ...

    def lock_for(self, source: str, wa_id: str) -> Conversation | None:
        """``lock`` of the conversation of the contact (source, wa_id), found by that key
        in the same statement (webhooks: ``id_for`` and ``lock`` in one)."""
        ...

    def may_see(self, user: User, conversation_id: int) -> bool:
        """Whether ``user`` may see the conversation, holding what grants it (their link)
        until the transaction ends, so a concurrent unlink waits for this one."""
        ...

    def apply(self, event: ConversationEvent) -> None:
        """Make the change ``event`` describes (its status, or its assignee) and record
        the event in the conversation's trail."""
        ...

    def events(self, conversation_id: int) -> builtins.list[ConversationEvent]:
        """The conversation's workflow trail, oldest first."""
        ...

    def hidden_assignments(self, user_id: int) -> builtins.list[int]:
        """Ids of the conversations assigned to ``user_id`` that they may no longer see,
        ascending, their rows locked (after an access change, to unassign them)."""
        ...


class UserRepository(Protocol):
    """Team members and their password hashes."""

    def add(self, username: str, role: str, password_hash: str | None, now: datetime) -> User:
        """Create a user; raise ``AlreadyExists`` for a taken username."""
        ...

    def get(self, user_id: int) -> User | None: ...

    def by_username(self, username: str) -> User | None:
        """The user with this username in any case (usernames are unique regardless of
        case), or None."""
        ...

    def password_hash(self, user_id: int) -> str | None:
        """The stored argon2 hash, or None for a user without a password."""
        ...

    def set_password_hash(self, user_id: int, password_hash: str) -> None: ...

    def list(self) -> builtins.list[User]:
        """Every user, ordered by id."""
        ...

    def lock_enabled_admins(self) -> builtins.list[int]:
        """The ids of the enabled admins, ascending, locked until the transaction ends:
        a concurrent change of any of them waits, then sees this one's outcome."""
        ...

    def update(self, user_id: int, *, role: str | None, active: bool | None) -> User | None:
        """Change the role and/or the ``active`` flag (None: keep); the user, or None."""
        ...


class TokenRepository(Protocol):
    """API tokens, stored as hashes only."""

    def add(self, user_id: int, token_hash: str, name: str, now: datetime) -> ApiToken: ...

    def user_for(self, token_hash: str, now: datetime) -> User | None:
        """The active user of a live (not revoked) token, noting ``last_used_at``; else None."""
        ...

    def revoke(self, token_id: int, now: datetime) -> bool: ...

    def list_for(self, user_id: int) -> builtins.list[ApiToken]: ...

    def get(self, token_id: int) -> ApiToken | None: ...

    def list_all(self) -> builtins.list[ApiToken]:
        """Every token of every user (revoked ones too), by id."""
        ...

    def find_live(self, token_hash: str) -> TokenUse | None:
        """A live token of an active user, without writing anything; else None."""
        ...

    def note_use(self, token_id: int, now: datetime) -> None:
        """Set the token's ``last_used_at``."""
        ...


class TeamRepository(Protocol):
    """Teams, unique by name, their members, and the audit trail of membership."""

    def add(self, name: str, now: datetime) -> Team:
        """Create a team; raise ``AlreadyExists`` for a taken name."""
        ...

    def get(self, team_id: int) -> Team | None: ...

    def by_name(self, name: str) -> Team | None: ...

    def list(self) -> builtins.list[Team]:
        """Every team with its members, ordered by id."""
        ...

    def add_member(self, team_id: int, user_id: int, actor_id: int | None, now: datetime) -> bool:
        """Add a member (idempotent); record a ``join`` event when it changed something."""
        ...

    def remove_member(
        self, team_id: int, user_id: int, actor_id: int | None, now: datetime
    ) -> bool:
        """Remove a member (idempotent); record a ``leave`` event when it changed something."""
        ...

    def history(self, team_id: int) -> builtins.list[TeamEvent]:
        """The team's membership events, oldest first."""
        ...


class InstanceMemberRepository(Protocol):
    """Members of WhatsApp numbers (instances, by id: the contacts' ``source``): users
    directly, and teams. An instance needs no row of its own (the env's default has none)."""

    def members(self, instance_id: str) -> InstanceMembers:
        """The instance's member user ids and team ids, ascending (empty when none)."""
        ...

    def list(self) -> builtins.list[InstanceMembers]:
        """Every instance with at least one member, by instance id."""
        ...

    def add_user(self, instance_id: str, user_id: int, now: datetime) -> bool:
        """Make the user a member (idempotent); True if it changed something;
        ``NotFound`` for an unknown user."""
        ...

    def remove_user(self, instance_id: str, user_id: int) -> bool:
        """Take the user's membership away (idempotent); True if it changed something."""
        ...

    def add_team(self, instance_id: str, team_id: int, now: datetime) -> bool:
        """Make the team a member (idempotent); ``NotFound`` for an unknown team."""
        ...

    def remove_team(self, instance_id: str, team_id: int) -> bool:
        """Take the team's membership away (idempotent); True if it changed something."""
        ...


class SessionRepository(Protocol):
    """Browser sessions, found by the hash of their secret (never the secret itself)."""

    def add(self, session_hash: str, user_id: int, now: datetime, expires_at: datetime) -> int:
        """Store a new session and return its id (ids are never reused)."""
        ...

    def find_live(self, session_hash: str, now: datetime) -> SignedInSession | None:
        """The session if it was not ended, has not expired, and its user is active."""
        ...

    def touch(self, session_id: int, now: datetime) -> None:
        """Set the session's ``last_seen_at``."""
        ...

    def end(self, session_hash: str, now: datetime) -> bool:
        """End a live session for good; True if it was live."""
        ...

    def end_all_for(self, user_id: int, now: datetime, *, keep_hash: str | None = None) -> int:
        """End every live session of the user but the one with ``keep_hash``; how many."""
        ...

    def prune(self, before: datetime) -> int:
        """Delete sessions that expired or ended before ``before``; how many."""
        ...


class LoginAttemptRepository(Protocol):
    """Counters of login attempts per key in fixed windows (the login throttle)."""

    def hit(self, key: str, now: datetime, window_seconds: float) -> tuple[int, datetime]:
        """Count one attempt against ``key`` atomically and return (attempts in the
        current window, when that window started). A window older than
        ``window_seconds`` starts again at ``now`` with this attempt."""
        ...

    def give_back(self, key: str) -> None:
        """Take one attempt off ``key`` (a login that succeeded); never below zero."""
        ...

    def forget(self, key: str) -> None:
        """Drop the counter of ``key``."""
        ...

    def prune(self, before: datetime, keep: int) -> int:
        """Delete counters whose window started before ``before``, then the oldest
        beyond the newest ``keep``; how many went."""
        ...


class SecretRepository(Protocol):
    """Named secrets the processes of one deployment share (the session signing key)."""

    def get_or_add(self, name: str, candidate: str, now: datetime) -> str:
        """The stored secret called ``name``; when there is none, ``candidate`` is
        stored and returned. Two processes racing both get the one that was stored."""
        ...


class LeaseRepository(Protocol):
    """Named turns shared by every process: at most one holder per period."""

    def claim(
        self, name: str, holder: str, now: datetime, period_seconds: float
    ) -> datetime | None:
        """Take the turn called ``name`` when the last one began ``period_seconds``
        ago or more, or was ``holder``'s own, atomically; None when taken, else when
        the current turn (another holder's) began."""
        ...


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
        """The audit events of one contact (user and team links), oldest first."""
        ...

    def add_team(self, contact_id: int, team_id: int, actor_id: int | None, now: datetime) -> bool:
        """Link a team (idempotent); an audit event when it changed something."""
        ...

    def remove_team(
        self, contact_id: int, team_id: int, actor_id: int | None, now: datetime
    ) -> bool:
        """Unlink a team (idempotent); an audit event when it changed something."""
        ...

    def team_ids(self, contact_id: int) -> builtins.list[int]:
        """The ids of the teams linked to a contact, ascending."""
        ...

    def count_selected(self, selection: ContactSelection) -> int:
        """How many contacts ``selection`` names (of its ids, those that exist)."""
        ...

    def bulk_change(
        self,
        selection: ContactSelection,
        change: BulkLinkChange,
        actor_id: int | None,
        now: datetime,
    ) -> int:
        """Add and remove these user and team links on every selected contact, set-based,
        with an audit event per link that changed; return how many changed."""
        ...


class IdentityRepository(Protocol):
    """Which contacts are one person: duplicate suggestions, merges and their aliases.

    A merge leaves an alias: the merged chat's (source, wa_id) names the survivor.
    ``ContactRepository.sync_state`` reports an alias as a known contact (so a sync
    never creates it again), ``set_vanished`` keeps a survivor present while one of
    its aliases is, and webhooks ask ``survivor_of`` before filing anything.
    """

    def duplicates(self) -> builtins.list[DuplicatePair]:
        """Every (pair, reason) of ``domain.identity.duplicate_pairs`` among the stored
        contacts, sorted; computed by the database at any size (indexes, no full sort)."""
        ...

    def contacts(self, contact_ids: Sequence[int]) -> dict[int, Contact]:
        """id -> contact (with its user and team links) of these ids that exist."""
        ...

    def lock(self, contact_ids: Sequence[int]) -> dict[int, Contact]:
        """The contacts of these ids that exist, their rows locked until the transaction
        ends, taken in id order (two merges never wait for each other in a circle)."""
        ...

    def merge(
        self, merged: Contact, survivor: Contact, actor_id: int | None, now: datetime
    ) -> MergedConversations | None:
        """Move everything of ``merged`` to ``survivor`` and delete ``merged``: its user and
        team links (united), link history, aliases, and its conversation, which becomes
        the survivor's or is folded into it (messages and events move, the earlier
        ``created_at``, the later last message; status and assignee left to the caller);
        ``merged``'s wa_id becomes an alias of the survivor; a ``merge`` link event.
        The survivor keeps its name and phone, taking ``merged``'s where it has none.
        The two conversations when both had one (to settle status and assignee), else None.
        """
        ...

    def survivor_of(self, source: str, wa_id: str) -> str | None:
        """The wa_id of the contact the chat (source, wa_id) was merged into, if it was."""
        ...


class SyncRunRepository(Protocol):
    """The record of every sync."""

    def start(self, instance_id: str, trigger: str, actor_id: int | None, now: datetime) -> int: ...

    def finish(
        self,
        run_id: int,
        now: datetime,
        report: SyncReport | None,
        error: str | None,
        *,
        interrupted: bool = False,
    ) -> None:
        """Record how the run ended: its report, or its error (``interrupted``: it was
        stopped, e.g. Ctrl-C, rather than failed)."""
        ...

    def unfinished_instances(self) -> builtins.list[str]:
        """The instances with a run neither finished nor marked interrupted."""
        ...

    def mark_interrupted(self, instance_id: str, now: datetime, error: str) -> int:
        """Mark every unfinished run of ``instance_id`` interrupted at ``now``; how many.
        Only for whoever holds that instance's run lock (``Store.hold_sync_run``)."""
        ...

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


class InstanceRepository(Protocol):
    """Stored UltraMsg instances (``instances``), unique by instance id and by webhook
    secret; tokens only ever sealed (``TokenCipher``)."""

    def add(self, instance: StoredInstance) -> None:
        """Store ``instance``; ``AlreadyExists`` when its id is taken."""
        ...

    def get(self, instance_id: str) -> StoredInstance | None: ...

    def list(self) -> builtins.list[StoredInstance]:
        """Every stored instance, oldest first."""
        ...

    def by_webhook_secret(self, secret: str) -> StoredInstance | None:
        """The instance whose webhook path carries ``secret``."""
        ...

    def set_sealed_token(self, instance_id: str, sealed_token: str) -> bool:
        """Replace the sealed token; False when there is no such instance."""
        ...

    def remove(self, instance_id: str) -> bool:
        """Forget the instance (its contacts, conversations and history stay); False when
        there was none."""
        ...

    def contact_counts(self) -> dict[str, int]:
        """source -> number of contacts, for every source that has any."""
        ...

    def last_syncs(self) -> dict[str, datetime]:
        """instance id -> when its last successful sync finished."""
        ...


class TokenCipher(Protocol):
    """Seals UltraMsg tokens for the database and opens them again (Fernet in production)."""

    def seal(self, token: str) -> str:
        """The token encrypted with the current key, as text."""
        ...

    def open(self, sealed: str, instance_id: str) -> str:
        """The token again; ``ConfigError`` (naming ``instance_id``, never the token) when
        no configured key opens it."""
        ...

    def reseal(self, sealed: str, instance_id: str) -> str:
        """The same token sealed with the current key (key rotation)."""
        ...


class UnitOfWork(Protocol):
    """One transaction and its repositories: ``with uow: ...; uow.commit()``."""

    contacts: ContactRepository
    messages: MessageRepository
    conversations: ConversationRepository
    users: UserRepository
    tokens: TokenRepository
    links: LinkRepository
    teams: TeamRepository
    instance_members: InstanceMemberRepository
    sync_runs: SyncRunRepository
    sessions: SessionRepository
    login_attempts: LoginAttemptRepository
    secrets: SecretRepository
    leases: LeaseRepository
    instances: InstanceRepository
    identities: IdentityRepository

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

    def lock_sync(self, instance_id: str) -> None:
        """Take the sync lock for the rest of this transaction, or raise
        ``SyncAlreadyRunning`` at once when another transaction holds it."""
        ...


class UnitOfWorkFactory(Protocol):
    """Makes a fresh ``UnitOfWork`` per use case call.

    ``read_only=True`` is for use cases that only read: such a unit of work never
    waits for a writer (on SQLite it does not take the write lock) and must not write.
    """

    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...


class Store(Protocol):
    """A database: a factory of units of work that can also be checked and closed."""

    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...

    def ping(self) -> None:
        """Return when the database answers; raise ``StorageError`` otherwise."""
        ...

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...

    def hold_sync_run(self, instance_id: str) -> AbstractContextManager[None]:
        """Hold the instance's run lock for a whole sync (fetch, write, history), or raise
        ``SyncAlreadyRunning`` at once while a live sync holds it. Its holder's death
        releases it, so an unfinished run nobody holds the lock for was interrupted."""
        ...


class SessionEnder(Protocol):
    """Ends a user's browser sessions (a password change, disable or role change)."""

    def end_sessions_of(self, user_id: int, keep: str | None = None) -> None:
        """End every session of ``user_id`` but the one whose id is ``keep``."""
        ...


class Clock(Protocol):
    """The time, injectable so tests can fix it."""

    def __call__(self) -> datetime: ...


class PasswordHasher(Protocol):
    """Hashes and checks passwords (argon2 in production)."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class PasswordPolicy(Protocol):
    """Says whether a password is too easy to guess (a common password, a pattern)."""

    def weakness(self, password: str) -> str | None:
        """Why ``password`` is too easy to guess, as a sentence fragment; None if it is not."""
        ...


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
