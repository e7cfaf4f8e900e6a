"""The sync use case against the in-memory store (``docs/interface.md#what-a-sync-does``)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import quick_chat_lists
from tests.unit.support import ANNA, BEN, FAMILY, HIDDEN, OLD_GROUP, ULTRAMSG_SAMPLE, everything
from wa_manager.bootstrap import App
from wa_manager.domain.errors import (
    StorageError,
    SyncAlreadyRunning,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRejected,
)
from wa_manager.domain.model import CLI, LIBRARY, ChatKind, NewContact, RawChat
from wa_manager.domain.rules import classify_chat_id
from wa_manager.testing import (
    DEFAULT_INSTANCE_ID,
    DEFAULT_NOW,
    FailingChats,
    FakeUnitOfWork,
    FixedClock,
    InMemoryStore,
    StaticChats,
    memory_app,
)

# Each example builds its own App; hypothesis's function-scoped-fixture check does not apply.
few_examples = settings(max_examples=60)


def _distinct_conversations(
    chats: Sequence[RawChat], include_groups: bool = True
) -> dict[str, str | None]:
    last_names: dict[str, str | None] = {}
    for wa_id, name in chats:
        kind = classify_chat_id(wa_id)
        if kind.is_conversation and (include_groups or kind is not ChatKind.GROUP):
            assert wa_id is not None
            last_names[wa_id] = name or None
    return last_names


def test_the_ultramsg_sample_becomes_four_contacts_with_one_conversation_each() -> None:
    app = memory_app(ULTRAMSG_SAMPLE)
    report = app.sync()
    assert report.as_dict() | {"duration_ms": 0} == {
        "instance_id": DEFAULT_INSTANCE_ID,
        "fetched": 6,
        "created_contacts": 4,
        "created_conversations": 4,
        "updated_contacts": 0,
        "skipped": 2,
        "duration_ms": 0,
        "dry_run": False,
    }
    contacts, conversations, _ = everything(app)
    shown = {c.wa_id: (c.name, c.phone, c.kind, c.source) for c in contacts}
    assert shown == {
        ANNA: ("Anna Schmidt", "+4915112345678", "person", DEFAULT_INSTANCE_ID),
        FAMILY: ("Family", None, "group", DEFAULT_INSTANCE_ID),
        OLD_GROUP: ("Old style group", None, "group", DEFAULT_INSTANCE_ID),
        HIDDEN: (None, None, "person", DEFAULT_INSTANCE_ID),
    }
    assert sorted(c.contact.id for c in conversations) == sorted(c.id for c in contacts)
    assert {(c.status, c.source, c.assigned_user_id) for c in conversations} == {
        ("active", "whatsapp", None)
    }


@few_examples
@given(quick_chat_lists(), st.booleans())
def test_sync_creates_one_contact_and_one_conversation_per_distinct_conversation(
    chats: list[RawChat], include_groups: bool
) -> None:
    app = memory_app(StaticChats(chats), sync_groups=include_groups)
    report = app.sync()
    wanted = _distinct_conversations(chats, include_groups)
    contacts, conversations, _ = everything(app)
    assert {c.wa_id: c.name for c in contacts} == wanted
    assert len(contacts) == len(wanted)
    assert sorted(c.contact.id for c in conversations) == sorted(c.id for c in contacts)
    assert report.created_contacts == report.created_conversations == len(wanted)
    assert report.fetched == len(chats)
    assert report.skipped == sum(1 for wa_id, _ in chats if wa_id not in wanted)


@few_examples
@given(quick_chat_lists())
def test_syncing_the_same_chats_again_changes_nothing(chats: list[RawChat]) -> None:
    app = memory_app(StaticChats(chats))
    app.sync()
    before = everything(app)
    again = app.sync()
    assert (again.created_contacts, again.created_conversations, again.updated_contacts) == (
        0,
        0,
        0,
    )
    assert everything(app) == before


@few_examples
@given(quick_chat_lists(), quick_chat_lists())
def test_a_dry_run_writes_nothing_and_reports_what_a_sync_would_do(
    first: list[RawChat], second: list[RawChat]
) -> None:
    source = StaticChats(first)
    app = memory_app(source)
    app.sync()
    source.replace(second)
    before = everything(app)
    dry = app.sync(dry_run=True)
    assert everything(app) == before
    real = app.sync()
    assert dry.dry_run
    assert not real.dry_run
    assert dry.as_dict() | {"duration_ms": 0, "dry_run": False} == real.as_dict() | {
        "duration_ms": 0
    }


def test_a_renamed_chat_updates_the_name_and_is_counted() -> None:
    source = StaticChats([(ANNA, "Anna"), (BEN, "Ben"), (FAMILY, "Family")])
    app = memory_app(source)
    app.sync()
    source.replace([(ANNA, "Anna Schmidt 🌻"), (BEN, "Ben"), (FAMILY, "")])
    report = app.sync()
    assert (report.created_contacts, report.updated_contacts) == (0, 2)
    names = {c.wa_id: c.name for c in everything(app)[0]}
    assert names == {ANNA: "Anna Schmidt 🌻", BEN: "Ben", FAMILY: None}


def test_a_contact_without_a_conversation_gets_one_again() -> None:
    app = memory_app([(ANNA, "Anna"), (BEN, "Ben")])
    with app.store() as uow:
        uow.contacts.add_many(
            DEFAULT_INSTANCE_ID, [NewContact(ANNA, "Anna", "+4915112345678", "person")], DEFAULT_NOW
        )
        uow.commit()
    report = app.sync()
    assert (report.created_contacts, report.created_conversations) == (1, 2)
    contacts, conversations, _ = everything(app)
    assert sorted(c.contact.wa_id for c in conversations) == sorted(c.wa_id for c in contacts)


def test_names_are_kept_byte_for_byte() -> None:
    names = ["محمد العتيبي", "Family 👨‍👩‍👧‍👦", "x" * 2000, " padded  "]
    ids = [f"49151000000{i}@c.us" for i in range(len(names))]
    app = memory_app(list(zip(ids, names, strict=True)))
    app.sync()
    assert {c.wa_id: c.name for c in everything(app)[0]} == dict(zip(ids, names, strict=True))


def test_groups_stay_out_when_sync_groups_is_false() -> None:
    app = memory_app(ULTRAMSG_SAMPLE, sync_groups=False)
    report = app.sync()
    assert (report.created_contacts, report.skipped) == (2, 4)
    assert {c.kind for c in everything(app)[0]} == {"person"}


@pytest.mark.parametrize(
    "error",
    [
        UpstreamRejected("UltraMsg said: Wrong token. Please provide token as a GET parameter."),
        UpstreamBadResponse("UltraMsg answered an object, not a list of chats"),
    ],
)
def test_when_ultramsg_fails_nothing_is_written(error: UpstreamError) -> None:
    store = InMemoryStore()
    memory_app(ULTRAMSG_SAMPLE, store=store).sync()
    failing = memory_app(FailingChats(error), store=store)
    before = everything(failing)
    with pytest.raises(UpstreamError) as caught:
        failing.sync()
    assert caught.value is error
    assert everything(failing) == before
    run = failing.syncs.last(LIBRARY)
    assert run is not None
    assert (run.report, run.error) == (None, str(error))


def test_a_database_failure_in_the_middle_writes_nothing() -> None:
    class BrokenStore(InMemoryStore):
        def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
            uow = super().__call__(read_only=read_only)

            def fail(source: str, now: object) -> int:
                raise StorageError("the database went away")

            uow.conversations.add_missing = fail  # type: ignore[method-assign]
            return uow

    app = memory_app(ULTRAMSG_SAMPLE, store=BrokenStore())
    with pytest.raises(StorageError):
        app.sync()
    assert everything(app) == ([], [], [])


def test_a_second_sync_while_one_holds_the_lock_fails_and_writes_nothing() -> None:
    app = memory_app(ULTRAMSG_SAMPLE)
    with app.store() as holder:
        holder.lock_sync(DEFAULT_INSTANCE_ID)
        with pytest.raises(SyncAlreadyRunning, match="already running"):
            app.sync()
        assert everything(app) == ([], [], [])
    assert app.sync().created_contacts == 4


def test_two_syncs_at_once_never_duplicate() -> None:
    """The second sync starts while the first is fetching: it is refused at once (the
    run lock), and the first one still creates everything exactly once."""
    store = InMemoryStore()
    outcomes: list[object] = []

    def run(app: App) -> None:
        try:
            outcomes.append(app.sync())
        except SyncAlreadyRunning as error:
            outcomes.append(error)

    class TogetherChats(StaticChats):
        def fetch_chats(self) -> Sequence[RawChat]:
            other = threading.Thread(target=run, args=(apps[1],))
            other.start()
            other.join()
            return super().fetch_chats()

    apps = [
        memory_app(TogetherChats(ULTRAMSG_SAMPLE), store=store),
        memory_app(ULTRAMSG_SAMPLE, store=store),
    ]
    run(apps[0])
    refused, report = outcomes
    assert isinstance(refused, SyncAlreadyRunning)
    assert getattr(report, "created_contacts", 0) == 4
    assert len(everything(apps[0])[0]) == 4


def test_sync_history_records_successes_and_failures() -> None:
    store = InMemoryStore()
    clock = FixedClock()
    app = memory_app(ULTRAMSG_SAMPLE, store=store, clock=clock)
    admin = app.add_user("boss", "admin")
    report = app.syncs.run(admin, trigger="api")
    clock.advance(timedelta(minutes=5))
    with pytest.raises(UpstreamError):
        memory_app(FailingChats(), store=store, clock=clock).syncs.run(CLI)
    failed, succeeded = app.syncs.history(LIBRARY).items
    assert (succeeded.trigger, succeeded.actor_id, succeeded.report, succeeded.error) == (
        "api",
        admin.id,
        report,
        None,
    )
    assert succeeded.started_at == succeeded.finished_at == DEFAULT_NOW
    assert (failed.trigger, failed.actor_id, failed.report) == ("cli", None, None)
    assert failed.error is not None
    assert "did not answer" in failed.error
    assert app.syncs.last(LIBRARY) == failed


def test_a_dry_run_leaves_no_trace_not_even_in_the_history() -> None:
    store = InMemoryStore()
    app = memory_app(ULTRAMSG_SAMPLE, store=store)
    app.sync(dry_run=True)
    assert app.syncs.history(LIBRARY).items == ()
    assert not any(unit.committed for unit in store.recent_units)


class _HistoryUnavailableStore(InMemoryStore):
    """A store whose first history write fails, as SQLite does while another writer holds it."""

    def __init__(self) -> None:
        super().__init__()
        self.failures_left = 1

    def __call__(self, *, read_only=False):  # type: ignore[no-untyped-def]
        unit = super().__call__(read_only=read_only)
        start = unit.sync_runs.start

        def flaky_start(*args, **kwargs):  # type: ignore[no-untyped-def]
            if self.failures_left:
                self.failures_left -= 1
                raise StorageError("database is locked; try again")
            return start(*args, **kwargs)

        unit.sync_runs.start = flaky_start  # type: ignore[method-assign]
        return unit


def test_a_sync_runs_and_is_recorded_at_the_end_when_the_history_is_busy_at_first() -> None:
    store = _HistoryUnavailableStore()
    app = memory_app(ULTRAMSG_SAMPLE, store=store)
    report = app.syncs.run(CLI)
    assert report.created_contacts > 0
    (run,) = app.syncs.history(LIBRARY).items
    assert (run.trigger, run.report, run.error) == ("cli", report, None)
