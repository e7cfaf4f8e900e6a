"""Migrating the schema with Alembic, in code: no ``alembic.ini`` at run time.

The migrations ship in ``migrations/versions``. ``upgrade`` brings a database to
the newest revision and is idempotent; two processes upgrading at once are
serialised (an advisory lock on PostgreSQL, the write lock on SQLite).
``revision_state`` is the cheap check ``SqlStore.open`` runs.
"""

from __future__ import annotations

import enum
import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from wa_manager.adapters.sql.engine import begin_immediately, make_engine
from wa_manager.adapters.sql.errors import translate, unreachable

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed number: the advisory lock that keeps two upgrades from interleaving.
_UPGRADE_LOCK_KEY = 0x7761_6D67_7261_7465


class SchemaState(enum.Enum):
    """How a database's schema compares with this version of wa-manager."""

    CURRENT = "current"
    MISSING = "missing"  # no schema at all
    OLD = "old"  # an older revision: needs `db upgrade`
    UNKNOWN = "unknown"  # a revision this wa-manager does not know (a newer one)


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest revision this version of wa-manager knows."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def revision_state(engine: Engine, url: str) -> SchemaState:
    """Compare the database's revision with ours; ``StorageError`` if it cannot be reached."""
    try:
        with engine.connect() as connection:
            current = _current_revision(connection)
    except sa_exc.OperationalError as error:
        raise unreachable(url, error) from error
    except sa_exc.SQLAlchemyError as error:
        raise translate(error, url) from error
    if current is None:
        return SchemaState.MISSING
    if current == head_revision():
        return SchemaState.CURRENT
    try:
        _scripts().get_revision(current)
    except Exception:  # alembic raises several kinds for an unknown revision
        return SchemaState.UNKNOWN
    return SchemaState.OLD


def upgrade_engine(engine: Engine, url: str) -> None:
    """Migrate the database behind ``engine`` to the newest revision, in one transaction."""
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # A migration that rebuilds a table (batch mode) drops the old one: with
                # foreign keys on, that would cascade to every row that refers to it.
                _sqlite_pragma(connection, "foreign_keys=OFF")
                begin_immediately(connection)
            try:
                with connection.begin():
                    if not sqlite:
                        connection.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY}
                        )
                    command.upgrade(_config(connection), "head")
                    if sqlite:
                        _check_foreign_keys(connection)
            finally:
                if sqlite:
                    _sqlite_pragma(connection, "foreign_keys=ON")
    except sa_exc.OperationalError as error:
        raise unreachable(url, error) from error
    except sa_exc.SQLAlchemyError as error:
        raise translate(error, url) from error


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    """Set a pragma outside any transaction (SQLite ignores some inside one)."""
    dbapi_connection: Any = connection.connection.dbapi_connection
    dbapi_connection.execute(f"PRAGMA {pragma}")


def _check_foreign_keys(connection: Connection) -> None:
    """Refuse (roll back) a migration that left a row pointing nowhere."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
    if broken is not None:
        raise RuntimeError(f"the migration broke a foreign key in table {broken[0]!r}")


def upgrade(url: str) -> None:
    """Create or migrate the schema of the database at ``url``; idempotent."""
    engine = make_engine(url)
    try:
        upgrade_engine(engine, url)
    finally:
        engine.dispose()
