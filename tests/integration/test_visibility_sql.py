"""The visibility property on SQLite and PostgreSQL: for random users, teams, contacts
of two WhatsApp numbers, links, team links and memberships of the numbers, what each
viewer sees through the SQL store is exactly what the rule says (``World.may_see``,
by brute force), page by page, one by one, and per number (``tests/unit/visibility``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import SQL_BACKENDS, empty_postgres_tables, fresh_sqlite_url
from tests.strategies import World, worlds
from tests.unit.visibility import check_visibility

from wa_manager.adapters.sql import SqlStore


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_sql_visibility_is_the_rule(backend: str, request: pytest.FixtureRequest) -> None:
    postgres = str(request.getfixturevalue("postgres_schema_url")) if backend == "postgres" else ""

    @settings(
        max_examples=25 if backend == "sqlite" else 15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(worlds(max_users=4, max_contacts=8), st.integers(min_value=1, max_value=3))
    def sees_what_the_rule_allows(world: World, page_size: int) -> None:
        with tempfile.TemporaryDirectory() as folder:
            if postgres:
                empty_postgres_tables(postgres)
                url = postgres
            else:
                url = fresh_sqlite_url(Path(folder))
            store = SqlStore.open(url)
            try:
                check_visibility(store, world, page_size)
            finally:
                store.close()

    sees_what_the_rule_allows()
