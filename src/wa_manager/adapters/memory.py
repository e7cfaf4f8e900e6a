"""In-memory adapters: a ``Store`` whose database is a handful of dicts.

Used by our unit tests and, through ``wa_manager.testing``, by other projects'.
It follows the port docstrings of ``wa_manager.domain.ports`` to the letter, so
the same store contract tests run against it and against SQL.

How transactions work here:

- the published database is a ``_Tables`` value that is never changed in place;
- a ``FakeUnitOfWork`` reads the latest published tables until its first write,
  then works on its own shallow copy and logs every write it makes;
- ``commit()`` publishes, under the store's lock: the copy itself when nobody
  else committed meanwhile, else the log replayed onto the latest tables (so two
  concurrent units of work never lose each other's writes, and replayed inserts
  skip what appeared meanwhile, like the database's unique constraints do);
- leaving without ``commit()`` discards the copy and the log.

Ids come from per-table counters shared by all units of work: ascending from 1,
never reused, with gaps after a rollback (like a PostgreSQL sequence).
"""

from __future__ import annotations

import builtins
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Concatenate, NamedTuple, ParamSpec, Self, TypeVar

from attrs import define, evolve, field, fields

from wa_manager.domain.errors import AlreadyExists, NotFound, SyncAlreadyRunning
from wa_manager.domain.messages import may_become
from wa_manager.domain.model import (
    CONVERSATION_SOURCE,
    CONVERSATION_STATUS_ACTIVE,
    Actor,
    ApiToken,
    Contact,
    ContactLink,
    ContactSummary,
    Conversation,
    Direction,
    LinkEvent,
    Message,
    MessageStatus,
    NewContact,
    NewMessage,
    Page,
    StoredContacts,
    StoredContactState,
    SyncReport,
    SyncRun,
    User,
)
from wa_manager.domain.ports import (
    ContactRepository,
    ConversationRepository,
    LinkRepository,
    MessageRepository,
    SyncRunRepository,
    TokenRepository,
    UserRepository,
)
from wa_manager.domain.rules import may_see_contact

P = ParamSpec("P")
T = TypeVar("T")

RECENT_UNITS_KEPT = 100


class _ConversationRow(NamedTuple):
    id: int
    contact_id: int
    status: str
    source: str
    assigned_user_id: int | None
    created_at: datetime


