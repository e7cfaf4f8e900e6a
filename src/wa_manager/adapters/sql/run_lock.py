"""The run lock: held by a sync for its whole life, released by the system when its
process dies, so that a sync history row left ``running`` can be told apart from a
sync that really is still running (``docs/interface.md``, "Sync history").

- PostgreSQL: a session-level advisory lock on a connection of its own, taken with
  ``pg_try_advisory_lock`` (never waits). PostgreSQL drops it when that session ends,
  including when the client process is killed and its socket closes.
- SQLite file: an exclusive ``flock`` on a file beside the database
  (``<database>.sync-<key>.lock``); the kernel drops it when the process dies.
  Separate opens of the file exclude each other within one process too.
- SQLite in memory: one process by definition, so a lock in this process.

This is a different lock from the transaction's sync lock (``SqlUnitOfWork.lock_sync``),
which still guards the writing transaction itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator

from sqlalchemy import Engine, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from wa_manager.adapters.sql.advisory import instance_lock_key
from wa_manager.adapters.sql.errors import translate, unreachable
from wa_manager.domain.errors import SyncAlreadyRunning

_LOCAL_LOCKS: dict[tuple[int, str], threading.Lock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()


def _already_running(instance_id: str) -> SyncAlreadyRunning:
    return SyncAlreadyRunning(
        f"a sync of {instance_id} is already running; try again when it has finished"
    )


@contextlib.contextmanager
def hold_run_lock(engine: Engine, url: str, instance_id: str) -> Iterator[None]:
    """Hold ``instance_id``'s run lock while the block runs, or raise ``SyncAlreadyRunning``
    at once when a live process holds it."""
    if engine.dialect.name == "postgresql":
        with _postgresql_lock(engine, url, instance_id):
            yield
        return
    database = make_url(url).database
    if database in (None, "", ":memory:"):
        with _local_lock(engine, instance_id):
            yield
        return
    assert database is not None
    with _file_lock(database, instance_id):
        yield


@contextlib.contextmanager
def _postgresql_lock(engine: Engine, url: str, instance_id: str) -> Iterator[None]:
    key = instance_lock_key("sync run", instance_id)
    try:
        connection = engine.connect()
    except sa_exc.SQLAlchemyError as error:
        raise unreachable(url, error) from error
    with connection:
        try:
            locked = connection.execute(select(func.pg_try_advisory_lock(key))).scalar()
            connection.commit()  # a session lock outlives the transaction: none stays open
        except sa_exc.SQLAlchemyError as error:
            raise translate(error, url) from error
        if not locked:
            raise _already_running(instance_id)
        try:
            yield
        finally:
            # Best effort: closing a broken connection ends its session, which frees it too.
            with contextlib.suppress(sa_exc.SQLAlchemyError):
                connection.execute(select(func.pg_advisory_unlock(key)))
                connection.commit()


@contextlib.contextmanager
def _file_lock(database: str, instance_id: str) -> Iterator[None]:
    suffix = hashlib.blake2b(instance_id.encode(), digest_size=4).hexdigest()
    path = f"{database}.sync-{suffix}.lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _already_running(instance_id) from None
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def _local_lock(engine: Engine, instance_id: str) -> Iterator[None]:
    with _LOCAL_LOCKS_GUARD:
        lock = _LOCAL_LOCKS.setdefault((id(engine), instance_id), threading.Lock())
    if not lock.acquire(blocking=False):
        raise _already_running(instance_id)
    try:
        yield
    finally:
        lock.release()
