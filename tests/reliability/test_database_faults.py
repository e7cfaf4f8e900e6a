"""The database failing under a sync, or not there at all: clean failures, no partial rows.

PostgreSQL: the sync's own backend is terminated from a second connection
(``pg_terminate_backend``) in the middle of its write transaction; SQLite: the
driver fails an insert half way. Either way the sync raises ``StorageError``,
no contact or conversation of it is left, the failure is recorded, and the
next sync succeeds. A database that is not migrated or not reachable gives the
CLI a one-line error that names the fix and the URL without its password.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from tests.conftest import backend_params, fresh_sqlite_url, migrated_url, postgres_url
from tests.reliability.figures import DATABASE, Recorder
from tests.reliability.support import (
    TOKEN,
    count_rows,
    engine_of,
    last_sync_error,
    sql_app,
)
from wa_manager.adapters.sql import SqlStore
from wa_manager.adapters.sql.engine import make_engine
from wa_manager.bootstrap import App
from wa_manager.domain.errors import StorageError
from wa_manager.entrypoints.http.app import create_app
from wa_manager.testing import StaticChats

WA_MANAGER = str(Path(sys.executable).with_name("wa-manager"))
PASSWORD = "pw-RELIABILITY-71c4"
VICTIM = "wa-reliability-victim"

pytestmark = pytest.mark.timeout(300)


def people(count: int, start: int = 0) -> StaticChats:
    return StaticChats((f"49151{n:08d}@c.us", f"Person {n}") for n in range(start, start + count))


@pytest.fixture(params=backend_params("sqlite", "postgres"))
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated empty database; on PostgreSQL its connections say ``VICTIM``."""
    if request.param == "sqlite":
        return fresh_sqlite_url(tmp_path)
    url = make_url(migrated_url("postgres", request))
    return url.update_query_dict({"application_name": VICTIM}).render_as_string(False)


def fail_once_at(app: App, fragment: str, fault: Callable[[Any], None]) -> list[str]:
    """Call ``fault(connection)`` before the first statement containing ``fragment``."""
    fired: list[str] = []

    @event.listens_for(engine_of(app), "before_cursor_execute")
    def before(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if fragment in statement and not fired:
            fired.append(statement)
            fault(connection)

    return fired


def terminate_own_backend(connection: Any) -> None:
    """Kill this connection's PostgreSQL backend from another connection, and wait for it."""
    pid = connection.connection.dbapi_connection.info.backend_pid
    # Autocommit: pg_stat_activity is a snapshot taken once per transaction, so polling
    # it inside one transaction would see the backend alive for ever.
    killer = create_engine(postgres_url() or "", isolation_level="AUTOCOMMIT")
    try:
        with killer.connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            for _ in range(500):
                gone = not other.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                ).scalar()
                if gone:
                    return
                time.sleep(0.01)
    finally:
        killer.dispose()
    raise AssertionError("the backend did not go away")


def disk_error(connection: Any) -> None:
    raise sqlite3.OperationalError("disk I/O error")


@pytest.mark.parametrize("fragment", ["INSERT INTO conversations", "INSERT INTO contacts"])
def test_losing_the_database_in_the_middle_of_a_sync_leaves_no_partial_rows(
    database: str, figures: Recorder, fragment: str
) -> None:
    chats = people(300)
    app = sql_app(database, chats)
    try:
        assert app.sync().created_contacts == 300
        chats.replace([*people(300).chats, *people(500, start=10_000).chats])
        fault = terminate_own_backend if database.startswith("postgresql") else disk_error
        fired = fail_once_at(app, fragment, fault)
        with pytest.raises(StorageError) as raised:
            app.sync()
        assert fired, "the fault was injected"
        message = str(raised.value)
        assert "\n" not in message
        assert count_rows(app, "contacts") == 300
        assert count_rows(app, "conversations") == 300
        assert last_sync_error(app) == message
        report = app.sync()
        assert report.created_contacts == report.created_conversations == 500
        assert count_rows(app, "contacts") == count_rows(app, "conversations") == 800
    finally:
        app.close()
    figures.add(DATABASE, cases=2, faults=1)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.skipif(not postgres_url(), reason="needs WA_MANAGER_TEST_DATABASE_URL")
