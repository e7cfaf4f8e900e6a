"""The in-memory store's transactions: commit publishes, leaving discards, no lost updates."""

from __future__ import annotations

import threading

import pytest

from wa_manager.domain.errors import AlreadyExists, SyncAlreadyRunning
from wa_manager.domain.model import NewContact
from wa_manager.testing import DEFAULT_NOW, InMemoryStore

SOURCE = "instance12345"


def _new(wa_id: str, name: str | None = None) -> NewContact:
    return NewContact(wa_id, name, None, "person")


def _wa_ids(store: InMemoryStore) -> list[str]:
    with store() as uow:
        return sorted(uow.contacts.snapshot(SOURCE))


def test_only_commit_publishes() -> None:
    store = InMemoryStore()
    with store() as uow:
        uow.contacts.add_many(SOURCE, [_new("1@lid")], DEFAULT_NOW)
        assert sorted(uow.contacts.snapshot(SOURCE)) == ["1@lid"]  # sees its own write
    assert uow.committed is False
    assert _wa_ids(store) == []
    with store() as uow:
        uow.contacts.add_many(SOURCE, [_new("2@lid")], DEFAULT_NOW)
        uow.commit()
    assert uow.committed is True
    assert _wa_ids(store) == ["2@lid"]


def test_an_error_inside_the_unit_of_work_discards_its_writes() -> None:
    store = InMemoryStore()

    def add_then_fail() -> None:
        with store() as uow:
            uow.users.add("maria", "user", None, DEFAULT_NOW)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        add_then_fail()
    with store() as uow:
        assert uow.users.list() == []


def test_uncommitted_writes_are_invisible_to_others() -> None:
    store = InMemoryStore()
    with store() as writer, store() as reader:
        writer.contacts.add_many(SOURCE, [_new("1@lid")], DEFAULT_NOW)
        assert reader.contacts.snapshot(SOURCE) == {}
        writer.commit()
    assert _wa_ids(store) == ["1@lid"]


def test_ids_ascend_from_one_per_table() -> None:
    store = InMemoryStore()
    with store() as uow:
        uow.contacts.add_many(SOURCE, [_new("1@lid"), _new("2@lid"), _new("1@lid")], DEFAULT_NOW)
        assert uow.conversations.add_missing(SOURCE, DEFAULT_NOW) == 2
        users = [uow.users.add(name, "user", None, DEFAULT_NOW) for name in ("a", "b")]
        uow.commit()
        contacts = uow.contacts.page(search=None, limit=10, before_id=None).items
    assert [c.id for c in contacts] == [2, 1]
    assert [u.id for u in users] == [1, 2]


def test_two_overlapping_units_of_work_keep_both_writes() -> None:
    store = InMemoryStore()
    with store() as first, store() as second:
        first.contacts.add_many(SOURCE, [_new("1@lid", "One")], DEFAULT_NOW)
        second.contacts.add_many(
            SOURCE, [_new("2@lid", "Two"), _new("1@lid", "Also one")], DEFAULT_NOW
        )
        first.commit()
        second.commit()
    with store() as uow:
        assert uow.contacts.snapshot(SOURCE) == {"1@lid": ("One", False), "2@lid": ("Two", False)}
        assert uow.conversations.add_missing(SOURCE, DEFAULT_NOW) == 2


def test_a_username_taken_meanwhile_fails_the_later_commit_entirely() -> None:
    store = InMemoryStore()
    with store() as first, store() as second:
        first.users.add("maria", "user", None, DEFAULT_NOW)
        second.contacts.add_many(SOURCE, [_new("1@lid")], DEFAULT_NOW)
        second.users.add("maria", "admin", None, DEFAULT_NOW)
        first.commit()
        with pytest.raises(AlreadyExists, match="maria"):
            second.commit()
    assert _wa_ids(store) == []
    with store() as uow:
        assert [(u.username, u.role) for u in uow.users.list()] == [("maria", "user")]


def test_many_threads_writing_at_once_lose_nothing() -> None:
    store = InMemoryStore()
    start = threading.Barrier(8)

    def add_users(worker: int) -> None:
        start.wait()
        for n in range(25):
            with store() as uow:
                uow.users.add(f"w{worker}-{n}", "user", None, DEFAULT_NOW)
                uow.commit()

    threads = [threading.Thread(target=add_users, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store() as uow:
        users = uow.users.list()
    assert len(users) == 200
    assert len({u.id for u in users}) == 200


def test_the_sync_lock_is_held_until_the_transaction_ends() -> None:
    store = InMemoryStore()
    with store() as holder:
        holder.lock_sync(SOURCE)
        holder.lock_sync(SOURCE)  # the holder may ask again
        with store() as other:
            other.lock_sync("another-instance")
            with pytest.raises(SyncAlreadyRunning, match="already running"):
                other.lock_sync(SOURCE)
        holder.commit()
        with store() as other:
            other.lock_sync(SOURCE)
            with store() as third, pytest.raises(SyncAlreadyRunning):
                third.lock_sync(SOURCE)
    with store() as after:
        after.lock_sync(SOURCE)


def test_links_record_an_audit_event_only_when_they_change_something() -> None:
    store = InMemoryStore()
    with store() as uow:
        uow.contacts.add_many(SOURCE, [_new("1@lid")], DEFAULT_NOW)
        user = uow.users.add("maria", "user", None, DEFAULT_NOW)
        contact = uow.contacts.find(SOURCE, wa_id="1@lid")
        assert contact is not None
        assert uow.links.add(contact.id, user.id, None, DEFAULT_NOW) is True
        assert uow.links.add(contact.id, user.id, None, DEFAULT_NOW) is False
        assert uow.links.remove(contact.id, user.id, None, DEFAULT_NOW) is True
        assert uow.links.remove(contact.id, user.id, None, DEFAULT_NOW) is False
        assert [e.action for e in uow.links.history(contact.id)] == ["link", "unlink"]


def test_closing_keeps_the_data_readable() -> None:
    store = InMemoryStore()
    with store() as uow:
        uow.contacts.add_many(SOURCE, [_new("1@lid")], DEFAULT_NOW)
        uow.commit()
    store.ping()
    store.close()
    assert store.closed is True
    assert _wa_ids(store) == ["1@lid"]
    assert store.recent_units[-1].committed is False
