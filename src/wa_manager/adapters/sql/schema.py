"""Migrating the schema with Alembic, in code: no ``alembic.ini`` at run time.

The migrations ship in ``migrations/versions``. ``upgrade`` brings a database to
the newest revision and is idempotent; two processes upgrading at once are
serialised (an advisory lock on PostgreSQL, the write lock on SQLite).
``revision_state`` is the cheap check ``SqlStore.open`` runs: when the database
is at the newest revision (read from the migration files' ``revision`` lines) it
answers without importing Alembic, whose import alone is ~0.5 s of every CLI
command's start; anything else goes through Alembic.
"""

from __future__ import annotations

import enum
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from wa_manager.adapters.sql.engine import begin_immediately, make_engine
from wa_manager.adapters.sql.errors import translate, unreachable

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


_REVISION_LINE = re.compile(r'^(down_revision|revision) = (?:"([^"]+)"|None)\s*$', re.MULTILINE)


@functools.cache
def file_head_revision() -> str | None:
    """The newest revision as the migration files name it (the one no file builds on),
    read without Alembic; None when the files do not name exactly one."""
    revisions: set[str] = set()
    bases: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        text_ = script.read_text("utf-8")
        lines = {match[1]: match[2] for match in _REVISION_LINE.finditer(text_)}
        if lines.get("revision"):
            revisions.add(lines["revision"])
            if lines.get("down_revision"):
                bases.add(lines["down_revision"])
    heads = revisions - bases
    return heads.pop() if len(heads) == 1 else None


def _stored_revisions(connection: Connection) -> list[str] | None:
    """The rows of ``alembic_version``, or None when it cannot be read (no schema yet)."""
    try:
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except sa_exc.SQLAlchemyError:
        return None
    return [row[0] for row in rows]


def head_revision() -> str:
    """The newest revision this version of wa-manager knows."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def revision_state(engine: Engine, url: str) -> SchemaState:
    """Compare the database's revision with ours; ``StorageError`` if it cannot be reached."""
    head = file_head_revision()
    try:
        with engine.connect() as connection:
            if head is not None and _stored_revisions(connection) == [head]:
                return SchemaState.CURRENT
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
            from alembic import command

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
