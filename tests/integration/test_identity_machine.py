"""A state machine mixing syncs, webhooks and merges in any order: a merged chat id
(an alias) never produces a contact again, and no message is ever lost. On the
memory store, and on a real SQLite file.

The model: the chat ids UltraMsg knows (a fixed pool), which of them were merged
into which contact, and every message delivered. After each step the stored
contacts are exactly the chat ids ever seen that were not merged away, and the
messages stored are exactly those delivered, each once.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from tests.conftest import fresh_sqlite_url
from tests.identity_support import BASE_TIME, by_wa_id, contacts, messages_of, post

from wa_manager.adapters.sql import SqlStore
from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import CLI, RawChat
from wa_manager.domain.ports import Store
from wa_manager.testing import InMemoryStore, StaticChats, memory_app

POOL = [
    "5511987654321@c.us",
    "551187654321@c.us",
    "140000000000001@lid",
    "4915112345678@c.us",
    "140000000000002@lid",
]


class MergesSyncsAndWebhooks(RuleBasedStateMachine):
    """Random syncs (of random subsets of the pool), webhooks and merges."""

    def __init__(self) -> None:
        super().__init__()
        self.chats = StaticChats([])
        self.app = memory_app(self.chats, store=self.make_store())
        self.seen: set[str] = set()  # chat ids that made a contact at some point
        self.merged: set[str] = set()  # chat ids merged away (aliases)
        self.delivered: Counter[tuple[str | None, str | None]] = Counter()
        self.sent = 0

    def make_store(self) -> Store:
        """The store the machine runs on: memory here."""
        return InMemoryStore()

    def teardown(self) -> None:
        self.app.close()

    @rule(present=st.sets(st.sampled_from(POOL)), names=st.sampled_from(["A", "B", ""]))
    def sync(self, present: set[str], names: str) -> None:
        self.chats.chats = [RawChat(wa_id, names or None) for wa_id in sorted(present)]
        report = self.app.sync()
        assert report.created_contacts == len(present - self.seen - self.merged)
        self.seen |= present - self.merged

    @rule(wa_id=st.sampled_from(POOL))
    def webhook(self, wa_id: str) -> None:
        self.sent += 1
        message_id = f"m{self.sent}"
        result = post(self.app, wa_id, message_id, BASE_TIME + self.sent)
        created = wa_id not in self.seen and wa_id not in self.merged
        assert (result.outcome == "created") == created
        if created:
            self.seen.add(wa_id)
        self.delivered[message_id, "hi"] += 1

    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        stored = contacts(self.app)
        if len(stored) < 2:
            return
        merged, survivor = data.draw(st.permutations(stored))[:2]
        self.app.identities.merge(CLI, merged.id, survivor.id)
        self.merged.add(merged.wa_id)
        self.seen.discard(merged.wa_id)

    @rule(data=st.data())
    def merge_with_itself_is_refused(self, data: st.DataObject) -> None:
        stored = contacts(self.app)
        if stored:
            contact = data.draw(st.sampled_from(stored))
            try:
                self.app.identities.merge(CLI, contact.id, contact.id)
            except InvalidInput:
                return
            raise AssertionError("a contact was merged into itself")

    @invariant()
    def an_alias_never_makes_a_contact(self) -> None:
        stored = set(by_wa_id(self.app))
        assert stored == self.seen
        assert not stored & self.merged

    @invariant()
    def no_message_is_lost(self) -> None:
        found: Counter[tuple[str | None, str | None]] = Counter()
        for contact in contacts(self.app):
            found += messages_of(self.app, contact.id)
        assert found == self.delivered


class OnSqlite(MergesSyncsAndWebhooks):
    """The same machine on a real SQLite file (fewer examples: each is a database)."""

    def make_store(self) -> Store:
        return SqlStore.open(fresh_sqlite_url(Path(tempfile.mkdtemp(prefix="wa-merge-"))))


MergesSyncsAndWebhooks.TestCase.settings = settings(
    max_examples=60, stateful_step_count=15, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
OnSqlite.TestCase.settings = settings(
    max_examples=10, stateful_step_count=12, deadline=None,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip
test_merges_syncs_and_webhooks = MergesSyncsAndWebhooks.TestCase
test_merges_syncs_and_webhooks_on_sqlite = OnSqlite.TestCase