@define
class _Tables:
    """The whole database. Values are immutable; a copy copies the containers only."""

    contacts: dict[int, Contact] = field(factory=dict)  # user_ids left empty: see ``linked``
    contact_ids: dict[tuple[str, str], int] = field(factory=dict)  # (source, wa_id) -> id
    conversations: dict[int, _ConversationRow] = field(factory=dict)
    conversation_of: dict[int, int] = field(factory=dict)  # contact id -> conversation id
    users: dict[int, User] = field(factory=dict)
    user_ids: dict[str, int] = field(factory=dict)  # username -> id
    password_hashes: dict[int, str | None] = field(factory=dict)
    tokens: dict[int, ApiToken] = field(factory=dict)
    token_ids: dict[str, int] = field(factory=dict)  # token hash -> id
    links: dict[tuple[int, int], ContactLink] = field(factory=dict)
    linked: dict[int, frozenset[int]] = field(factory=dict)  # contact id -> user ids
    link_events: list[LinkEvent] = field(factory=list)
    sync_runs: dict[int, SyncRun] = field(factory=dict)
    messages: dict[int, Message] = field(factory=dict)
    message_ids: dict[tuple[str, str], int] = field(factory=dict)  # (source, wa id) -> id
    message_refs: dict[str, int] = field(factory=dict)  # reference id -> id
    message_keys: dict[tuple[int | None, str], int] = field(factory=dict)  # idempotency

    def copy(self) -> _Tables:
        return _Tables(**{f.name: getattr(self, f.name).copy() for f in fields(_Tables)})

    # -- writes: each is deterministic, so that a commit can replay it --------

    def insert_contacts(self, rows: Sequence[Contact]) -> int:
        inserted = 0
        for row in rows:
            key = (row.source, row.wa_id)
            if key not in self.contact_ids:
                self.contacts[row.id] = row
                self.contact_ids[key] = row.id
                inserted += 1
        return inserted

    def update_contacts(
        self, source: str, wa_ids: Iterable[str], change: Callable[[Contact], Contact]
    ) -> int:
        changed = 0
        for wa_id in wa_ids:
            contact_id = self.contact_ids.get((source, wa_id))
            if contact_id is None:
                continue
            old = self.contacts[contact_id]
            new = change(old)
            if new != old:
                self.contacts[contact_id] = new
                changed += 1
        return changed

    def rename_contacts(self, source: str, renames: Sequence[tuple[str, str | None]]) -> int:
        new_names = dict(renames)
        return self.update_contacts(
            source, new_names, lambda contact: evolve(contact, name=new_names[contact.wa_id])
        )

    def insert_conversations(self, rows: Sequence[_ConversationRow]) -> int:
        inserted = 0
        for row in rows:
            if row.contact_id in self.contacts and row.contact_id not in self.conversation_of:
                self.conversations[row.id] = row
                self.conversation_of[row.contact_id] = row.id
                inserted += 1
        return inserted

    def insert_user(self, user: User, password_hash: str | None) -> User:
        if user.username in self.user_ids:
            raise AlreadyExists(f"a user named {user.username!r} exists already; choose another")
        self.users[user.id] = user
        self.user_ids[user.username] = user.id
        self.password_hashes[user.id] = password_hash
        return user

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        if user_id in self.users:
            self.password_hashes[user_id] = password_hash

    def insert_token(self, token: ApiToken, token_hash: str) -> ApiToken:
        if token_hash in self.token_ids:
            raise AlreadyExists("this API token exists already")
        self.tokens[token.id] = token
        self.token_ids[token_hash] = token.id
        return token

    def note_token_use(self, token_id: int, now: datetime) -> None:
        if token_id in self.tokens:
            self.tokens[token_id] = evolve(self.tokens[token_id], last_used_at=now)

    def revoke_token(self, token_id: int, now: datetime) -> None:
        token = self.tokens.get(token_id)
        if token is not None and token.revoked_at is None:
            self.tokens[token_id] = evolve(token, revoked_at=now)

    def change_link(
        self, contact_id: int, user_id: int, actor_id: int | None, now: datetime, *, add: bool
    ) -> bool:
        if contact_id not in self.contacts:
            raise NotFound(f"no contact with id {contact_id}")
        if user_id not in self.users:
            raise NotFound(f"no user with id {user_id}")
        key = (contact_id, user_id)
        if (key in self.links) == add:
            return False
        users = self.linked.get(contact_id, frozenset())
        if add:
            self.links[key] = ContactLink(contact_id, user_id, actor_id, now)
            self.linked[contact_id] = users | {user_id}
        else:
            del self.links[key]
            self.linked[contact_id] = users - {user_id}
        action = "link" if add else "unlink"
        self.link_events.append(LinkEvent(contact_id, user_id, action, actor_id, now))
        return True

    def put_sync_run(self, run: SyncRun) -> None:
        self.sync_runs[run.id] = run

    def finish_sync_run(
        self, run_id: int, now: datetime, report: SyncReport | None, error: str | None
    ) -> None:
        if run_id in self.sync_runs:
            run = self.sync_runs[run_id]
            self.sync_runs[run_id] = evolve(run, finished_at=now, report=report, error=error)

    def insert_messages(self, rows: Sequence[Message]) -> int:
        inserted = 0
        for row in rows:
            assert row.wa_message_id is not None
            key = (row.source, row.wa_message_id)
            if key not in self.message_ids and row.conversation_id in self.conversations:
                self.messages[row.id] = row
                self.message_ids[key] = row.id
                inserted += 1
        return inserted

    def insert_outbound(self, row: Message, idempotency_key: str | None) -> tuple[Message, bool]:
        key = (row.sent_by_user_id, idempotency_key) if idempotency_key is not None else None
        if key is not None and key in self.message_keys:
            return self.messages[self.message_keys[key]], False
        self.messages[row.id] = row
        assert row.reference_id is not None
        self.message_refs[row.reference_id] = row.id
        if key is not None:
            self.message_keys[key] = row.id
        return row, True

    def advance_message(self, message_id: int, status: MessageStatus, error: str | None) -> bool:
        row = self.messages.get(message_id)
        if row is None or not may_become(row.status, status):
            return False
        self.messages[message_id] = evolve(row, status=status, error=error)
        return True

    def tie_message(self, message_id: int, wa_message_id: str) -> bool:
        row = self.messages.get(message_id)
        key = (row.source, wa_message_id) if row is not None else None
        if row is None or row.wa_message_id is not None or key in self.message_ids:
            return False
        assert key is not None
        self.message_ids[key] = message_id
        self.messages[message_id] = evolve(row, wa_message_id=wa_message_id)
        return True

    # -- reads ------------------------------------------------------------------

    def contact(self, contact_id: int) -> Contact | None:
        row = self.contacts.get(contact_id)
        if row is None:
            return None
        return evolve(row, user_ids=tuple(sorted(self.linked.get(contact_id, ()))))

    def conversation(self, row: _ConversationRow) -> Conversation:
        contact = self.contacts[row.contact_id]
        return Conversation(
            id=row.id,
            contact=ContactSummary(contact.id, contact.wa_id, contact.name, contact.phone),
            status=row.status,
            source=row.source,
            assigned_user_id=row.assigned_user_id,
            created_at=row.created_at,
        )


