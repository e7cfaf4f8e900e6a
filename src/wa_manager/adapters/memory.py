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
import contextlib
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Concatenate, NamedTuple, ParamSpec, Self, TypeVar

from attrs import define, evolve, field, fields

from wa_manager.domain.aliases import StoredAlias, resolve_aliases, with_aliases
from wa_manager.domain.errors import AlreadyExists, Conflict, NotFound, SyncAlreadyRunning
from wa_manager.domain.identity import duplicate_pairs, joined
from wa_manager.domain.instances import StoredInstance
from wa_manager.domain.messages import may_become
from wa_manager.domain.model import (
    CONVERSATION_SOURCE,
    CONVERSATION_STATUS_ACTIVE,
    EVERY_CONVERSATION,
    ActivityKey,
    Actor,
    ApiToken,
    BulkLinkChange,
    Contact,
    ContactLink,
    ContactSelection,
    ContactSummary,
    Conversation,
    ConversationEvent,
    ConversationEventType,
    ConversationFilter,
    ConversationState,
    Direction,
    DuplicatePair,
    InstanceMembers,
    LinkEvent,
    MergedConversations,
    Message,
    MessagePreview,
    MessageStatus,
    NewContact,
    NewMessage,
    Page,
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
from wa_manager.domain.ports import (
    ContactRepository,
    ConversationRepository,
    IdentityRepository,
    InstanceMemberRepository,
    InstanceRepository,
    LeaseRepository,
    LinkRepository,
    LoginAttemptRepository,
    MessageRepository,
    SecretRepository,
    SessionRepository,
    SyncRunRepository,
    TeamRepository,
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


class _SessionRow(NamedTuple):
    id: int
    session_hash: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None


@define
class _Tables:
    """The whole database. Values are immutable; a copy copies the containers only."""

    contacts: dict[int, Contact] = field(factory=dict)  # user_ids left empty: see ``linked``
    contact_ids: dict[tuple[str, str], int] = field(factory=dict)  # (source, wa_id) -> id
    conversations: dict[int, _ConversationRow] = field(factory=dict)
    conversation_of: dict[int, int] = field(factory=dict)  # contact id -> conversation id
    users: dict[int, User] = field(factory=dict)
    user_ids: dict[str, int] = field(factory=dict)  # username, lower-cased -> id
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
    teams: dict[int, Team] = field(factory=dict)  # with their members' ids
    team_ids: dict[str, int] = field(factory=dict)  # name -> id
    team_events: list[TeamEvent] = field(factory=list)
    contact_teams: dict[int, frozenset[int]] = field(factory=dict)  # contact id -> team ids
    instance_users: dict[str, frozenset[int]] = field(factory=dict)  # instance -> user ids
    instance_teams: dict[str, frozenset[int]] = field(factory=dict)  # instance -> team ids
    sessions: dict[int, _SessionRow] = field(factory=dict)
    session_ids: dict[str, int] = field(factory=dict)  # session hash -> id
    login_attempts: dict[str, tuple[int, datetime]] = field(factory=dict)  # key -> (n, start)
    secrets: dict[str, str] = field(factory=dict)
    leases: dict[str, tuple[str, datetime]] = field(factory=dict)  # name -> (holder, start)
    latest_message: dict[int, int] = field(factory=dict)  # conversation id -> newest message
    conversation_events: list[ConversationEvent] = field(factory=list)
    instances: dict[str, StoredInstance] = field(factory=dict)  # instance id -> row
    # merged chat ids: (source, wa_id) -> (survivor id, merged contact id, remembered name)
    aliases: dict[tuple[str, str], tuple[int, int, str | None]] = field(factory=dict)

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

    def merge_contacts(
        self, merged_id: int, survivor_id: int, actor_id: int | None, now: datetime
    ) -> MergedConversations | None:
        """``IdentityRepository.merge`` on these tables (a no-op when either is gone)."""
        merged, survivor = self.contacts.get(merged_id), self.contacts.get(survivor_id)
        if merged is None or survivor is None:
            return None
        folded = self._fold_conversations(merged_id, survivor_id)
        for (contact_id, user_id), link in list(self.links.items()):
            if contact_id == merged_id:
                del self.links[contact_id, user_id]
                self.links.setdefault((survivor_id, user_id), evolve(link, contact_id=survivor_id))
        self.linked[survivor_id] = self.linked.get(survivor_id, frozenset()) | self.linked.pop(
            merged_id, frozenset()
        )
        self.contact_teams[survivor_id] = self.contact_teams.get(
            survivor_id, frozenset()
        ) | self.contact_teams.pop(merged_id, frozenset())
        self.link_events = [
            evolve(e, contact_id=survivor_id) if e.contact_id == merged_id else e
            for e in self.link_events
        ]
        self.link_events.append(
            LinkEvent(survivor_id, None, "merge", actor_id, now, merged_contact_id=merged_id)
        )
        for key, (contact_id, was, name) in list(self.aliases.items()):
            if contact_id == merged_id:
                self.aliases[key] = (survivor_id, was, name)
        self.aliases[merged.source, merged.wa_id] = (survivor_id, merged_id, merged.name)
        self.contacts[survivor_id] = joined(survivor, merged)
        del self.contacts[merged_id]
        del self.contact_ids[merged.source, merged.wa_id]
        return folded

    def _fold_conversations(self, merged_id: int, survivor_id: int) -> MergedConversations | None:
        theirs_id = self.conversation_of.pop(merged_id, None)
        if theirs_id is None:
            return None
        theirs = self.conversations[theirs_id]
        ours_id = self.conversation_of.get(survivor_id)
        if ours_id is None:
            self.conversations[theirs_id] = theirs._replace(contact_id=survivor_id)
            self.conversation_of[survivor_id] = theirs_id
            return None
        ours = self.conversations[ours_id]
        for message_id, message in list(self.messages.items()):
            if message.conversation_id == theirs_id:
                self.messages[message_id] = evolve(message, conversation_id=ours_id)
                self.note_latest(self.messages[message_id])
        self.latest_message.pop(theirs_id, None)
        self.conversation_events = [
            evolve(e, conversation_id=ours_id) if e.conversation_id == theirs_id else e
            for e in self.conversation_events
        ]
        del self.conversations[theirs_id]
        self.conversations[ours_id] = ours._replace(
            created_at=min(ours.created_at, theirs.created_at)
        )
        return MergedConversations(
            ConversationState(ours.id, ours.status, ours.assigned_user_id),
            ConversationState(theirs.id, theirs.status, theirs.assigned_user_id),
        )

    def rename_aliases(self, source: str, renames: Sequence[tuple[str, str | None]]) -> None:
        for wa_id, name in renames:
            known = self.aliases.get((source, wa_id))
            if known is not None:
                self.aliases[source, wa_id] = (known[0], known[1], name)

    def stored_aliases(self, source: str) -> list[StoredAlias]:
        """The aliases of ``source`` as a sync sees them."""
        return [
            StoredAlias(
                wa_id,
                name,
                self.contacts[contact_id].wa_id,
                self.contacts[contact_id].vanished_at is not None,
            )
            for (alias_source, wa_id), (contact_id, _, name) in self.aliases.items()
            if alias_source == source and contact_id in self.contacts
        ]

    def insert_user(self, user: User, password_hash: str | None) -> User:
        if user.username.lower() in self.user_ids:
            raise AlreadyExists(f"a user named {user.username!r} exists already; choose another")
        self.users[user.id] = user
        self.user_ids[user.username.lower()] = user.id
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

    def insert_session(self, row: _SessionRow) -> int:
        if row.session_hash in self.session_ids:
            raise AlreadyExists("this session exists already")
        self.sessions[row.id] = row
        self.session_ids[row.session_hash] = row.id
        return row.id

    def change_session(self, session_id: int, /, **changes: Any) -> None:
        if session_id in self.sessions:
            self.sessions[session_id] = self.sessions[session_id]._replace(**changes)

    def delete_sessions(self, session_ids: Iterable[int]) -> None:
        for session_id in session_ids:
            row = self.sessions.pop(session_id, None)
            if row is not None:
                del self.session_ids[row.session_hash]

    def hit_attempt(self, key: str, now: datetime, window_seconds: float) -> tuple[int, datetime]:
        attempts, start = self.login_attempts.get(key, (0, now))
        if start <= now - timedelta(seconds=window_seconds):
            attempts, start = 0, now
        self.login_attempts[key] = (attempts + 1, start)
        return attempts + 1, start

    def set_attempts(self, key: str, attempts: int | None) -> None:
        if attempts is None:
            self.login_attempts.pop(key, None)
        elif key in self.login_attempts:
            self.login_attempts[key] = (max(0, attempts), self.login_attempts[key][1])

    def keep_attempts(self, keys: Iterable[str]) -> None:
        kept = set(keys)
        for key in [k for k in self.login_attempts if k not in kept]:
            del self.login_attempts[key]

    def put_secret(self, name: str, value: str) -> None:
        self.secrets.setdefault(name, value)

    def put_instance(self, instance: StoredInstance) -> bool:
        if instance.instance_id in self.instances:
            return False
        self.instances[instance.instance_id] = instance
        return True

    def reseal_instance(self, instance_id: str, sealed_token: str) -> bool:
        instance = self.instances.get(instance_id)
        if instance is None:
            return False
        self.instances[instance_id] = evolve(instance, sealed_token=sealed_token)
        return True

    def drop_instance(self, instance_id: str) -> bool:
        return self.instances.pop(instance_id, None) is not None

    def claim_lease(self, name: str, holder: str, now: datetime, period_seconds: float) -> bool:
        current = self.leases.get(name)
        if (
            current is not None
            and current[0] != holder
            and current[1] > now - timedelta(seconds=period_seconds)
        ):
            return False
        self.leases[name] = (holder, now)
        return True

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

    def update_user(self, user_id: int, role: str | None, active: bool | None) -> None:
        """Checked again on replay: a change that would leave no enabled admin is a
        ``Conflict`` (what the SQL store's row locks give a concurrent change)."""
        user = self.users.get(user_id)
        if user is None:
            return
        changed = evolve(
            user,
            role=user.role if role is None else role,
            active=user.active if active is None else active,
        )
        if user.is_admin and user.active and not (changed.is_admin and changed.active):
            others = [u for u in self.users.values() if u.is_admin and u.active and u.id != user_id]
            if not others:
                raise Conflict("that would leave no enabled admin")
        self.users[user_id] = changed

    def insert_team(self, team: Team) -> Team:
        if team.name in self.team_ids:
            raise AlreadyExists(f"a team named {team.name!r} exists already; pick another name")
        self.teams[team.id] = team
        self.team_ids[team.name] = team.id
        return team

    def change_member(
        self, team_id: int, user_id: int, actor_id: int | None, now: datetime, *, add: bool
    ) -> bool:
        team = self.teams.get(team_id)
        if team is None:
            raise NotFound(f"no team with id {team_id}")
        if user_id not in self.users:
            raise NotFound(f"no user with id {user_id}")
        if (user_id in team.user_ids) == add:
            return False
        members = set(team.user_ids) | {user_id} if add else set(team.user_ids) - {user_id}
        self.teams[team_id] = evolve(team, user_ids=tuple(sorted(members)))
        action = "join" if add else "leave"
        self.team_events.append(TeamEvent(team_id, user_id, action, actor_id, now))
        return True

    def change_team_link(
        self, contact_id: int, team_id: int, actor_id: int | None, now: datetime, *, add: bool
    ) -> bool:
        if contact_id not in self.contacts:
            raise NotFound(f"no contact with id {contact_id}")
        if team_id not in self.teams:
            raise NotFound(f"no team with id {team_id}")
        linked = self.contact_teams.get(contact_id, frozenset())
        if (team_id in linked) == add:
            return False
        self.contact_teams[contact_id] = linked | {team_id} if add else linked - {team_id}
        action = "link" if add else "unlink"
        self.link_events.append(LinkEvent(contact_id, None, action, actor_id, now, team_id=team_id))
        return True

    def change_instance_member(
        self, kind: str, instance_id: str, member_id: int, *, add: bool
    ) -> bool:
        """Add or remove a ``user`` or ``team`` member of an instance; True if it changed."""
        if add and member_id not in (self.users if kind == "user" else self.teams):
            raise NotFound(f"no {kind} with id {member_id}")
        table = self.instance_users if kind == "user" else self.instance_teams
        members = table.get(instance_id, frozenset())
        if (member_id in members) == add:
            return False
        changed = members | {member_id} if add else members - {member_id}
        if changed:
            table[instance_id] = changed
        else:
            del table[instance_id]
        return True

    def bulk_change_links(
        self,
        contact_ids: Sequence[int],
        change: BulkLinkChange,
        actor_id: int | None,
        now: datetime,
    ) -> int:
        changed = 0
        for add, user_ids in ((True, change.add_user_ids), (False, change.remove_user_ids)):
            for user_id in user_ids:
                for contact_id in contact_ids:
                    changed += self.change_link(contact_id, user_id, actor_id, now, add=add)
        for add, team_ids in ((True, change.add_team_ids), (False, change.remove_team_ids)):
            for team_id in team_ids:
                for contact_id in contact_ids:
                    changed += self.change_team_link(contact_id, team_id, actor_id, now, add=add)
        return changed

    def put_sync_run(self, run: SyncRun) -> None:
        self.sync_runs[run.id] = run

    def finish_sync_run(
        self,
        run_id: int,
        now: datetime,
        report: SyncReport | None,
        error: str | None,
        *,
        interrupted: bool = False,
    ) -> None:
        if run_id in self.sync_runs:
            run = self.sync_runs[run_id]
            stopped = now if interrupted else None
            self.sync_runs[run_id] = evolve(
                run, finished_at=now, report=report, error=error, interrupted_at=stopped
            )

    def interrupt_sync_runs(self, instance_id: str, now: datetime, error: str) -> int:
        marked = 0
        for run_id, run in list(self.sync_runs.items()):
            if run.instance_id == instance_id and run.state == "running":
                self.sync_runs[run_id] = evolve(run, interrupted_at=now, error=error)
                marked += 1
        return marked

    def insert_messages(self, rows: Sequence[Message]) -> int:
        inserted = 0
        for row in rows:
            assert row.wa_message_id is not None
            key = (row.source, row.wa_message_id)
            if key not in self.message_ids and row.conversation_id in self.conversations:
                self.messages[row.id] = row
                self.message_ids[key] = row.id
                self.note_latest(row)
                inserted += 1
        return inserted

    def note_latest(self, row: Message) -> None:
        """Keep ``latest_message`` on the newest message by (own time, id)."""
        known = self.latest_message.get(row.conversation_id)
        newest = self.messages[known] if known is not None else None
        if newest is None or (row.created_at, row.id) > (newest.created_at, newest.id):
            self.latest_message[row.conversation_id] = row.id

    def apply_event(self, event: ConversationEvent) -> None:
        row = self.conversations.get(event.conversation_id)
        if row is None:
            raise NotFound(f"no conversation with id {event.conversation_id}")
        if event.type is ConversationEventType.STATUS:
            assert event.to_value is not None
            self.conversations[row.id] = row._replace(status=event.to_value)
        else:
            self.conversations[row.id] = row._replace(assigned_user_id=event.to_user_id)
        self.conversation_events.append(event)

    def insert_outbound(self, row: Message, idempotency_key: str | None) -> tuple[Message, bool]:
        key = (row.sent_by_user_id, idempotency_key) if idempotency_key is not None else None
        if key is not None and key in self.message_keys:
            return self.messages[self.message_keys[key]], False
        self.messages[row.id] = row
        self.note_latest(row)
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
        return evolve(
            row,
            user_ids=tuple(sorted(self.linked.get(contact_id, ()))),
            team_ids=tuple(sorted(self.contact_teams.get(contact_id, ()))),
        )

    def viewers_of(self, contact_id: int) -> set[int]:
        """Who may see the contact: its linked users, the members of its linked teams,
        and the members (users, and users of member teams) of its instance."""
        viewers = set(self.linked.get(contact_id, ()))
        source = self.contacts[contact_id].source
        viewers.update(self.instance_users.get(source, ()))
        teams = self.contact_teams.get(contact_id, frozenset())
        for team_id in teams | self.instance_teams.get(source, frozenset()):
            viewers.update(self.teams[team_id].user_ids)
        return viewers

    def selected(self, selection: ContactSelection) -> list[int]:
        """The ids of the contacts ``selection`` names, ascending."""
        if selection.contact_ids is not None:
            return sorted(cid for cid in set(selection.contact_ids) if cid in self.contacts)
        return sorted(
            cid
            for cid, c in self.contacts.items()
            if contact_matches(c, selection.search, selection.vanished, selection.source)
        )

    def conversation(self, row: _ConversationRow) -> Conversation:
        contact = self.contacts[row.contact_id]
        latest_id = self.latest_message.get(row.id)
        latest = self.messages[latest_id] if latest_id is not None else None
        return Conversation(
            id=row.id,
            contact=ContactSummary(
                contact.id, contact.wa_id, contact.name, contact.phone, contact.source
            ),
            status=row.status,
            source=row.source,
            assigned_user_id=row.assigned_user_id,
            created_at=row.created_at,
            last_message_at=latest.created_at if latest is not None else None,
            last_message=MessagePreview(
                latest.body, latest.type, latest.direction, latest.created_at
            )
            if latest is not None
            else None,
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


def contact_matches(
    contact: Contact, search: str | None, vanished: bool | None, source: str | None = None
) -> bool:
    """Whether a contact passes the contact list's ``search``, ``vanished`` and
    ``source`` filters."""
    if source is not None and contact.source != source:
        return False
    if vanished is not None and (contact.vanished_at is not None) != vanished:
        return False
    if not search:
        return True
    needle = search.lower()
    texts = (contact.name, contact.phone, contact.wa_id)
    return any(needle in text.lower() for text in texts if text)


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
        return with_aliases(
            StoredContacts.of(self.snapshot(source)), self._tables.stored_aliases(source)
        )

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
        aliased = [pair for pair in renames if (source, pair[0]) in self._tables.aliases]
        if aliased:
            self._uow.write(_Tables.rename_aliases, source, aliased)
            renames = [pair for pair in renames if pair not in aliased]
        return self._uow.write(_Tables.rename_contacts, source, list(renames))

    def set_vanished(self, source: str, wa_ids: Sequence[str], at: datetime | None) -> int:
        aliases = self._tables.stored_aliases(source)
        if aliases:
            wa_ids = resolve_aliases(wa_ids, aliases, vanishing=at is not None)
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

    def seen(self, source: str, contact: NewContact, now: datetime) -> bool:
        if self.add_many(source, [contact], now):
            return True
        self.touch(source, contact.wa_id, now)
        return False

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
        source: str | None = None,
    ) -> Page[Contact]:
        tables = self._tables
        page = _page(
            (
                (cid, c)
                for cid, c in tables.contacts.items()
                if contact_matches(c, search, vanished, source)
            ),
            limit,
            before_id,
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
        return may_see_contact(viewer, self._tables.viewers_of(row.contact_id))

    def _matches(self, row: _ConversationRow, where: ConversationFilter) -> bool:
        if where.status is not None and row.status != where.status:
            return False
        if where.unassigned and row.assigned_user_id is not None:
            return False
        if where.assigned_user_id is not None and row.assigned_user_id != where.assigned_user_id:
            return False
        contact = self._tables.contacts[row.contact_id]
        if where.source is not None and contact.source != where.source:
            return False
        if where.search:
            needle = where.search.lower()
            texts = (contact.name, contact.phone, contact.wa_id)
            return any(needle in text.lower() for text in texts if text)
        return True

    def page(
        self,
        viewer: Actor,
        *,
        limit: int,
        before: ActivityKey | None,
        where: ConversationFilter = EVERY_CONVERSATION,
    ) -> Page[Conversation]:
        tables = self._tables
        chosen = [
            tables.conversation(row)
            for row in tables.conversations.values()
            if self._visible(viewer, row) and self._matches(row, where)
        ]
        chosen.sort(key=lambda c: c.activity_key, reverse=True)
        if before is not None:
            chosen = [c for c in chosen if c.activity_key < before]
        items = tuple(chosen[:limit])
        more = len(chosen) > limit
        return Page(items, items[-1].id if more and items else None)

    def lock(self, conversation_id: int) -> Conversation | None:
        row = self._tables.conversations.get(conversation_id)
        return None if row is None else self._tables.conversation(row)

    def lock_for(self, source: str, wa_id: str) -> Conversation | None:
        conversation_id = self.id_for(source, wa_id)
        return None if conversation_id is None else self.lock(conversation_id)

    def may_see(self, user: User, conversation_id: int) -> bool:
        return self.get(user, conversation_id) is not None

    def apply(self, event: ConversationEvent) -> None:
        self._uow.write(_Tables.apply_event, event)

    def events(self, conversation_id: int) -> builtins.list[ConversationEvent]:
        return [e for e in self._tables.conversation_events if e.conversation_id == conversation_id]

    def hidden_assignments(self, user_id: int) -> builtins.list[int]:
        user = self._tables.users.get(user_id)
        if user is None:
            return []
        return sorted(
            row.id
            for row in self._tables.conversations.values()
            if row.assigned_user_id == user_id and not self._visible(user, row)
        )

    def id_for(self, source: str, wa_id: str) -> int | None:
        contact_id = self._tables.contact_ids.get((source, wa_id))
        return None if contact_id is None else self._tables.conversation_of.get(contact_id)

    def get(self, viewer: Actor, conversation_id: int) -> Conversation | None:
        row = self._tables.conversations.get(conversation_id)
        if row is None or not self._visible(viewer, row):
            return None
        return self._tables.conversation(row)

    def sources(self, viewer: Actor) -> builtins.list[str]:
        tables = self._tables
        return sorted(
            {
                contact.source
                for contact_id, contact in tables.contacts.items()
                if may_see_contact(viewer, tables.viewers_of(contact_id))
            }
        )


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
    """``UserRepository`` in memory; usernames are unique regardless of case."""

    def add(self, username: str, role: str, password_hash: str | None, now: datetime) -> User:
        if username.lower() in self._tables.user_ids:
            raise AlreadyExists(f"a user named {username!r} exists already; choose another")
        (user_id,) = self._uow.store.new_ids("users", 1)
        user = User(id=user_id, username=username, role=role, active=True, created_at=now)
        return self._uow.write(_Tables.insert_user, user, password_hash)

    def get(self, user_id: int) -> User | None:
        return self._tables.users.get(user_id)

    def by_username(self, username: str) -> User | None:
        user_id = self._tables.user_ids.get(username.lower())
        return None if user_id is None else self._tables.users[user_id]

    def password_hash(self, user_id: int) -> str | None:
        return self._tables.password_hashes.get(user_id)

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        self._uow.write(_Tables.set_password_hash, user_id, password_hash)

    def list(self) -> builtins.list[User]:
        return [self._tables.users[user_id] for user_id in sorted(self._tables.users)]

    def lock_enabled_admins(self) -> builtins.list[int]:
        users = self._tables.users
        return sorted(uid for uid, user in users.items() if user.is_admin and user.active)

    def update(self, user_id: int, *, role: str | None, active: bool | None) -> User | None:
        if user_id not in self._tables.users:
            return None
        self._uow.write(_Tables.update_user, user_id, role, active)
        return self._tables.users[user_id]


class MemoryTokens(_Repository):
    """``TokenRepository`` in memory: tokens are found by their hash."""

    def add(self, user_id: int, token_hash: str, name: str, now: datetime) -> ApiToken:
        if user_id not in self._tables.users:
            raise NotFound(f"no user with id {user_id}")
        (token_id,) = self._uow.store.new_ids("tokens", 1)
        token = ApiToken(id=token_id, user_id=user_id, name=name, created_at=now)
        return self._uow.write(_Tables.insert_token, token, token_hash)

    def user_for(self, token_hash: str, now: datetime) -> User | None:
        found = self.find_live(token_hash)
        if found is None:
            return None
        self.note_use(found.token_id, now)
        return found.user

    def revoke(self, token_id: int, now: datetime) -> bool:
        token = self._tables.tokens.get(token_id)
        if token is None or token.revoked_at is not None:
            return False
        self._uow.write(_Tables.revoke_token, token_id, now)
        return True

    def list_for(self, user_id: int) -> builtins.list[ApiToken]:
        tokens = self._tables.tokens
        return [tokens[tid] for tid in sorted(tokens) if tokens[tid].user_id == user_id]

    def get(self, token_id: int) -> ApiToken | None:
        return self._tables.tokens.get(token_id)

    def list_all(self) -> builtins.list[ApiToken]:
        tokens = self._tables.tokens
        return [tokens[tid] for tid in sorted(tokens)]

    def find_live(self, token_hash: str) -> TokenUse | None:
        token_id = self._tables.token_ids.get(token_hash)
        token = None if token_id is None else self._tables.tokens[token_id]
        user = None if token is None else self._tables.users.get(token.user_id)
        if token is None or token.revoked_at is not None or user is None or not user.active:
            return None
        return TokenUse(token_id=token.id, user=user, last_used_at=token.last_used_at)

    def note_use(self, token_id: int, now: datetime) -> None:
        self._uow.write(_Tables.note_token_use, token_id, now)


class MemoryTeams(_Repository):
    """``TeamRepository`` in memory: teams carry their members."""

    def add(self, name: str, now: datetime) -> Team:
        if name in self._tables.team_ids:
            raise AlreadyExists(f"a team named {name!r} exists already; pick another name")
        (team_id,) = self._uow.store.new_ids("teams", 1)
        return self._uow.write(_Tables.insert_team, Team(id=team_id, name=name, created_at=now))

    def get(self, team_id: int) -> Team | None:
        return self._tables.teams.get(team_id)

    def by_name(self, name: str) -> Team | None:
        team_id = self._tables.team_ids.get(name)
        return None if team_id is None else self._tables.teams[team_id]

    def list(self) -> builtins.list[Team]:
        return [self._tables.teams[team_id] for team_id in sorted(self._tables.teams)]

    def add_member(self, team_id: int, user_id: int, actor_id: int | None, now: datetime) -> bool:
        return self._uow.write(_Tables.change_member, team_id, user_id, actor_id, now, add=True)

    def remove_member(
        self, team_id: int, user_id: int, actor_id: int | None, now: datetime
    ) -> bool:
        return self._uow.write(_Tables.change_member, team_id, user_id, actor_id, now, add=False)

    def history(self, team_id: int) -> builtins.list[TeamEvent]:
        return [event for event in self._tables.team_events if event.team_id == team_id]


class MemoryInstanceMembers(_Repository):
    """``InstanceMemberRepository`` in memory."""

    def members(self, instance_id: str) -> InstanceMembers:
        tables = self._tables
        return InstanceMembers(
            instance_id,
            tuple(sorted(tables.instance_users.get(instance_id, ()))),
            tuple(sorted(tables.instance_teams.get(instance_id, ()))),
        )

    def list(self) -> builtins.list[InstanceMembers]:
        tables = self._tables
        return [self.members(i) for i in sorted({*tables.instance_users, *tables.instance_teams})]

    def add_user(self, instance_id: str, user_id: int, now: datetime) -> bool:
        return self._uow.write(
            _Tables.change_instance_member, "user", instance_id, user_id, add=True
        )

    def remove_user(self, instance_id: str, user_id: int) -> bool:
        return self._uow.write(
            _Tables.change_instance_member, "user", instance_id, user_id, add=False
        )

    def add_team(self, instance_id: str, team_id: int, now: datetime) -> bool:
        return self._uow.write(
            _Tables.change_instance_member, "team", instance_id, team_id, add=True
        )

    def remove_team(self, instance_id: str, team_id: int) -> bool:
        return self._uow.write(
            _Tables.change_instance_member, "team", instance_id, team_id, add=False
        )


class MemorySessions(_Repository):
    """``SessionRepository`` in memory."""

    def add(self, session_hash: str, user_id: int, now: datetime, expires_at: datetime) -> int:
        if user_id not in self._tables.users:
            raise NotFound(f"no user with id {user_id}")
        (session_id,) = self._uow.store.new_ids("sessions", 1)
        row = _SessionRow(session_id, session_hash, user_id, now, now, expires_at)
        return self._uow.write(_Tables.insert_session, row)

    def find_live(self, session_hash: str, now: datetime) -> SignedInSession | None:
        session_id = self._tables.session_ids.get(session_hash)
        row = None if session_id is None else self._tables.sessions[session_id]
        user = None if row is None else self._tables.users.get(row.user_id)
        if row is None or user is None or not user.active:
            return None
        if row.ended_at is not None or row.expires_at <= now:
            return None
        return SignedInSession(
            id=row.id,
            user=user,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
        )

    def touch(self, session_id: int, now: datetime) -> None:
        self._uow.write(_Tables.change_session, session_id, last_seen_at=now)

    def end(self, session_hash: str, now: datetime) -> bool:
        session_id = self._tables.session_ids.get(session_hash)
        if session_id is None or self._tables.sessions[session_id].ended_at is not None:
            return False
        self._uow.write(_Tables.change_session, session_id, ended_at=now)
        return True

    def end_all_for(self, user_id: int, now: datetime, *, keep_hash: str | None = None) -> int:
        ending = [
            row.id
            for row in self._tables.sessions.values()
            if row.user_id == user_id and row.ended_at is None and row.session_hash != keep_hash
        ]
        for session_id in ending:
            self._uow.write(_Tables.change_session, session_id, ended_at=now)
        return len(ending)

    def prune(self, before: datetime) -> int:
        gone = [
            row.id
            for row in self._tables.sessions.values()
            if row.expires_at < before or (row.ended_at is not None and row.ended_at < before)
        ]
        if gone:
            self._uow.write(_Tables.delete_sessions, gone)
        return len(gone)


class MemoryLoginAttempts(_Repository):
    """``LoginAttemptRepository`` in memory."""

    def hit(self, key: str, now: datetime, window_seconds: float) -> tuple[int, datetime]:
        return self._uow.write(_Tables.hit_attempt, key, now, window_seconds)

    def give_back(self, key: str) -> None:
        current = self._tables.login_attempts.get(key)
        if current is not None:
            self._uow.write(_Tables.set_attempts, key, current[0] - 1)

    def forget(self, key: str) -> None:
        self._uow.write(_Tables.set_attempts, key, None)

    def prune(self, before: datetime, keep: int) -> int:
        rows = self._tables.login_attempts
        recent = sorted((k for k in rows if rows[k][1] >= before), key=lambda k: rows[k][1])
        kept = recent[-keep:] if keep > 0 else []
        gone = len(rows) - len(kept)
        if gone:
            self._uow.write(_Tables.keep_attempts, kept)
        return gone


class MemorySecrets(_Repository):
    """``SecretRepository`` in memory."""

    def get_or_add(self, name: str, candidate: str, now: datetime) -> str:
        if name not in self._tables.secrets:
            self._uow.write(_Tables.put_secret, name, candidate)
        return self._tables.secrets[name]


class MemoryLeases(_Repository):
    """``LeaseRepository`` in memory."""

    def claim(
        self, name: str, holder: str, now: datetime, period_seconds: float
    ) -> datetime | None:
        if self._uow.write(_Tables.claim_lease, name, holder, now, period_seconds):
            return None
        return self._tables.leases[name][1]


class MemoryInstances(_Repository):
    """``InstanceRepository`` in memory."""

    def add(self, instance: StoredInstance) -> None:
        if not self._uow.write(_Tables.put_instance, instance):
            raise AlreadyExists(
                f"the instance {instance.instance_id} is stored already; "
                "`wa-manager instances set-token` changes its token"
            )

    def get(self, instance_id: str) -> StoredInstance | None:
        return self._tables.instances.get(instance_id)

    def list(self) -> builtins.list[StoredInstance]:
        return sorted(
            self._tables.instances.values(), key=lambda item: (item.created_at, item.instance_id)
        )

    def by_webhook_secret(self, secret: str) -> StoredInstance | None:
        found = (i for i in self._tables.instances.values() if i.webhook_secret == secret)
        return next(found, None)

    def set_sealed_token(self, instance_id: str, sealed_token: str) -> bool:
        return self._uow.write(_Tables.reseal_instance, instance_id, sealed_token)

    def remove(self, instance_id: str) -> bool:
        return self._uow.write(_Tables.drop_instance, instance_id)

    def contact_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for source, _ in self._tables.contact_ids:
            counts[source] = counts.get(source, 0) + 1
        return counts

    def last_syncs(self) -> dict[str, datetime]:
        latest: dict[str, datetime] = {}
        for run in self._tables.sync_runs.values():
            if run.error is None and run.finished_at is not None:
                previous = latest.get(run.instance_id)
                if previous is None or run.finished_at > previous:
                    latest[run.instance_id] = run.finished_at
        return latest


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

    def add_team(self, contact_id: int, team_id: int, actor_id: int | None, now: datetime) -> bool:
        return self._uow.write(
            _Tables.change_team_link, contact_id, team_id, actor_id, now, add=True
        )

    def remove_team(
        self, contact_id: int, team_id: int, actor_id: int | None, now: datetime
    ) -> bool:
        return self._uow.write(
            _Tables.change_team_link, contact_id, team_id, actor_id, now, add=False
        )

    def team_ids(self, contact_id: int) -> builtins.list[int]:
        return sorted(self._tables.contact_teams.get(contact_id, ()))

    def count_selected(self, selection: ContactSelection) -> int:
        return len(self._tables.selected(selection))

    def bulk_change(
        self,
        selection: ContactSelection,
        change: BulkLinkChange,
        actor_id: int | None,
        now: datetime,
    ) -> int:
        contact_ids = self._tables.selected(selection)
        return self._uow.write(_Tables.bulk_change_links, contact_ids, change, actor_id, now)


class MemoryIdentities(_Repository):
    """``IdentityRepository`` in memory: ``duplicate_pairs`` over every contact."""

    def duplicates(self) -> builtins.list[DuplicatePair]:
        return duplicate_pairs(self._tables.contacts.values())

    def contacts(self, contact_ids: Sequence[int]) -> dict[int, Contact]:
        found = (self._tables.contact(cid) for cid in sorted(set(contact_ids)))
        return {contact.id: contact for contact in found if contact is not None}

    def lock(self, contact_ids: Sequence[int]) -> dict[int, Contact]:
        return self.contacts(contact_ids)

    def merge(
        self, merged: Contact, survivor: Contact, actor_id: int | None, now: datetime
    ) -> MergedConversations | None:
        return self._uow.write(_Tables.merge_contacts, merged.id, survivor.id, actor_id, now)

    def survivor_of(self, source: str, wa_id: str) -> str | None:
        known = self._tables.aliases.get((source, wa_id))
        if known is None or known[0] not in self._tables.contacts:
            return None
        return self._tables.contacts[known[0]].wa_id


class MemorySyncRuns(_Repository):
    """``SyncRunRepository`` in memory."""

    def start(self, instance_id: str, trigger: str, actor_id: int | None, now: datetime) -> int:
        (run_id,) = self._uow.store.new_ids("sync_runs", 1)
        self._uow.write(_Tables.put_sync_run, SyncRun(run_id, instance_id, trigger, actor_id, now))
        return run_id

    def finish(
        self,
        run_id: int,
        now: datetime,
        report: SyncReport | None,
        error: str | None,
        *,
        interrupted: bool = False,
    ) -> None:
        self._uow.write(
            _Tables.finish_sync_run, run_id, now, report, error, interrupted=interrupted
        )

    def unfinished_instances(self) -> builtins.list[str]:
        runs = self._tables.sync_runs.values()
        return sorted({run.instance_id for run in runs if run.state == "running"})

    def mark_interrupted(self, instance_id: str, now: datetime, error: str) -> int:
        return self._uow.write(_Tables.interrupt_sync_runs, instance_id, now, error)

    def page(self, *, limit: int, before_id: int | None) -> Page[SyncRun]:
        return _page(self._tables.sync_runs.items(), limit, before_id)

    def latest(self) -> SyncRun | None:
        runs = self._tables.sync_runs
        return runs[max(runs)] if runs else None


_Write = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class FakeUnitOfWork:
    """A ``UnitOfWork`` over an ``InMemoryStore``; ``committed`` says whether it committed."""

    def __init__(self, store: InMemoryStore, *, read_only: bool = False) -> None:
        self.store = store
        self.read_only = read_only
        self.committed = False
        self.contacts: ContactRepository = MemoryContacts(self)
        self.conversations: ConversationRepository = MemoryConversations(self)
        self.users: UserRepository = MemoryUsers(self)
        self.tokens: TokenRepository = MemoryTokens(self)
        self.links: LinkRepository = MemoryLinks(self)
        self.teams: TeamRepository = MemoryTeams(self)
        self.instance_members: InstanceMemberRepository = MemoryInstanceMembers(self)
        self.sync_runs: SyncRunRepository = MemorySyncRuns(self)
        self.messages: MessageRepository = MemoryMessages(self)
        self.sessions: SessionRepository = MemorySessions(self)
        self.login_attempts: LoginAttemptRepository = MemoryLoginAttempts(self)
        self.secrets: SecretRepository = MemorySecrets(self)
        self.leases: LeaseRepository = MemoryLeases(self)
        self.instances: InstanceRepository = MemoryInstances(self)
        self.identities: IdentityRepository = MemoryIdentities(self)
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
        if self.read_only:
            raise RuntimeError("a read-only unit of work must not write")
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
        self._end_transaction()

    def commit(self) -> None:
        """Publish every write so far; the unit of work can go on with fresh reads."""
        if self._log:
            assert self._base is not None
            assert self._work is not None
            self.store.publish(self._base, self._work, self._log)
        self.committed = True
        self._end_transaction()

    def lock_sync(self, instance_id: str) -> None:
        """Hold the sync lock of ``instance_id`` until commit or the end of the unit of work."""
        self.store.acquire_sync_lock(instance_id, self)
        self._sync_locks.add(instance_id)

    def _end_transaction(self) -> None:
        """Forget every write since the last commit and release the sync locks."""
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
        self._running: set[str] = set()  # instances whose run lock is held

    def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self, read_only=read_only)
        self.recent_units.append(uow)
        return uow

    def ping(self) -> None:
        """Always answers: memory does not go away."""

    def close(self) -> None:
        """Note that the owner is done with the store."""
        self.closed = True

    @contextlib.contextmanager
    def hold_sync_run(self, instance_id: str) -> Iterator[None]:
        """The run lock of ``instance_id`` while the block runs, or ``SyncAlreadyRunning``."""
        with self._lock:
            held = instance_id in self._running
            self._running.add(instance_id)
        if held:
            raise SyncAlreadyRunning(
                f"a sync of {instance_id} is already running; wait for it to finish and retry"
            )
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(instance_id)

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
