"""Fixtures of the integration tests: ``store``, an empty store of every kind."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest
from tests.conftest import backend_params, migrated_url

from wa_manager.adapters.sql import SqlStore
from wa_manager.domain.ports import Store

HAS_MEMORY = importlib.util.find_spec("wa_manager.adapters.memory") is not None

STORE_PARAMS = [
    pytest.param(
        "memory",
        marks=pytest.mark.skipif(
            not HAS_MEMORY, reason="wa_manager.adapters.memory not written yet"
        ),
    ),
    *backend_params("sqlite", "postgres"),
]


@pytest.fixture(params=STORE_PARAMS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """An empty store of each kind: memory, SQLite, PostgreSQL."""
    if request.param == "memory":
        from wa_manager.adapters.memory import InMemoryStore

        yield InMemoryStore()
        return
    sql_store = SqlStore.open(migrated_url(request.param, request))
    try:
        yield sql_store
    finally:
        sql_store.close()
