"""Database fixtures shared by every test folder.

- ``postgres_url()``: the PostgreSQL URL from ``WA_MANAGER_TEST_DATABASE_URL``, or None.
- ``blank_database_url``: an empty database (no schema) on each available backend:
  a SQLite file in ``tmp_path``; on PostgreSQL a fresh schema, dropped afterwards.
- ``database_url``: an empty database with the newest schema: on SQLite a copy of a
  file migrated once per test process (``fresh_sqlite_url``); on PostgreSQL one
  schema per session, emptied (TRUNCATE) before each test.
- ``sql_store``: an opened ``SqlStore`` on ``database_url``, closed afterwards.

Backends are the params ``"sqlite"`` and ``"postgres"``; the PostgreSQL one is
skipped, saying why, when no URL is given.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from wa_manager.adapters.sql import SqlStore, upgrade
from wa_manager.adapters.sql.tables import metadata

POSTGRES_ENV = "WA_MANAGER_TEST_DATABASE_URL"
NO_POSTGRES = f"set {POSTGRES_ENV}=postgresql+psycopg://... to run the PostgreSQL tests"


def postgres_url() -> str | None:
    """The PostgreSQL server to test against, or None."""
    return os.environ.get(POSTGRES_ENV) or None


def backend_params(*names: str) -> list[object]:
    """pytest params for these backends; ``postgres`` skipped without a server."""
    needs_server = [
        pytest.mark.postgres,
        pytest.mark.skipif(not postgres_url(), reason=NO_POSTGRES),
    ]
    return [pytest.param(name, marks=needs_server if name == "postgres" else ()) for name in names]


SQL_BACKENDS = backend_params("sqlite", "postgres")


def in_fresh_postgres_schema(base_url: str) -> tuple[str, str]:
    """Create a uniquely named schema; return (its name, a URL whose search_path is it)."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def drop_postgres_schema(base_url: str, schema: str) -> None:
    """Drop a schema made by ``in_fresh_postgres_schema`` and everything in it."""
    engine = create_engine(base_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        engine.dispose()


def blank_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of ``backend``, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'wa_manager.db'}"
        return
    base = postgres_url()
    assert base is not None
    schema, url = in_fresh_postgres_schema(base)
    try:
        yield url
    finally:
        drop_postgres_schema(base, schema)


@pytest.fixture(params=SQL_BACKENDS)
def blank_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database (no schema) on each backend."""
    yield from blank_url(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """One migrated PostgreSQL schema for the whole session (emptied before each test)."""
    base = postgres_url()
    if base is None:
        pytest.skip(NO_POSTGRES)
    schema, url = in_fresh_postgres_schema(base)
    try:
        upgrade(url)
        yield url
    finally:
        drop_postgres_schema(base, schema)


def empty_postgres_tables(url: str) -> None:
    """Delete every row and restart the id sequences: a migrated database as new."""
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@cache
def _migrated_sqlite_template() -> Path:
    """One migrated, empty SQLite file per test process (migrating costs about a second
    on a busy machine; copying it, a millisecond), removed when the process ends."""
    folder = Path(tempfile.mkdtemp(prefix="wa-manager-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "template.db"
    upgrade(f"sqlite:///{path}")  # closes its connections: no -wal file is left behind
    return path


def fresh_sqlite_url(directory: Path, name: str = "wa_manager.db") -> str:
    """A new migrated, empty SQLite database in ``directory`` (a copy of the template)."""
    target = directory / name
    shutil.copyfile(_migrated_sqlite_template(), target)
    return f"sqlite:///{target}"


def migrated_url(backend: str, request: pytest.FixtureRequest) -> str:
    """An empty migrated database: a fresh SQLite file, or the session's emptied PG schema."""
    if backend == "sqlite":
        return fresh_sqlite_url(request.getfixturevalue("tmp_path"))
    url = str(request.getfixturevalue("postgres_schema_url"))
    empty_postgres_tables(url)
    return url


@pytest.fixture(params=SQL_BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database on each backend."""
    return migrated_url(request.param, request)


@pytest.fixture
def sql_store(database_url: str) -> Iterator[SqlStore]:
    """An opened ``SqlStore`` on a fresh migrated database, closed afterwards."""
    store = SqlStore.open(database_url, auto_migrate=False)
    try:
        yield store
    finally:
        store.close()
