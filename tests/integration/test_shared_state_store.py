"""The store's shared state, on memory, SQLite and PostgreSQL: sessions, login attempt
counters, shared secrets and leases; read-only units of work; user ids never reused.
The races two server processes can run into are run for real on PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from tests.conftest import backend_params, migrated_url

from wa_manager.adapters.sql import SqlStore, upgrade
from wa_manager.adapters.sql.schema import upgrade_engine
from wa_manager.domain.errors import NotFound
from wa_manager.domain.model import User
from wa_manager.domain.ports import Store

NOW = datetime(2024, 11, 24, 12, 0, tzinfo=UTC)


def add_user(store: Store, username: str) -> User:
    with store() as uow:
        user = uow.users.add(username, "user", None, NOW)
        uow.commit()
    return user


def add_session(store: Store, user: User, name: str, *, hours: float = 12) -> int:
    with store() as uow:
        session_id = uow.sessions.add(name, user.id, NOW, NOW + timedelta(hours=hours))
        uow.commit()
    return session_id


def test_a_session_is_live_until_ended_or_expired(store: Store) -> None:
    maria = add_user(store, "maria")
    first = add_session(store, maria, "hash-1")
    add_session(store, maria, "hash-2", hours=1)
    with store(read_only=True) as uow:
        found = uow.sessions.find_live("hash-1", NOW)
        assert found is not None
        assert (found.id, found.user, found.last_seen_at) == (first, maria, NOW)
        assert uow.sessions.find_live("hash-2", NOW + timedelta(hours=1)) is None
        assert uow.sessions.find_live("unknown", NOW) is None
    with store() as uow:
        uow.sessions.touch(first, NOW + timedelta(minutes=7))
        assert uow.sessions.end("hash-1", NOW) is True
        assert uow.sessions.end("hash-1", NOW) is False
        uow.commit()
    with store() as uow:
        assert uow.sessions.find_live("hash-1", NOW) is None


def test_a_session_of_nobody_is_refused(store: Store) -> None:
    with store() as uow, pytest.raises(NotFound):
        uow.sessions.add("hash", 12345, NOW, NOW + timedelta(hours=1))


def test_ending_all_sessions_of_a_user_keeps_the_one_asked_for(store: Store) -> None:
    maria, boss = add_user(store, "maria"), add_user(store, "boss")
    for name in ("m1", "m2", "m3"):
        add_session(store, maria, name)
    add_session(store, boss, "b1")
    with store() as uow:
        assert uow.sessions.end_all_for(maria.id, NOW, keep_hash="m3") == 2
        uow.commit()
    with store() as uow:
        live = [h for h in ("m1", "m2", "m3", "b1") if uow.sessions.find_live(h, NOW)]
    assert live == ["m3", "b1"]


def test_old_sessions_are_pruned(store: Store) -> None:
    maria = add_user(store, "maria")
    add_session(store, maria, "short", hours=1)
    add_session(store, maria, "long", hours=48)
    with store() as uow:
        assert uow.sessions.prune(NOW + timedelta(hours=2)) == 1
        uow.commit()
    with store() as uow:
        assert uow.sessions.find_live("long", NOW) is not None


def hit(store: Store, key: str, at: datetime, window: float = 60) -> tuple[int, datetime]:
    with store() as uow:
        counted = uow.login_attempts.hit(key, at, window)
        uow.commit()
    return counted


def test_login_attempts_count_in_fixed_windows(store: Store) -> None:
    assert hit(store, "k", NOW) == (1, NOW)
    assert hit(store, "k", NOW + timedelta(seconds=30)) == (2, NOW)
    assert hit(store, "other", NOW) == (1, NOW)
    later = NOW + timedelta(seconds=60)
    assert hit(store, "k", later) == (1, later)
    with store() as uow:
        uow.login_attempts.give_back("k")
        uow.login_attempts.give_back("k")  # never below zero
        uow.login_attempts.forget("other")
        uow.commit()
    assert hit(store, "k", later) == (1, later)
    assert hit(store, "other", later) == (1, later)


def test_login_attempt_counters_are_pruned_and_capped(store: Store) -> None:
    for number in range(6):
        hit(store, f"k{number}", NOW + timedelta(seconds=number))
    with store() as uow:
        assert uow.login_attempts.prune(NOW + timedelta(seconds=2), keep=3) == 3
        uow.commit()
    assert hit(store, "k0", NOW + timedelta(seconds=10))[0] == 1  # it was gone
    assert hit(store, "k5", NOW + timedelta(seconds=10))[0] == 2  # it was kept


def test_a_shared_secret_is_stored_once(store: Store) -> None:
    with store() as uow:
        assert uow.secrets.get_or_add("key", "first", NOW) == "first"
        uow.commit()
    with store() as uow:
        assert uow.secrets.get_or_add("key", "second", NOW) == "first"
        assert uow.secrets.get_or_add("other", "x", NOW) == "x"


def claim(store: Store, holder: str, at: datetime, period: float = 30) -> datetime | None:
    with store() as uow:
        began = uow.leases.claim("scheduled-sync", holder, at, period)
        uow.commit()
    return began


def test_a_lease_is_taken_once_per_period(store: Store) -> None:
    assert claim(store, "a", NOW) is None
    assert claim(store, "b", NOW + timedelta(seconds=29)) == NOW
    assert claim(store, "b", NOW + timedelta(seconds=30)) is None
    assert claim(store, "a", NOW + timedelta(seconds=31)) == NOW + timedelta(seconds=30)


def test_the_holder_of_a_lease_may_take_it_again_early(store: Store) -> None:
    """A holder retrying after a failed sync; the others still wait for the period."""
    assert claim(store, "a", NOW) is None
    assert claim(store, "a", NOW + timedelta(seconds=5)) is None
    assert claim(store, "b", NOW + timedelta(seconds=30)) == NOW + timedelta(seconds=5)


def test_a_read_only_unit_of_work_reads(store: Store) -> None:
    maria = add_user(store, "maria")
    with store(read_only=True) as uow:
        assert uow.users.get(maria.id) == maria


# -- SQL only ------------------------------------------------------------------------------

POSTGRES = backend_params("postgres")


@pytest.fixture(params=POSTGRES)
def postgres_store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    """An empty migrated PostgreSQL store, for races run for real."""
    sql_store = SqlStore.open(migrated_url(request.param, request))
    try:
        yield sql_store
    finally:
        sql_store.close()


def test_a_deleted_users_id_is_never_handed_out_again(sql_store: SqlStore) -> None:
    add_user(sql_store, "first")
    gone = add_user(sql_store, "gone")
    with sql_store.engine.begin() as connection:
        connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": gone.id})
    assert add_user(sql_store, "later").id > gone.id


def test_a_read_only_unit_of_work_does_not_wait_for_a_sqlite_writer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wa.db'}"
    upgrade(url)
    sql_store = SqlStore.open(url)
    writer = sqlite3.connect(tmp_path / "wa.db", timeout=0, isolation_level=None)
    try:
        maria = add_user(sql_store, "maria")
        writer.execute("BEGIN IMMEDIATE")  # a long sync holds the write lock
        writer.execute("UPDATE users SET role = 'admin'")
        with sql_store(read_only=True) as uow:
            assert uow.users.get(maria.id) == maria  # the committed state, at once
    finally:
        writer.close()
        sql_store.close()


def test_the_migration_to_autoincrement_users_keeps_what_refers_to_them(tmp_path: Path) -> None:
    """Rebuilding ``users`` on SQLite must not cascade to tokens, links or messages."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    try:
        from alembic import command

        from wa_manager.adapters.sql.schema import _config

        with engine.begin() as connection:
            command.upgrade(_config(connection), "0004")
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.exec_driver_sql(
                "INSERT INTO users (id, username, role, active, created_at) "
                "VALUES (7, 'maria', 'user', 1, '2024-01-01 00:00:00')"
            )
            connection.exec_driver_sql(
                "INSERT INTO api_tokens (user_id, token_hash, name, created_at) "
                "VALUES (7, 'h', 'cli', '2024-01-01 00:00:00')"
            )
        upgrade_engine(engine, url)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT user_id FROM api_tokens").all() == [(7,)]
            sql = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'users'"
            ).scalar()
            assert "AUTOINCREMENT" in str(sql)
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def race(workers: int, work: Callable[[], object]) -> list[object]:
    """Run ``work`` in ``workers`` threads released at once; their results."""
    start = threading.Barrier(workers)
    results: list[object] = []
    lock = threading.Lock()

    def run() -> None:
        start.wait()
        outcome = work()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_login_attempts_are_each_counted_once(postgres_store: SqlStore) -> None:
    counts = race(8, lambda: hit(postgres_store, "same", NOW)[0])
    assert sorted(counts) == list(range(1, 9))  # type: ignore[type-var]