def _page(items_by_id: Iterable[tuple[int, T]], limit: int, before_id: int | None) -> Page[T]:
    """Newest first by id: at most ``limit`` items with ids below ``before_id``."""
    newest_first = sorted(
        (pair for pair in items_by_id if before_id is None or pair[0] < before_id),
        key=lambda pair: pair[0],
        reverse=True,
    )
    chosen = newest_first[:limit]
    more = len(newest_first) > limit
    return Page(
        items=tuple(item for _, item in chosen),
        next_before_id=chosen[-1][0] if more and chosen else None,
    )


class _Repository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def _tables(self) -> _Tables:
        return self._uow.tables


class MemoryContacts(_Repository):
    """``ContactRepository`` in memory."""

    def snapshot(self, source: str) -> dict[str, StoredContactState]:
        return {
            c.wa_id: StoredContactState(c.name, c.vanished_at is not None)
            for c in self._tables.contacts.values()
            if c.source == source
        }

    def sync_state(self, source: str) -> StoredContacts:
        return StoredContacts.of(self.snapshot(source))

    def add_many(self, source: str, contacts: Sequence[NewContact], now: datetime) -> int:
        known = self._tables.contact_ids
        fresh = list({c.wa_id: c for c in contacts if (source, c.wa_id) not in known}.values())
        ids = self._uow.store.new_ids("contacts", len(fresh))
        rows = [
            Contact(
                id=contact_id,
                source=source,
                wa_id=new.wa_id,
                name=new.name,
                phone=new.phone,
                kind=new.kind,
                created_at=now,
                last_seen_at=now,
            )
            for contact_id, new in zip(ids, fresh, strict=True)
        ]
        return self._uow.write(_Tables.insert_contacts, rows)

    def rename_many(self, source: str, renames: Sequence[tuple[str, str | None]]) -> int:
        return self._uow.write(_Tables.rename_contacts, source, list(renames))

    def set_vanished(self, source: str, wa_ids: Sequence[str], at: datetime | None) -> int:
        return self._uow.write(
            _Tables.update_contacts, source, list(wa_ids), lambda c: evolve(c, vanished_at=at)
        )

    def touch(self, source: str, wa_id: str, now: datetime) -> None:
        self._uow.write(
            _Tables.update_contacts,
            source,
            [wa_id],
            lambda c: evolve(c, last_seen_at=now, vanished_at=None),
        )

    def get(self, contact_id: int) -> Contact | None:
        return self._tables.contact(contact_id)

    def find(
        self, source: str | None, wa_id: str | None = None, phone: str | None = None
    ) -> Contact | None:
        if wa_id is None and phone is None:
            return None
        for contact_id in sorted(self._tables.contacts):
            c = self._tables.contacts[contact_id]
            if source is not None and c.source != source:
                continue
            if (wa_id is not None and c.wa_id == wa_id) or (phone is not None and c.phone == phone):
                return self._tables.contact(contact_id)
        return None

    def page(
        self,
        *,
        search: str | None,
        limit: int,
        before_id: int | None,
        vanished: bool | None = None,
    ) -> Page[Contact]:
        needle = search.lower() if search else None

        def wanted(c: Contact) -> bool:
            if vanished is not None and (c.vanished_at is not None) != vanished:
                return False
            if needle is None:
                return True
            return any(needle in text.lower() for text in (c.name, c.phone, c.wa_id) if text)

        tables = self._tables
        page = _page(
            ((cid, c) for cid, c in tables.contacts.items() if wanted(c)), limit, before_id
        )
        linked = (tables.contact(c.id) for c in page.items)
        return Page(tuple(c for c in linked if c is not None), page.next_before_id)


