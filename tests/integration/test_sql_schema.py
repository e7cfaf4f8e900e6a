"""Opening SQL databases: migrations, schema checks, and errors that say what to do."""

from __future__ import annotations

import sqlite3
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from tests.conftest import SQL_BACKENDS

from wa_manager.adapters.sql import SqlStore, upgrade
from wa_manager.domain.errors import ConfigError, SchemaNotReady, StorageError

TABLES = {
    "alembic_version",
    "leases",
    "login_attempts",
    "sessions",
    "shared_secrets",
    "api_tokens",
    "contact_aliases",
    "contact_links",
    "contacts",
    "conversation_events",
    "conversations",
    "messages",
    "link_events",
    "sync_runs",
    "users",
    "teams",
    "team_members",
    "contact_teams",
    "team_events",
    "instances",
    "instance_users",
    "instance_teams",
}


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_the_schema_and_is_idempotent(blank_database_url: str) -> None:
    assert table_names(blank_database_url) == set()
    upgrade(blank_database_url)
    assert table_names(blank_database_url) == TABLES
    upgrade(blank_database_url)  # again: nothing to do, no error
    store = SqlStore.open(blank_database_url)
    store.ping()
    store.close()


def test_the_schema_has_the_indexes_the_queries_need(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        inspector = inspect(engine)
        contact_uniques = {
            tuple(u["column_names"]) for u in inspector.get_unique_constraints("contacts")
        }
        conversation_uniques = {
            tuple(u["column_names"]) for u in inspector.get_unique_constraints("conversations")
        }
        contact_indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("contacts")}
        link_indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("contact_links")}
        conversation_indexes = {
            tuple(i["column_names"]) for i in inspector.get_indexes("conversations")
        }
        link_key = inspector.get_pk_constraint("contact_links")["constrained_columns"]
    finally:
        engine.dispose()
    assert ("source", "wa_id") in contact_uniques
    assert ("contact_id",) in conversation_uniques
    # lists by activity: everyone's (admins) and each assignee's ("Mine")
    assert ("last_activity_at", "id") in conversation_indexes
    assert ("assigned_user_id", "last_activity_at", "id") in conversation_indexes
    assert ("phone",) in contact_indexes
    assert ("user_id", "contact_id") in link_indexes
    if engine.dialect.name == "postgresql":  # SQLite's unique index holds the id already
        assert ("contact_id", "id") in conversation_indexes
    assert link_key == ["contact_id", "user_id"]


def test_visibility_through_teams_reads_indexes(database_url: str) -> None:
    """A member's teams by user, a team's contacts by team (``visible_contact_ids``)."""
    engine = create_engine(database_url)
    try:
        inspector = inspect(engine)
        member_indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("team_members")}
        team_link_indexes = {
            tuple(i["column_names"]) for i in inspector.get_indexes("contact_teams")
        }
        team_uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("teams")}
    finally:
        engine.dispose()
    assert ("user_id", "team_id") in member_indexes
    assert ("team_id", "contact_id") in team_link_indexes
    assert ("name",) in team_uniques


def test_visibility_through_instance_membership_reads_indexes(database_url: str) -> None:
    """A user's instances and a team's instances by member (``visible_contact_ids``),
    an instance's members by its key; and a member's deletion takes its memberships."""
    engine = create_engine(database_url)
    try:
        inspector = inspect(engine)
        found = {
            table: (
                {tuple(i["column_names"]) for i in inspector.get_indexes(table)},
                inspector.get_pk_constraint(table)["constrained_columns"],
                {fk["options"].get("ondelete") for fk in inspector.get_foreign_keys(table)},
            )
            for table in ("instance_users", "instance_teams")
        }
    finally:
        engine.dispose()
    for table, member in (("instance_users", "user_id"), ("instance_teams", "team_id")):
        assert found[table] == ({(member, "instance_id")}, ["instance_id", member], {"CASCADE"})


def test_an_unmigrated_database_is_refused_with_what_to_run(blank_database_url: str) -> None:
    with pytest.raises(SchemaNotReady, match=r"no wa-manager schema; run `wa-manager db upgrade`"):
        SqlStore.open(blank_database_url, auto_migrate=False)


