"""Two admins disabling (or demoting) each other at the same moment never leave the team
without an enabled admin: exactly one of the two changes wins, the other is a Conflict.

Run on SQLite and on PostgreSQL (where the enabled admins' rows are locked before the
check), over many rounds started together by a barrier.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import backend_params, migrated_url
from wa_manager import Settings, bootstrap
from wa_manager.adapters.sql import SqlStore
from wa_manager.domain.errors import Conflict
from wa_manager.domain.model import LIBRARY
from wa_manager.testing import FastHasher

ROUNDS = 25

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(params=backend_params("sqlite", "postgres"))
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return migrated_url(request.param, request)


@pytest.mark.parametrize("change", [{"disabled": True}, {"role": "user"}])
def test_two_admins_removing_each_other_at_once_leave_one(
    database: str, change: dict[str, Any]
) -> None:
    store = SqlStore.open(database)
    app = bootstrap(Settings(instance_id="instance1"), store=store, hasher=FastHasher())
    try:
        anna = app.add_user("anna", "admin")
        bert = app.add_user("bert", "admin")
        for _ in range(ROUNDS):
            outcomes: list[str] = []
            barrier = threading.Barrier(2)

            def remove(
                actor: Any, target: int, barrier: Any = barrier, outcomes: list[str] = outcomes
            ) -> None:
                barrier.wait()
                try:
                    app.accounts.change_user(actor, target, **change)
                    outcomes.append("done")
                except Conflict:
                    outcomes.append("conflict")

            threads = [
                threading.Thread(target=remove, args=(anna, bert.id)),
                threading.Thread(target=remove, args=(bert, anna.id)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            admins = [u for u in app.accounts.users(LIBRARY) if u.is_admin and u.active]
            assert sorted(outcomes) == ["conflict", "done"]
            assert len(admins) == 1
            for user in (anna, bert):  # both enabled admins again for the next round
                app.accounts.change_user(LIBRARY, user.id, role="admin", disabled=False)
    finally:
        store.close()