class MemoryConversations(_Repository):
    """``ConversationRepository`` in memory; reads show only what the viewer may see."""

    def _lacking(self, source: str, wa_ids: Iterable[str] | None = None) -> list[int]:
        tables = self._tables
        if wa_ids is None:
            candidates = [cid for cid, c in tables.contacts.items() if c.source == source]
        else:
            found = (tables.contact_ids.get((source, wa_id)) for wa_id in wa_ids)
            candidates = [cid for cid in found if cid is not None]
        return sorted({cid for cid in candidates if cid not in tables.conversation_of})

    def _add(self, contact_ids: list[int], now: datetime) -> int:
        ids = self._uow.store.new_ids("conversations", len(contact_ids))
        rows = [
            _ConversationRow(
                id=conversation_id,
                contact_id=contact_id,
                status=CONVERSATION_STATUS_ACTIVE,
                source=CONVERSATION_SOURCE,
                assigned_user_id=None,
                created_at=now,
            )
            for conversation_id, contact_id in zip(ids, contact_ids, strict=True)
        ]
        return self._uow.write(_Tables.insert_conversations, rows)

    def add_missing(self, source: str, now: datetime) -> int:
        return self._add(self._lacking(source), now)

    def add_for(self, source: str, wa_ids: Sequence[str], now: datetime) -> int:
        return self._add(self._lacking(source, wa_ids), now)

    def count_missing(self, source: str) -> int:
        return len(self._lacking(source))

    def _visible(self, viewer: Actor, row: _ConversationRow) -> bool:
        return may_see_contact(viewer, self._tables.linked.get(row.contact_id, ()))

    def page(self, viewer: Actor, *, limit: int, before_id: int | None) -> Page[Conversation]:
        tables = self._tables
        page = _page(
            ((cid, row) for cid, row in tables.conversations.items() if self._visible(viewer, row)),
            limit,
            before_id,
        )
        return Page(tuple(tables.conversation(row) for row in page.items), page.next_before_id)

    def id_for(self, source: str, wa_id: str) -> int | None:
        contact_id = self._tables.contact_ids.get((source, wa_id))
        return None if contact_id is None else self._tables.conversation_of.get(contact_id)

    def get(self, viewer: Actor, conversation_id: int) -> Conversation | None:
        row = self._tables.conversations.get(conversation_id)
        if row is None or not self._visible(viewer, row):
            return None
        return self._tables.conversation(row)


