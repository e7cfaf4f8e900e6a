"""Store contract for the hardening round, on memory, SQLite and PostgreSQL: usernames
unique and found regardless of case; unfinished sync runs marked interrupted; the run
lock excludes a second holder and is free again afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import (
    NO_POSTGRES,
    drop_postgres_schema,
    in_fresh_postgres_schema,
    postgres_url,
)

from wa_manager.adapters.sql import SqlStore, upgrade
from wa_manager.domain.errors import AlreadyExists, SyncAlreadyRunning
from wa_manager.domain.model import Role
from wa_manager.domain.ports import Store

NOW = datetime(2024, 11, 24, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
SOURCE = "instance12345"


def test_usernames_are_unique_and_found_regardless_of_case(store: Store) -> None:
    with store() as uow:
        maria = uow.users.add("Maria", Role.USER, None, NOW)
        uow.commit()
    with store() as uow, pytest.raises(AlreadyExists):
        uow.users.add("mARIA", Role.ADMIN, None, NOW)
    with store() as uow:
        assert uow.users.by_username("MARIA") == maria
        assert uow.users.by_username("maria") == maria
        assert [user.username for user in uow.users.list()] == ["Maria"]


def test_unfinished_runs_are_marked_interrupted_and_finished_ones_are_not(store: Store) -> None:
    with store() as uow:
        dead = uow.sync_runs.start(SOURCE, "cli", None, NOW)
        done = uow.sync_runs.start(SOURCE, "cli", None, NOW)
        uow.sync_runs.finish(done, NOW, None, "UltraMsg failed")
        other = uow.sync_runs.start("instance999", "cli", None, NOW)
        uow.commit()
    with store() as uow:
        assert uow.sync_runs.unfinished_instances() == [SOURCE, "instance999"]
        assert uow.sync_runs.mark_interrupted(SOURCE, LATER, "interrupted: gone") == 1
        uow.commit()
    with store() as uow:
        runs = {run.id: run for run in uow.sync_runs.page(limit=10, before_id=None).items}
        assert uow.sync_runs.unfinished_instances() == ["instance999"]
        assert uow.sync_runs.mark_interrupted(SOURCE, LATER, "again") == 0
    assert (runs[dead].state, runs[dead].interrupted_at, runs[dead].finished_at) == (
        "interrupted",
        LATER,
        None,
    )
    assert runs[dead].error == "interrupted: gone"
    assert (runs[done].state, runs[done].error) == ("failed", "UltraMsg failed")
    assert runs[other].state == "running"


def test_a_run_stopped_in_its_process_is_recorded_interrupted(store: Store) -> None:
    with store() as uow:
        run_id = uow.sync_runs.start(SOURCE, "cli", None, NOW)
        uow.sync_runs.finish(run_id, LATER, None, "interrupted", interrupted=True)
        uow.commit()
    with store() as uow:
        run = uow.sync_runs.latest()
    assert run is not None
    assert (run.state, run.finished_at, run.interrupted_at) == ("interrupted", LATER, LATER)


def test_the_run_lock_has_one_holder_per_instance(store: Store) -> None:
    with store.hold_sync_run(SOURCE):
        with (
            pytest.raises(SyncAlreadyRunning, match="already running"),
            store.hold_sync_run(SOURCE),
        ):
            pass
        with store.hold_sync_run("instance999"):  # another instance: its own lock
            pass
    with store.hold_sync_run(SOURCE):  # free again
        pass


@pytest.mark.postgres
@pytest.mark.skipif(not postgres_url(), reason=NO_POSTGRES)
def test_installations_in_two_schemas_of_one_database_do_not_block_each_others_syncs() -> None:
    base_url = postgres_url()
    assert base_url is not None
    made = [in_fresh_postgres_schema(base_url) for _ in range(2)]
    stores = []
    try:
        for _, url in made:
            upgrade(url)
            stores.append(SqlStore.open(url))
        first, second = stores
        with first.hold_sync_run(SOURCE), second.hold_sync_run(SOURCE):
            with first() as one, second() as other:
                one.lock_sync(SOURCE)
                other.lock_sync(SOURCE)  # the same instance id, another installation
            with pytest.raises(SyncAlreadyRunning), first.hold_sync_run(SOURCE):
                pass  # within one installation the lock still has one holder
    finally:
        for store in stores:
            store.close()
        for schema, _ in made:
            drop_postgres_schema(base_url, schema)
