"""``Database``: one open connection as the repositories see it.

Every statement goes through ``execute`` so that database exceptions are
translated into domain errors in one place (``errors.translate``), and
``insert`` picks the dialect's INSERT (for ``on_conflict_do_nothing``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.sql import Executable

from wa_manager.adapters.sql.errors import translate
from wa_manager.domain.errors import WaManagerError

# A result whose rows may have any number of columns.
AnyResult = CursorResult[*tuple[Any, ...]]
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class Database:
    """A connection plus the URL to name in errors."""

    def __init__(self, connection: Connection, url: str) -> None:
        self.connection = connection
        self.url = url
        self.dialect = connection.dialect.name

    def execute(
        self,
        statement: Executable,
        params: Params = None,
        *,
        integrity_error: WaManagerError | None = None,
    ) -> AnyResult:
        """Run one statement (``params`` a list: executemany); raise domain errors only.

        ``integrity_error``: what to raise when a constraint rejects the statement.
        """
        try:
            return self.connection.execute(statement, params)
        except sa_exc.StatementError as error:
            if not isinstance(error, sa_exc.DBAPIError) and isinstance(error.orig, Exception):
                raise error.orig from error  # our bug (e.g. a naive datetime), not the database's
            raise translate(error, self.url, integrity_error=integrity_error) from error
        except sa_exc.SQLAlchemyError as error:
            raise translate(error, self.url, integrity_error=integrity_error) from error

    def insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """The dialect's INSERT for ``table``, which knows ``on_conflict_do_nothing``,
        and whose ``rowcount`` is kept (SQLAlchemy keeps it for UPDATE and DELETE only)."""
        statement = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)
        return statement.execution_options(preserve_rowcount=True)
