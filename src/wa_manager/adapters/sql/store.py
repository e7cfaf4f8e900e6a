"""``SqlStore``: the ``Store`` port over SQLAlchemy, opened from a database URL."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

from wa_manager.adapters.sql.engine import make_engine
from wa_manager.adapters.sql.errors import safe_url, schema_not_ready, unreachable
from wa_manager.adapters.sql.run_lock import hold_run_lock
from wa_manager.adapters.sql.schema import SchemaState, revision_state, upgrade_engine
from wa_manager.adapters.sql.unit_of_work import SqlUnitOfWork
from wa_manager.domain.errors import StorageError
from wa_manager.domain.ports import Store, UnitOfWork


class SqlStore:
    """A SQLite or PostgreSQL database: a factory of ``SqlUnitOfWork``s."""

    def __init__(self, engine: Engine, url: str) -> None:
        """Wrap an engine made by ``make_engine``; prefer ``SqlStore.open``."""
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, url: str, *, auto_migrate: bool = False) -> SqlStore:
        """Connect to ``url`` and check its schema once.

        With ``auto_migrate`` a missing or old schema is migrated; without, it
        raises ``SchemaNotReady``. An unreachable database raises ``StorageError``.
        """
        engine = make_engine(url)
        try:
            state = revision_state(engine, url)
            if state is SchemaState.UNKNOWN:
                raise StorageError(
                    f"the database at {safe_url(url)} has a newer schema than this "
                    "wa-manager knows; upgrade wa-manager"
                )
            if state is not SchemaState.CURRENT:
                if not auto_migrate:
                    raise schema_not_ready(url)
                upgrade_engine(engine, url)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, url)

    def __call__(self, *, read_only: bool = False) -> SqlUnitOfWork:
        """A new unit of work (one transaction); ``read_only``: one that never waits
        for a writer and must not write."""
        return SqlUnitOfWork(self.engine, self.url, read_only=read_only)

    def ping(self) -> None:
        """Return when the database answers; raise ``StorageError`` otherwise."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except sa_exc.SQLAlchemyError as error:
            raise unreachable(self.url, error) from error

    def hold_sync_run(self, instance_id: str) -> contextlib.AbstractContextManager[None]:
        """The run lock of ``instance_id`` for a whole sync (``run_lock``)."""
        return hold_run_lock(self.engine, self.url, instance_id)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"SqlStore({safe_url(self.url)!r})"


if TYPE_CHECKING:  # mypy proves that the SQL classes implement the ports

    def _implements_ports(store: SqlStore) -> tuple[Store, UnitOfWork]:
        uow: UnitOfWork = store()
        return store, uow