def test_an_unmigrated_sqlite_file_is_named_in_the_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(SchemaNotReady) as caught:
        SqlStore.open(url, auto_migrate=False)
    assert str(caught.value) == (
        f"the database at {url} has no wa-manager schema; run `wa-manager db upgrade`"
    )


def test_auto_migrate_sets_up_a_new_database_on_first_use(blank_database_url: str) -> None:
    store = SqlStore.open(blank_database_url, auto_migrate=True)
    store.close()
    assert table_names(blank_database_url) == TABLES
    SqlStore.open(blank_database_url, auto_migrate=False).close()


def test_a_database_migrated_by_a_newer_wa_manager_is_refused(blank_database_url: str) -> None:
    database_url = blank_database_url  # its own database: this test spoils the schema
    upgrade(database_url)
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
    finally:
        engine.dispose()
    with pytest.raises(StorageError, match="newer schema"):
        SqlStore.open(database_url)


def test_a_sqlite_file_in_a_missing_directory_is_a_storage_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    with pytest.raises(StorageError, match="cannot reach the database") as caught:
        SqlStore.open(url, auto_migrate=True)
    assert "\n" not in str(caught.value)


def test_an_unreachable_postgres_is_named_without_its_password() -> None:
    url = "postgresql+psycopg://maria:s3cr3t-pa55@127.0.0.1:1/wa"
    with pytest.raises(StorageError) as caught:
        SqlStore.open(url, auto_migrate=False)
    message = str(caught.value)
    assert "s3cr3t-pa55" not in message
    assert "postgresql+psycopg://maria:***@127.0.0.1:1/wa" in message
    assert "check that it is running" in message


def test_a_url_that_is_no_database_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a database URL"):
        SqlStore.open("not a url")
    with pytest.raises(ConfigError, match="not supported"):
        SqlStore.open("mysql://localhost/wa")


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "wa.db"
    store = SqlStore.open(f"sqlite:///{path}", auto_migrate=True)
    try:
        with store() as uow:
            assert uow.connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_times_come_back_aware_in_utc(backend: str, request: pytest.FixtureRequest) -> None:
    from datetime import datetime, timedelta, timezone

    from tests.conftest import migrated_url

    store = SqlStore.open(migrated_url(backend, request))
    berlin = timezone(timedelta(hours=1))
    try:
        with store() as uow:
            user = uow.users.add("maria", "user", None, datetime(2024, 1, 1, 13, 0, tzinfo=berlin))
            uow.commit()
        with store() as uow:
            stored = uow.users.get(user.id)
        assert stored is not None
        assert stored.created_at == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
        assert stored.created_at.utcoffset() == timedelta(0)
        with store() as uow, pytest.raises(ValueError, match="naive"):
            uow.users.add("tom", "user", None, datetime(2024, 1, 1))
    finally:
        store.close()


def test_the_upgrade_stops_with_the_names_when_usernames_differ_only_in_case(
    tmp_path: Path,
) -> None:
    from alembic import command

    from wa_manager.adapters.sql.engine import make_engine
    from wa_manager.adapters.sql.schema import _config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(_config(connection), "0004")
            for name in ("admin", "ADMIN", "maria"):
                connection.execute(
                    text(
                        "INSERT INTO users (username, role, active, created_at) "
                        "VALUES (:name, 'user', 1, '2024-11-24 12:00:00')"
                    ),
                    {"name": name},
                )
    finally:
        engine.dispose()
    with pytest.raises(StorageError, match="these clash: admin; rename"):
        upgrade(url)


def test_the_head_read_from_the_migration_files_is_alembics() -> None:
    """The check that opens a current database without importing Alembic knows the same
    newest revision as Alembic (a migration added later cannot make them disagree)."""
    from wa_manager.adapters.sql.schema import file_head_revision, head_revision

    assert file_head_revision() == head_revision()


def test_a_database_whose_revision_is_not_the_newest_is_old(blank_database_url: str) -> None:
    upgrade(blank_database_url)
    engine = create_engine(blank_database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    engine.dispose()
    with pytest.raises(SchemaNotReady):
        SqlStore.open(blank_database_url)
