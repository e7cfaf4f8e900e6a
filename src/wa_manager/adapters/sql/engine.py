"""Creating the SQLAlchemy ``Engine`` for a database URL, with each backend set up right.

SQLite (the embedded default): write-ahead logging so readers never block the
writer, foreign keys on, a busy timeout, and SQLAlchemy in charge of ``BEGIN``
(the ``sqlite3`` module's legacy transaction handling is switched off, as
SQLAlchemy's "Transactions with SQLite and the sqlite3 driver" docs recommend),
so that every transaction, reads included, is one serializable unit. A
connection can be told to start its next transaction with ``BEGIN IMMEDIATE``
(``begin_immediately``), which takes the write lock at once.

PostgreSQL: psycopg 3, with ``pool_pre_ping`` so that connections dropped by a
restart are replaced instead of failing a request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from wa_manager.domain.errors import ConfigError

# How long an ordinary SQLite write waits for another writer before failing.
SQLITE_BUSY_TIMEOUT_MS = 10_000
_BEGIN_KEY = "wa_manager_begin"


def parse_url(url: str) -> URL:
    """The parsed URL; ``postgresql://`` means psycopg 3; anything unusable is a ``ConfigError``."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise ConfigError(
            "WA_MANAGER_DATABASE_URL is not a database URL; use sqlite:///PATH "
            "or postgresql+psycopg://USER:PASSWORD@HOST/DB"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"database backend {parsed.get_backend_name()!r} is not supported; "
            "use sqlite:///PATH or postgresql+psycopg://..."
        )
    return parsed


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL), configured for wa-manager."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except sa_exc.NoSuchModuleError:
        raise ConfigError(
            f"no driver for {parsed.drivername!r}; use postgresql+psycopg://..."
        ) from None


def _sqlite_engine(url: URL) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    options: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    if in_memory:  # one shared connection, or every checkout would see another database
        options.update(poolclass=StaticPool)
        options["connect_args"]["check_same_thread"] = False
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        if not in_memory:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Unicode-aware lower() so that case-insensitive search works beyond ASCII.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.info.pop(_BEGIN_KEY, "BEGIN"))

    return engine


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def begin_immediately(connection: Connection) -> None:
    """Make the next transaction on this SQLite connection start with ``BEGIN IMMEDIATE``."""
    connection.info[_BEGIN_KEY] = "BEGIN IMMEDIATE"


def set_sqlite_busy_timeout(connection: Connection, milliseconds: int) -> None:
    """Change how long this SQLite connection waits for a lock (outside any transaction)."""
    dbapi_connection: Any = connection.connection.dbapi_connection
    dbapi_connection.execute(f"PRAGMA busy_timeout={int(milliseconds)}")
