"""The ``InstanceRepository`` contract, on memory, SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wa_manager.domain.errors import AlreadyExists
from wa_manager.domain.instances import StoredInstance
from wa_manager.domain.model import NewContact, SyncReport
from wa_manager.domain.ports import Store

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def stored(instance_id: str, secret: str, minutes: int = 0) -> StoredInstance:
    return StoredInstance(
        instance_id=instance_id,
        label=f"label of {instance_id}",
        sealed_token=f"sealed-{instance_id}",
        webhook_secret=secret,
        created_at=NOW + timedelta(minutes=minutes),
    )


def add(store: Store, *instances: StoredInstance) -> None:
    with store() as uow:
        for instance in instances:
            uow.instances.add(instance)
        uow.commit()


def test_instances_are_kept_listed_found_and_removed(store: Store) -> None:
    add(store, stored("instance2", "s2", 1), stored("instance1", "s1", 0))
    with store(read_only=True) as uow:
        assert [i.instance_id for i in uow.instances.list()] == ["instance1", "instance2"]
        assert uow.instances.get("instance2") == stored("instance2", "s2", 1)
        assert uow.instances.get("instance9") is None
        found = uow.instances.by_webhook_secret("s2")
        assert found is not None
        assert found.instance_id == "instance2"
        assert uow.instances.by_webhook_secret("nope") is None
    with store() as uow:
        assert uow.instances.set_sealed_token("instance1", "sealed-again")
        assert not uow.instances.set_sealed_token("instance9", "x")
        assert uow.instances.remove("instance2")
        assert not uow.instances.remove("instance2")
        uow.commit()
    with store(read_only=True) as uow:
        [left] = uow.instances.list()
        assert left.sealed_token == "sealed-again"
        assert left.created_at == NOW


def test_an_instance_id_is_stored_once(store: Store) -> None:
    add(store, stored("instance1", "s1"))
    with pytest.raises(AlreadyExists, match="instance1"), store() as uow:
        uow.instances.add(stored("instance1", "s-other"))
    with store(read_only=True) as uow:
        assert len(uow.instances.list()) == 1


def test_uncommitted_instances_are_rolled_back(store: Store) -> None:
    with store() as uow:
        uow.instances.add(stored("instance1", "s1"))
    with store(read_only=True) as uow:
        assert uow.instances.list() == []


def test_counts_of_contacts_and_last_successful_syncs(store: Store) -> None:
    with store() as uow:
        uow.contacts.add_many("instance1", [NewContact("1@c.us", "A", None, "person")], NOW)
        uow.contacts.add_many(
            "instance2",
            [NewContact("1@c.us", "A", None, "person"), NewContact("2@c.us", None, None, "person")],
            NOW,
        )
        ok = uow.sync_runs.start("instance1", "cli", None, NOW)
        report = SyncReport("instance1", 1, 1, 1, 0, 0, 5, False)
        uow.sync_runs.finish(ok, NOW + timedelta(seconds=3), report, None)
        failed = uow.sync_runs.start("instance1", "cli", None, NOW + timedelta(minutes=1))
        uow.sync_runs.finish(failed, NOW + timedelta(minutes=2), None, "UltraMsg failed")
        uow.sync_runs.start("instance2", "cli", None, NOW)  # still running
        uow.commit()
    with store(read_only=True) as uow:
        assert uow.instances.contact_counts() == {"instance1": 1, "instance2": 2}
        assert uow.instances.last_syncs() == {"instance1": NOW + timedelta(seconds=3)}