def test_concurrent_claims_of_a_lease_give_it_to_one(postgres_store: SqlStore) -> None:
    claim(postgres_store, "earlier", NOW - timedelta(minutes=5))
    outcomes = race(8, lambda: claim(postgres_store, threading.current_thread().name, NOW))
    assert outcomes.count(None) == 1
    assert [o for o in outcomes if o is not None] == [NOW] * 7


def test_concurrent_first_uses_of_a_secret_agree_on_one(postgres_store: SqlStore) -> None:
    def get() -> str:
        with postgres_store() as uow:
            value = uow.secrets.get_or_add("key", threading.current_thread().name, NOW)
            uow.commit()
        return value

    assert len(set(race(8, get))) == 1


def test_concurrent_logins_get_no_more_attempts_than_the_limit(postgres_store: SqlStore) -> None:
    """Eight guesses at once, as if through eight processes: five reach the password check."""
    from wa_manager.services.sessions import LoginThrottle, TooManyAttempts

    throttle = LoginThrottle(postgres_store, lambda: NOW)

    def guess() -> str:
        try:
            throttle.attempt("maria", "10.0.0.1")
        except TooManyAttempts:
            return "refused"
        return "checked"

    outcomes = race(8, guess)
    assert sorted(outcomes) == ["checked"] * 5 + ["refused"] * 3  # type: ignore[type-var]


def test_two_processes_schedulers_on_one_database_sync_once_per_turn(sql_store: SqlStore) -> None:
    from wa_manager.bootstrap import bootstrap
    from wa_manager.config import Settings
    from wa_manager.domain.model import LIBRARY
    from wa_manager.testing import FastHasher, FixedClock, StaticChats

    clock = FixedClock(NOW)
    apps = [
        bootstrap(
            Settings(instance_id="instance1"),
            chats=StaticChats([]),
            store=sql_store,
            clock=clock,
            hasher=FastHasher(),
        )
        for _ in range(2)
    ]
    first, second = (app.syncs.scheduler(60.0, holder=f"p{n}") for n, app in enumerate(apps))
    assert first.run_once() == 60.0
    clock.advance(timedelta(seconds=20))
    assert second.run_once() == 41.0  # 40 s of first's turn left, and a second of slack
    clock.advance(timedelta(seconds=41))
    second.run_once()
    assert first.run_once() == 61.0  # second has the turn now, for 60 s and the slack
    runs = apps[0].syncs.history(LIBRARY, limit=10).items
    assert sorted(run.started_at for run in runs) == [NOW, NOW + timedelta(seconds=61)]
    assert (second.state().last_error, first.state().consecutive_failures) == (None, 0)
