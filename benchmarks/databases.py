"""The databases a benchmark runs on: a fresh, migrated, empty one per measurement.

SQLite is a file in a temporary folder; PostgreSQL is a dedicated database
(``wa_bench`` by default, never the tests' ``test``) dropped and created again
for each measurement, then dropped at the end. The schema always comes from our
own migrations, so the limit and the naive peer write into the same tables,
indexes and constraints as our code.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/wa_bench"
POSTGRES_URL_VARIABLE = "WA_MANAGER_BENCH_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")


def migrate(url: str) -> None:
    """Create our schema with our own migrations (``wa-manager db upgrade``)."""
    from wa_manager.adapters.sql import upgrade

    upgrade(url)


def dbapi_connect(url: str) -> Any:
    """A raw DB-API connection (sqlite3 or psycopg) to the SQLAlchemy ``url``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sqlite3.connect(parsed.database or ":memory:")
    return psycopg.connect(
        parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    )


class BenchDatabase:
    """One backend's benchmark database; ``fresh()`` empties and migrates it."""

    def __init__(self, backend: str, folder: Path) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self.backend = backend
        if backend == "sqlite":
            self._path = folder / "bench.db"
            self.url = f"sqlite:///{self._path}"
        else:
            self.url = os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)

    def fresh(self) -> str:
        """Drop whatever is there, create an empty database with our schema; its URL."""
        self.drop()
        if self.backend == "postgres":
            name = make_url(self.url).database
            with self._admin() as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
        migrate(self.url)
        return self.url

    def drop(self) -> None:
        """Remove the database (files, or the PostgreSQL database)."""
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{self._path}{suffix}").unlink()
            return
        name = make_url(self.url).database
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self) -> psycopg.Connection[Any]:
        maintenance = make_url(self.url).set(drivername="postgresql", database="postgres")
        return psycopg.connect(maintenance.render_as_string(hide_password=False), autocommit=True)

    def describe(self) -> str:
        """The server version, for the report's machine line."""
        if self.backend == "sqlite":
            return f"SQLite {sqlite3.sqlite_version}"
        with self._admin() as admin:
            row = admin.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0] if row else '?'}"


@contextlib.contextmanager
def bench_databases(backends: list[str]) -> Iterator[dict[str, BenchDatabase]]:
    """One ``BenchDatabase`` per backend, removed on leaving."""
    with tempfile.TemporaryDirectory(prefix="wa-bench-") as folder:
        databases = {backend: BenchDatabase(backend, Path(folder)) for backend in backends}
        try:
            yield databases
        finally:
            for database in databases.values():
                with contextlib.suppress(psycopg.Error):
                    database.drop()