class MemoryMessages(_Repository):
    """``MessageRepository`` in memory."""

    def add_many(self, source: str, new_messages: Sequence[NewMessage]) -> int:
        tables = self._tables
        fresh = list(
            {
                m.wa_message_id: m
                for m in new_messages
                if (source, m.wa_message_id) not in tables.message_ids
                and m.conversation_id in tables.conversations
            }.values()
        )
        ids = self._uow.store.new_ids("messages", len(fresh))
        rows = [
            Message(
                id=message_id,
                conversation_id=new.conversation_id,
                source=source,
                wa_message_id=new.wa_message_id,
                direction=new.direction,
                type=new.type,
                body=new.body,
                media_url=new.media_url,
                author=new.author,
                sender_name=new.sender_name,
                status=new.status,
                error=None,
                sent_by_user_id=None,
                created_at=new.created_at,
            )
            for message_id, new in zip(ids, fresh, strict=True)
        ]
        return self._uow.write(_Tables.insert_messages, rows)

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
        if conversation_id not in self._tables.conversations:
            raise NotFound(f"no conversation with id {conversation_id}")
        (message_id,) = self._uow.store.new_ids("messages", 1)
        row = Message(
            id=message_id,
            conversation_id=conversation_id,
            source=source,
            wa_message_id=None,
            direction=Direction.OUT,
            type="chat",
            body=body,
            media_url=None,
            author=None,
            sender_name=None,
            status=MessageStatus.QUEUED,
            error=None,
            sent_by_user_id=sent_by_user_id,
            created_at=now,
            reference_id=reference_id,
        )
        return self._uow.write(_Tables.insert_outbound, row, idempotency_key)

    def get(self, message_id: int) -> Message | None:
        return self._tables.messages.get(message_id)

    def by_reference(self, reference_id: str) -> Message | None:
        message_id = self._tables.message_refs.get(reference_id)
        return None if message_id is None else self._tables.messages[message_id]

    def advance(self, message_id: int, status: MessageStatus, *, error: str | None = None) -> bool:
        return self._uow.write(_Tables.advance_message, message_id, status, error)

    def tie(self, message_id: int, wa_message_id: str) -> bool:
        return self._uow.write(_Tables.tie_message, message_id, wa_message_id)

    def advance_by_wa_id(self, source: str, wa_message_id: str, status: MessageStatus) -> bool:
        message_id = self._tables.message_ids.get((source, wa_message_id))
        if message_id is None or self._tables.messages[message_id].direction is not Direction.OUT:
            return False
        return self.advance(message_id, status)

    def page(self, conversation_id: int, *, limit: int, before_id: int | None) -> Page[Message]:
        rows = [m for m in self._tables.messages.values() if m.conversation_id == conversation_id]
        rows.sort(key=lambda m: (m.created_at, m.id), reverse=True)
        if before_id is not None:
            start = self._tables.messages.get(before_id)
            if start is None or start.conversation_id != conversation_id:
                return Page((), None)
            rows = [m for m in rows if (m.created_at, m.id) < (start.created_at, start.id)]
        chosen = rows[:limit]
        more = len(rows) > limit
        return Page(tuple(chosen), chosen[-1].id if more and chosen else None)


class MemoryUsers(_Repository):
    """``UserRepository`` in memory; usernames are unique, case-sensitive."""

    def add(self, username: str, role: str, password_hash: str | None, now: datetime) -> User:
        if username in self._tables.user_ids:
            raise AlreadyExists(f"a user named {username!r} exists already; choose another")
        (user_id,) = self._uow.store.new_ids("users", 1)
        user = User(id=user_id, username=username, role=role, active=True, created_at=now)
        return self._uow.write(_Tables.insert_user, user, password_hash)

    def get(self, user_id: int) -> User | None:
        return self._tables.users.get(user_id)

    def by_username(self, username: str) -> User | None:
        user_id = self._tables.user_ids.get(username)
        return None if user_id is None else self._tables.users[user_id]

    def password_hash(self, user_id: int) -> str | None:
        return self._tables.password_hashes.get(user_id)

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        self._uow.write(_Tables.set_password_hash, user_id, password_hash)

    def list(self) -> builtins.list[User]:
        return [self._tables.users[user_id] for user_id in sorted(self._tables.users)]