def test_backends_killed_at_random_moments_of_big_syncs(
    request: pytest.FixtureRequest, figures: Recorder
) -> None:
    """100k chats; the sync's backend is terminated at a random moment, eight times over:
    each sync either completes or fails cleanly with nothing of it written."""
    url = make_url(migrated_url("postgres", request))
    url_text = url.update_query_dict({"application_name": VICTIM}).render_as_string(False)
    rng = random.Random(8)
    chats = people(100_000)
    app = sql_app(url_text, chats)
    killed = 0
    try:
        expected = 0
        for round_number in range(8):
            chats.replace(people(100_000, start=round_number * 5_000).chats)
            done = threading.Event()
            delay = rng.uniform(0.05, 2.5)
            killer = threading.Thread(target=_kill_victim_after, args=(delay, done))
            killer.start()
            try:
                report = app.sync()
            except StorageError:
                assert count_rows(app, "contacts") == expected
                assert count_rows(app, "conversations") == expected
                killed += 1
            else:
                expected += report.created_contacts
                assert count_rows(app, "contacts") == expected
            finally:
                done.set()
                killer.join()
        report = app.sync()
        assert count_rows(app, "contacts") == count_rows(app, "conversations")
    finally:
        app.close()
    assert killed >= 1, "at least one sync was hit"
    figures.add(DATABASE, cases=9, faults=killed)
    figures.note(DATABASE, f"{killed} of 8 syncs of 100,000 chats killed mid-way, none left rows")


def _kill_victim_after(delay: float, done: threading.Event) -> None:
    """Wait ``delay`` s, then terminate every backend of ``VICTIM`` inside a transaction."""
    if done.wait(delay):
        return
    # Autocommit: pg_stat_activity is a snapshot taken once per transaction, so polling
    # it inside one transaction would see the backend alive for ever.
    killer = create_engine(postgres_url() or "", isolation_level="AUTOCOMMIT")
    try:
        with killer.connect() as other:
            other.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND xact_start IS NOT NULL"
                ),
                {"name": VICTIM},
            )
            other.commit()
    finally:
        killer.dispose()


# -- not migrated, not reachable -----------------------------------------------------


def run_cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "ULTRAMSG_INSTANCE_ID": "instance1",
        "ULTRAMSG_TOKEN": TOKEN,
        "ULTRAMSG_BASE_URL": "http://127.0.0.1:9",
        "WA_MANAGER_DATABASE_URL": database_url,
    }
    return subprocess.run(
        [WA_MANAGER, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert TOKEN not in result.stderr + result.stdout
    assert PASSWORD not in result.stderr + result.stdout
    return lines[0]


@pytest.fixture
def unmigrated_postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty PostgreSQL schema, reached with a URL that has a password."""
    if postgres_url() is None:
        pytest.skip("needs WA_MANAGER_TEST_DATABASE_URL")
    from tests.conftest import blank_url

    generator = blank_url("postgres", request.getfixturevalue("tmp_path_factory"))
    url = make_url(next(generator)).set(password=PASSWORD)
    yield url.render_as_string(hide_password=False)
    generator.close()


@pytest.mark.postgres
@pytest.mark.parametrize("command", [("sync",), ("contacts", "list"), ("users", "list")])
def test_an_unmigrated_database_names_the_fix(
    unmigrated_postgres: str, figures: Recorder, command: tuple[str, ...]
) -> None:
    line = one_error_line(run_cli(*command, database_url=unmigrated_postgres))
    assert "wa-manager db upgrade" in line
    assert "postgres:***@127.0.0.1" in line
    figures.add(DATABASE, cases=1, faults=1)


UNREACHABLE = {
    "postgres refusing connections": f"postgresql+psycopg://wa:{PASSWORD}@127.0.0.1:1/wa",
    "postgres host unknown": f"postgresql+psycopg://wa:{PASSWORD}@db.invalid:5432/wa",
    "sqlite in a missing directory": "sqlite:////nonexistent-dir/deeper/wa.db",
}


@pytest.mark.parametrize("url", list(UNREACHABLE.values()), ids=list(UNREACHABLE))
def test_an_unreachable_database_is_one_clear_line(url: str, figures: Recorder) -> None:
    line = one_error_line(run_cli("contacts", "list", database_url=url))
    assert "database" in line
    shown = make_url(url).render_as_string(hide_password=True)
    assert shown in line
    figures.add(DATABASE, cases=1, faults=1)


def test_health_check_says_503_when_the_database_goes_away(
    tmp_path: Path, figures: Recorder
) -> None:
    url = fresh_sqlite_url(tmp_path)
    app = sql_app(url, people(3))
    with TestClient(create_app(app, secret_key="k"), base_url="https://testserver") as client:
        assert client.get("/healthz").status_code == 200
        app.store.close()
        lost = f"postgresql+psycopg://wa:{PASSWORD}@127.0.0.1:1/wa"
        app.store = SqlStore(make_engine(lost), lost)
        answer = client.get("/healthz")
        assert answer.status_code == 503
        assert PASSWORD not in answer.text
        assert answer.json()["error"]["message"].startswith("cannot reach the database")
    figures.add(DATABASE, cases=2, faults=1, requests=2)
