"""The SQL adapter: SQLAlchemy 2 Core over SQLite (the default) or PostgreSQL (psycopg 3).

``SqlStore.open(url, auto_migrate=...)`` gives the ``Store`` port;
``upgrade(url)`` creates or migrates the schema (Alembic, idempotent).

Modules: ``engine`` (engines per backend), ``tables`` (the schema), ``schema``
(migrations in code), ``database`` and ``errors`` (statements and their errors),
one repository module per aggregate (``contacts``, ``conversations``,
``accounts``, ``links``, ``sync_runs``), ``unit_of_work``, ``store``.
"""

from wa_manager.adapters.sql.schema import upgrade
from wa_manager.adapters.sql.store import SqlStore

__all__ = ["SqlStore", "upgrade"]