class MemoryTokens(_Repository):
    """``TokenRepository`` in memory: tokens are found by their hash."""

    def add(self, user_id: int, token_hash: str, name: str, now: datetime) -> ApiToken:
        if user_id not in self._tables.users:
            raise NotFound(f"no user with id {user_id}")
        (token_id,) = self._uow.store.new_ids("tokens", 1)
        token = ApiToken(id=token_id, user_id=user_id, name=name, created_at=now)
        return self._uow.write(_Tables.insert_token, token, token_hash)

    def user_for(self, token_hash: str, now: datetime) -> User | None:
        token_id = self._tables.token_ids.get(token_hash)
        if token_id is None:
            return None
        token = self._tables.tokens[token_id]
        user = self._tables.users.get(token.user_id)
        if token.revoked_at is not None or user is None or not user.active:
            return None
        self._uow.write(_Tables.note_token_use, token_id, now)
        return user

    def revoke(self, token_id: int, now: datetime) -> bool:
        token = self._tables.tokens.get(token_id)
        if token is None or token.revoked_at is not None:
            return False
        self._uow.write(_Tables.revoke_token, token_id, now)
        return True

    def list_for(self, user_id: int) -> builtins.list[ApiToken]:
        tokens = self._tables.tokens
        return [tokens[tid] for tid in sorted(tokens) if tokens[tid].user_id == user_id]


class MemoryLinks(_Repository):
    """``LinkRepository`` in memory, with its audit trail."""

    def add(self, contact_id: int, user_id: int, actor_id: int | None, now: datetime) -> bool:
        return self._uow.write(_Tables.change_link, contact_id, user_id, actor_id, now, add=True)

    def remove(self, contact_id: int, user_id: int, actor_id: int | None, now: datetime) -> bool:
        return self._uow.write(_Tables.change_link, contact_id, user_id, actor_id, now, add=False)

    def user_ids(self, contact_id: int) -> builtins.list[int]:
        return sorted(self._tables.linked.get(contact_id, ()))

    def list(self) -> builtins.list[ContactLink]:
        return [self._tables.links[key] for key in sorted(self._tables.links)]

    def history(self, contact_id: int) -> builtins.list[LinkEvent]:
        return [event for event in self._tables.link_events if event.contact_id == contact_id]


class MemorySyncRuns(_Repository):
    """``SyncRunRepository`` in memory."""

    def start(self, instance_id: str, trigger: str, actor_id: int | None, now: datetime) -> int:
        (run_id,) = self._uow.store.new_ids("sync_runs", 1)
        self._uow.write(_Tables.put_sync_run, SyncRun(run_id, instance_id, trigger, actor_id, now))
        return run_id

    def finish(
        self, run_id: int, now: datetime, report: SyncReport | None, error: str | None
    ) -> None:
        self._uow.write(_Tables.finish_sync_run, run_id, now, report, error)

    def page(self, *, limit: int, before_id: int | None) -> Page[SyncRun]:
        return _page(self._tables.sync_runs.items(), limit, before_id)

    def latest(self) -> SyncRun | None:
        runs = self._tables.sync_runs
        return runs[max(runs)] if runs else None


