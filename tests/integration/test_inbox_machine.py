"""The inbox workflow as a state machine, on the memory store, SQLite and PostgreSQL.

Hypothesis links and unlinks people, assigns and unassigns conversations (as admins
and as users, allowed or not), changes statuses, lets messages arrive (in, at any
time, old or new) and members reply. A plain model says what must happen. After
every step:

- no conversation is assigned to someone who may not see it;
- each conversation's status and assignee are the model's, and its event trail is
  exactly the model's list of changes (every change recorded, nothing else);
- every viewer's list, page by page and with each filter, is the brute-force
  answer: what they may see, filtered, by last activity newest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from tests.conftest import migrated_url

from wa_manager import App
from wa_manager.adapters.memory import InMemoryStore
from wa_manager.adapters.sql import SqlStore, upgrade
from wa_manager.domain.errors import InvalidInput, NotFound, PermissionDenied
from wa_manager.domain.model import (
    CLI,
    WEBHOOK,
    ActivityKey,
    Conversation,
    ConversationEvent,
    ConversationEventType,
    User,
)
from wa_manager.domain.ports import Store
from wa_manager.testing import DEFAULT_NOW, TickingClock, memory_app

CONTACTS = 3
MEMBERS = ("boss", "u0", "u1")  # boss is an admin
STATUSES = ("active", "pending", "resolved")
CHATS = [{"id": f"49151000000{n}@c.us", "name": f"Person {n}"} for n in range(CONTACTS)]
EARLIEST = DEFAULT_NOW - timedelta(days=2)

Event = tuple[str, str | int | None, str | int | None, int | None]


class InboxMachine(RuleBasedStateMachine):
    """One app on one store; the model beside it."""

    store: Store

    def __init__(self) -> None:
        super().__init__()
        self.app: App = memory_app(
            CHATS, store=self.store, clock=TickingClock(DEFAULT_NOW, timedelta(seconds=1))
        )
        self.app.sync()
        self.users: list[User] = [
            self.app.add_user(name, "admin" if name == "boss" else "user") for name in MEMBERS
        ]
        found = self.app.conversations.all(CLI)
        self.ids = sorted(c.id for c in found)
        self.contact_of = {c.id: c.contact.id for c in found}
        self.chat_of = {c.id: c.contact.wa_id for c in found}
        self.created = {c.id: c.activity_at for c in found}
        self.linked: dict[int, set[int]] = {cid: set() for cid in self.ids}
        self.status = dict.fromkeys(self.ids, "active")
        self.assignee: dict[int, int | None] = dict.fromkeys(self.ids, None)
        self.last_message: dict[int, datetime | None] = dict.fromkeys(self.ids, None)
        self.events: dict[int, list[Event]] = {cid: [] for cid in self.ids}
        self.sent = 0

    # -- the model's rules ------------------------------------------------------------

    def may_see(self, user: User, conversation_id: int) -> bool:
        return user.is_admin or user.id in self.linked[conversation_id]

    def activity(self, conversation_id: int) -> ActivityKey:
        at = self.last_message[conversation_id] or self.created[conversation_id]
        return ActivityKey(at, conversation_id)

    def expected_list(self, viewer: User, status: str | None, assigned: str | None) -> list[int]:
        keep = [
            cid
            for cid in self.ids
            if self.may_see(viewer, cid)
            and (status is None or self.status[cid] == status)
            and (assigned != "me" or self.assignee[cid] == viewer.id)
            and (assigned != "none" or self.assignee[cid] is None)
        ]
        return sorted(keep, key=self.activity, reverse=True)

    # -- steps ------------------------------------------------------------------------

    @rule(conversation=st.integers(0, CONTACTS - 1), member=st.integers(1, len(MEMBERS) - 1))
    def link(self, conversation: int, member: int) -> None:
        cid, user = self.ids[conversation], self.users[member]
        self.app.contacts.link(CLI, str(self.contact_of[cid]), user.username)
        self.linked[cid].add(user.id)

    @rule(conversation=st.integers(0, CONTACTS - 1), member=st.integers(1, len(MEMBERS) - 1))
    def unlink(self, conversation: int, member: int) -> None:
        cid, user = self.ids[conversation], self.users[member]
        self.app.contacts.unlink(CLI, str(self.contact_of[cid]), user.username)
        if user.id in self.linked[cid]:
            self.linked[cid].discard(user.id)
            if self.assignee[cid] == user.id:  # lost sight of it: unassigned, by the system
                self.events[cid].append(("unassigned", user.id, None, None))
                self.assignee[cid] = None

    @rule(
        conversation=st.integers(0, CONTACTS - 1),
        actor=st.integers(0, len(MEMBERS) - 1),
        to=st.none() | st.integers(0, len(MEMBERS) - 1),
    )
    def assign(self, conversation: int, actor: int, to: int | None) -> None:
        cid, who = self.ids[conversation], self.users[actor]
        new = None if to is None else self.users[to]
        current = self.assignee[cid]
        expected: type[Exception] | None = None
        if not self.may_see(who, cid):
            expected = NotFound
        elif new is not None and new.id != who.id and not who.is_admin:
            expected = PermissionDenied
        elif new is not None and not self.may_see(new, cid):
            expected = InvalidInput
        elif new is None and current not in (None, who.id) and not who.is_admin:
            expected = PermissionDenied
        if expected is not None:
            with pytest.raises(expected):
                self.app.conversations.assign(who, cid, None if new is None else new.id)
            return
        result = self.app.conversations.assign(who, cid, None if new is None else new.id)
        new_id = None if new is None else new.id
        assert result.assigned_user_id == new_id
        if new_id != current:
            kind = "unassigned" if new_id is None else "assigned"
            self.events[cid].append((kind, current, new_id, who.id))
            self.assignee[cid] = new_id

    @rule(
        conversation=st.integers(0, CONTACTS - 1),
        member=st.integers(1, len(MEMBERS) - 1),
        by_admin=st.booleans(),
    )
    def link_and_hand_over(self, conversation: int, member: int, by_admin: bool) -> None:
        """The common path, made likely: link a user, then the admin gives them the
        conversation or they take it themselves."""
        self.link(conversation, member)
        self.assign(conversation, 0 if by_admin else member, member)

    @rule(
        conversation=st.integers(0, CONTACTS - 1),
        actor=st.integers(0, len(MEMBERS) - 1),
        status=st.sampled_from(STATUSES),
    )
    def set_status(self, conversation: int, actor: int, status: str) -> None:
        cid, who = self.ids[conversation], self.users[actor]
        if not self.may_see(who, cid):
            with pytest.raises(NotFound):
                self.app.conversations.set_status(who, cid, status)
            return
        assert self.app.conversations.set_status(who, cid, status).status == status
        if status != self.status[cid]:
            self.events[cid].append(("status", self.status[cid], status, who.id))
            self.status[cid] = status

    @rule(conversation=st.integers(0, CONTACTS - 1), minutes=st.integers(0, 2 * 24 * 60))
    def message_arrives(self, conversation: int, minutes: int) -> None:
        """An inbound message, its own time anywhere in the last two days."""
        cid = self.ids[conversation]
        self.sent += 1
        at = EARLIEST + timedelta(minutes=minutes)
        event = {
            "event_type": "message_received",
            "data": {"id": f"false_{self.chat_of[cid]}_{self.sent}", "from": self.chat_of[cid],
                     "type": "chat", "body": f"message {self.sent}", "time": int(at.timestamp())},
        }  # fmt: skip
        assert self.app.webhooks.handle(WEBHOOK, event).message == "stored"
        last = self.last_message[cid]
        self.last_message[cid] = at if last is None else max(last, at)
        if self.status[cid] != "active":  # a new inbound message reopens it
            self.events[cid].append(("status", self.status[cid], "active", None))
            self.status[cid] = "active"

    @rule(conversation=st.integers(0, CONTACTS - 1), member=st.integers(0, len(MEMBERS) - 1))
    def member_replies(self, conversation: int, member: int) -> None:
        cid, who = self.ids[conversation], self.users[member]
        if not self.may_see(who, cid):
            return
        message = self.app.messaging.send(who, cid, f"reply {self.sent}").message
        last = self.last_message[cid]
        at = message.created_at
        self.last_message[cid] = at if last is None else max(last, at)

    # -- what must hold -----------------------------------------------------------------

    @invariant()
    def no_assignee_lacks_sight_and_every_change_has_its_event(self) -> None:
        for cid in self.ids:
            stored = self.app.conversations.get(CLI, cid)
            assert (stored.status, stored.assigned_user_id) == (
                self.status[cid],
                self.assignee[cid],
            )
            if stored.assigned_user_id is not None:
                holder = next(u for u in self.users if u.id == stored.assigned_user_id)
                assert self.app.conversations.get(holder, cid).id == cid
            trail = self.app.conversations.events(CLI, cid).items
            assert [(e.type, _value(e, "from"), _value(e, "to"), e.actor_id) for e in trail] == (
                self.events[cid]
            )

    @invariant()
    def lists_are_the_brute_force_answer_in_activity_order(self) -> None:
        for viewer in self.users:
            paged = _read_pages(self.app, viewer, size=2)
            assert [c.id for c in paged] == self.expected_list(viewer, None, None)
            for conversation in paged:
                assert conversation.last_message_at == self.last_message[conversation.id]
            for status in STATUSES:
                found = self.app.conversations.all(viewer, status=status)
                assert [c.id for c in found] == self.expected_list(viewer, status, None)
            for assigned in ("me", "none"):
                found = self.app.conversations.all(viewer, assigned=assigned)  # type: ignore[arg-type]
                assert [c.id for c in found] == self.expected_list(viewer, None, assigned)

    def teardown(self) -> None:
        self.app.close()


def _value(event: ConversationEvent, side: str) -> str | int | None:
    """An event's from/to as the model writes it: user ids as ints, statuses as text."""
    if event.type is ConversationEventType.STATUS:
        return event.from_value if side == "from" else event.to_value
    return event.from_user_id if side == "from" else event.to_user_id


def _read_pages(app: App, viewer: User, size: int) -> list[Conversation]:
    items: list[Conversation] = []
    before: ActivityKey | None = None
    while True:
        page = app.conversations.page(viewer, limit=size, before=before)
        items.extend(page.items)
        if page.next_before_id is None:
            return items
        before = page.items[-1].activity_key


def test_the_inbox_keeps_its_rules_whatever_happens(
    store: Store, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Each example gets a fresh, empty store of the fixture's kind."""
    kind = request.node.callspec.params["store"]
    made = count()

    def fresh_store() -> Store:
        if kind == "memory":
            return InMemoryStore()
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / f'inbox{next(made)}.db'}"
            upgrade(url)
            return SqlStore.open(url)
        return SqlStore.open(migrated_url(kind, request))  # the session's schema, emptied

    class Machine(InboxMachine):
        def __init__(self) -> None:
            self.store = fresh_store()
            super().__init__()

    Machine.TestCase.settings = settings(
        max_examples={"memory": 40, "sqlite": 5}.get(kind, 3),
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    Machine.TestCase("runTest").runTest()
