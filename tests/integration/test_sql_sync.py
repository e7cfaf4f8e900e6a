"""The sync use case against real databases: counts, idempotence, all or nothing, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from wa_manager.adapters.sql import SqlStore
from wa_manager.adapters.sql.tables import contacts, conversations
from wa_manager.adapters.sql.unit_of_work import SqlUnitOfWork
from wa_manager.domain.errors import StorageError, SyncAlreadyRunning, UpstreamUnavailable
from wa_manager.domain.model import NewContact, SyncReport
from wa_manager.services.sync import sync_contacts
from wa_manager.testing import FailingChats, FixedClock, StaticChats

INSTANCE = "instance12345"


def run_sync(store: SqlStore, chats: StaticChats | FailingChats, **options: bool) -> SyncReport:
    return sync_contacts(chats, store, FixedClock(), instance_id=INSTANCE, **options)


def count(store: SqlStore, table: str) -> int:
    with store() as uow:
        query = select(func.count()).select_from(contacts if table == "contacts" else conversations)
        return int(uow.connection.execute(query).scalar_one())


def chats_for(numbers: range, name: str = "Person") -> StaticChats:
    return StaticChats([{"id": f"49151{n:07d}@c.us", "name": f"{name} {n}"} for n in numbers])


def counts(report: SyncReport) -> tuple[int, int, int, int, int]:
    return (
        report.fetched,
        report.created_contacts,
        report.created_conversations,
        report.updated_contacts,
        report.skipped,
    )


def test_a_sync_creates_contacts_and_conversations_once(sql_store: SqlStore) -> None:
    chats = StaticChats(
        [
            {"id": "4915112345678@c.us", "name": "Anna"},
            {"id": "4915112345678@c.us", "name": "Anna"},  # repeated: one contact
            {"id": "120363000000000001@g.us", "name": "Team"},
            {"id": "status@broadcast", "name": None},
            {"id": "0@c.us", "name": "WhatsApp"},
            {"name": "no id"},
        ]
    )
    first = run_sync(sql_store, chats)
    assert counts(first) == (6, 2, 2, 0, 3)
    again = run_sync(sql_store, chats)
    assert counts(again) == (6, 0, 0, 0, 3)
    assert count(sql_store, "contacts") == count(sql_store, "conversations") == 2
    with sql_store() as uow:
        anna = uow.contacts.find(INSTANCE, wa_id="4915112345678@c.us")
    assert anna is not None
    assert (anna.name, anna.phone, anna.kind) == ("Anna", "+4915112345678", "person")


def test_renames_vanished_and_returning_contacts(sql_store: SqlStore) -> None:
    run_sync(sql_store, chats_for(range(5)))
    renamed = StaticChats(
        [{"id": f"49151{n:07d}@c.us", "name": "New" if n == 0 else f"Person {n}"} for n in range(4)]
    )
    report = run_sync(sql_store, renamed)
    assert counts(report) == (4, 0, 0, 1, 0)
    with sql_store() as uow:
        snapshot = uow.contacts.snapshot(INSTANCE)
    assert snapshot["491510000000@c.us"].name == "New"
    assert snapshot["491510000004@c.us"].vanished
    back = run_sync(sql_store, chats_for(range(5)))
    assert counts(back) == (5, 0, 0, 1, 0)
    with sql_store() as uow:
        assert not any(state.vanished for state in uow.contacts.snapshot(INSTANCE).values())


def test_a_contact_that_lost_its_conversation_gets_one_again(sql_store: SqlStore) -> None:
    chats = chats_for(range(3))
    run_sync(sql_store, chats)
    with sql_store() as uow:
        uow.connection.execute(delete(conversations).where(conversations.c.id == 2))
        uow.commit()
    assert run_sync(sql_store, chats, dry_run=True).created_conversations == 1
    assert run_sync(sql_store, chats).created_conversations == 1
    assert count(sql_store, "conversations") == 3


def test_a_dry_run_counts_but_writes_nothing(sql_store: SqlStore) -> None:
    report = run_sync(sql_store, chats_for(range(4)), dry_run=True)
    assert counts(report) == (4, 4, 4, 0, 0)
    assert report.dry_run
    assert count(sql_store, "contacts") == 0


def test_nothing_is_written_when_ultramsg_fails(sql_store: SqlStore) -> None:
    with pytest.raises(UpstreamUnavailable):
        run_sync(sql_store, FailingChats(UpstreamUnavailable("UltraMsg timed out")))
    assert count(sql_store, "contacts") == 0


def test_nothing_is_written_when_the_database_fails_half_way(sql_store: SqlStore) -> None:
    class FailingConversations:
        def add_missing(self, *_: object) -> int:
            raise StorageError("the database failed half way")

    class FailingHalfWay(SqlUnitOfWork):
        def __enter__(self) -> FailingHalfWay:
            super().__enter__()
            self.conversations = FailingConversations()  # type: ignore[assignment]
            return self

    def failing_store() -> SqlUnitOfWork:
        return FailingHalfWay(sql_store.engine, sql_store.url)

    with pytest.raises(StorageError, match="half way"):
        sync_contacts(chats_for(range(10)), failing_store, FixedClock(), instance_id=INSTANCE)
    assert count(sql_store, "contacts") == 0
    assert counts(run_sync(sql_store, chats_for(range(10)))) == (10, 10, 10, 0, 0)


def run_at_once(workers: int, task: Callable[[int], object]) -> list[object]:
    """Start ``workers`` threads together; return what each returned or raised."""
    barrier = threading.Barrier(workers)
    outcomes: list[object] = [None] * workers

    def work(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = task(index)
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.parametrize("workers", [2, 8])
def test_concurrent_syncs_never_duplicate_and_never_crash(
    sql_store: SqlStore, workers: int
) -> None:
    chats = chats_for(range(3000))
    outcomes = run_at_once(workers, lambda _: run_sync(sql_store, chats))
    reports = [o for o in outcomes if isinstance(o, SyncReport)]
    refused = [o for o in outcomes if isinstance(o, SyncAlreadyRunning)]
    assert len(reports) + len(refused) == workers, outcomes
    assert all("already running" in str(error) for error in refused)
    assert sum(r.created_contacts for r in reports) == 3000
    assert sum(r.created_conversations for r in reports) == 3000
    assert count(sql_store, "contacts") == count(sql_store, "conversations") == 3000


def test_a_sync_and_other_writers_at_once_count_each_contact_once(sql_store: SqlStore) -> None:
    """Writers without the sync lock (webhooks) race a sync; unique keys keep them apart."""
    numbers = range(2000)
    chats = chats_for(numbers)
    clock = FixedClock()

    def task(index: int) -> int:
        if index == 0:
            return run_sync(sql_store, chats).created_contacts
        with sql_store() as uow:
            overlap = list(chats.fetch_chats())[index * 300 : index * 300 + 600]
            new = [NewContact(str(c.wa_id), c.name, None, "person") for c in overlap]
            inserted = uow.contacts.add_many(INSTANCE, new, clock() + timedelta(seconds=index))
            uow.conversations.add_for(INSTANCE, [n.wa_id for n in new], clock())
            uow.commit()
            return inserted

    outcomes = run_at_once(4, task)
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert sum(o for o in outcomes if isinstance(o, int)) == 2000
    assert count(sql_store, "contacts") == count(sql_store, "conversations") == 2000