_Write = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class FakeUnitOfWork:
    """A ``UnitOfWork`` over an ``InMemoryStore``; ``committed`` says whether it committed."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.committed = False
        self.contacts: ContactRepository = MemoryContacts(self)
        self.conversations: ConversationRepository = MemoryConversations(self)
        self.users: UserRepository = MemoryUsers(self)
        self.tokens: TokenRepository = MemoryTokens(self)
        self.links: LinkRepository = MemoryLinks(self)
        self.sync_runs: SyncRunRepository = MemorySyncRuns(self)
        self.messages: MessageRepository = MemoryMessages(self)
        self._base: _Tables | None = None  # the published tables this unit of work reads
        self._work: _Tables | None = None  # its private copy, from the first write on
        self._log: list[_Write] = []
        self._sync_locks: set[str] = set()

    @property
    def tables(self) -> _Tables:
        """What this unit of work sees: its own copy once it wrote, else the published tables."""
        if self._work is not None:
            return self._work
        if self._base is None:
            self._base = self.store.published
        return self._base

    @property
    def writes(self) -> int:
        """How many writes are waiting for ``commit()``."""
        return len(self._log)

    def write(
        self, op: Callable[Concatenate[_Tables, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Apply one write to this unit of work's copy and log it for ``commit()``."""
        if self._work is None:
            self._work = self.tables.copy()
        result = op(self._work, *args, **kwargs)
        self._log.append((op, args, kwargs))
        return result

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        """Publish every write so far; the unit of work can go on with fresh reads."""
        if self._log:
            assert self._base is not None
            assert self._work is not None
            self.store.publish(self._base, self._work, self._log)
        self.committed = True
        self._end_transaction()

    def rollback(self) -> None:
        """Forget every write since the last commit."""
        self._end_transaction()

    def lock_sync(self, instance_id: str) -> None:
        """Hold the sync lock of ``instance_id`` until commit or rollback."""
        self.store.acquire_sync_lock(instance_id, self)
        self._sync_locks.add(instance_id)

    def _end_transaction(self) -> None:
        self._base = self._work = None
        self._log = []
        self.store.release_sync_locks(self._sync_locks, self)
        self._sync_locks = set()


class InMemoryStore:
    """A ``Store`` in memory: call it for a new ``FakeUnitOfWork``.

    ``recent_units`` keeps the last units of work it made (newest last), so tests
    can assert on ``committed``; ``closed`` says whether ``close()`` was called
    (the data stays readable: there is nothing to release).
    """

    def __init__(self) -> None:
        self.published = _Tables()
        self.closed = False
        self.recent_units: deque[FakeUnitOfWork] = deque(maxlen=RECENT_UNITS_KEPT)
        self._lock = threading.Lock()
        self._counters: dict[str, itertools.count[int]] = {}
        self._sync_holders: dict[str, FakeUnitOfWork] = {}

    def __call__(self) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self)
        self.recent_units.append(uow)
        return uow

    def ping(self) -> None:
        """Always answers: memory does not go away."""

    def close(self) -> None:
        """Note that the owner is done with the store."""
        self.closed = True

    def new_ids(self, table: str, how_many: int) -> list[int]:
        """Reserve ``how_many`` fresh ids of ``table``, ascending; never handed out twice."""
        with self._lock:
            counter = self._counters.setdefault(table, itertools.count(1))
            return [next(counter) for _ in range(how_many)]

    def publish(self, base: _Tables, work: _Tables, log: Sequence[_Write]) -> None:
        """Make a unit of work's writes the published tables (see the module docstring)."""
        with self._lock:
            if self.published is base:
                self.published = work
                return
            latest = self.published.copy()
            for op, args, kwargs in log:
                op(latest, *args, **kwargs)
            self.published = latest

    def acquire_sync_lock(self, instance_id: str, uow: FakeUnitOfWork) -> None:
        """Give ``uow`` the sync lock of ``instance_id``, or raise ``SyncAlreadyRunning``."""
        with self._lock:
            holder = self._sync_holders.setdefault(instance_id, uow)
        if holder is not uow:
            raise SyncAlreadyRunning(
                f"a sync of {instance_id} is already running; wait for it to finish and retry"
            )

    def release_sync_locks(self, instance_ids: Iterable[str], uow: FakeUnitOfWork) -> None:
        """Let go of the sync locks ``uow`` holds."""
        with self._lock:
            for instance_id in instance_ids:
                if self._sync_holders.get(instance_id) is uow:
                    del self._sync_holders[instance_id]
