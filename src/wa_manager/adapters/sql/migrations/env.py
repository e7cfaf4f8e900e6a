"""Alembic environment: runs the migrations on the connection that ``upgrade`` hands over.

There is no ``alembic.ini``; ``wa_manager.adapters.sql.schema`` builds the
Alembic config in code and passes an open connection in
``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from wa_manager.adapters.sql.tables import metadata


def run_migrations_online() -> None:
    """Migrate over the caller's connection, inside its transaction."""
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through wa_manager.adapters.sql.upgrade(url)")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
