"""Workflow changes racing each other on a real database (PostgreSQL, and SQLite).

- Two admins assign the same conversation at once: it ends with one of them, and
  the trail is a chain (each event starts where the previous ended) ending there.
- An unlink races an assignment of the same person: either the assignment came
  first and the unlink took it away again (two events), or the unlink came first
  and the assignment was refused; never an assignee who cannot see it.
- The same, with the assignment's transaction held open at its most delicate
  point (the person's right to see it checked, the conversation changed, not yet
  committed) while the unlink starts: the unlink waits for it, then clears it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import backend_params, fresh_sqlite_url, migrated_url
from tests.reliability.support import assert_sight_loss_waits_for_assignment
from tests.reliability.support import together as _together
from wa_manager import App
from wa_manager.adapters.sql import SqlStore
from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import CLI, ConversationEvent, User
from wa_manager.testing import memory_app

ROUNDS = 12
CHATS = [{"id": f"4915200000{n}@c.us", "name": f"Person {n}"} for n in range(ROUNDS)]

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(params=backend_params("sqlite", "postgres"))
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    url = (
        fresh_sqlite_url(tmp_path)
        if request.param == "sqlite"
        else migrated_url("postgres", request)
    )
    built = memory_app(CHATS, store=SqlStore.open(url))
    built.sync()
    yield built
    built.close()


def _chain_ends_at(trail: list[ConversationEvent], final: int | None) -> None:
    """Each assignment event starts where the previous one ended, the last at ``final``."""
    holder: int | None = None
    for event in trail:
        assert event.from_user_id == holder, trail
        holder = event.to_user_id
    assert holder == final, trail


def _setup(app: App) -> tuple[list[int], User, list[User]]:
    ids = sorted(c.id for c in app.conversations.all(CLI))
    boss = app.add_user("boss", "admin")
    people = [app.add_user(name, "user") for name in ("maria", "tom")]
    for conversation in app.conversations.all(CLI):
        for person in people:
            app.link(str(conversation.contact.id), person.username)
    return ids, boss, people


def test_two_admins_assigning_at_once_leave_one_assignee_and_a_chain(app: App) -> None:
    ids, boss, (maria, tom) = _setup(app)
    chief = app.add_user("chief", "admin")
    for cid in ids:
        outcomes = _together(
            lambda cid=cid: app.conversations.assign(boss, cid, maria.id),
            lambda cid=cid: app.conversations.assign(chief, cid, tom.id),
        )
        assert outcomes == [None, None]
        final = app.conversations.get(CLI, cid).assigned_user_id
        assert final in (maria.id, tom.id)
        trail = app.conversations.events(CLI, cid).items
        assert len(trail) == 2  # nobody -> one -> the other
        _chain_ends_at(trail, final)
        assert {event.actor_id for event in trail} == {boss.id, chief.id}


def test_an_unlink_racing_an_assignment_never_leaves_a_blind_assignee(app: App) -> None:
    ids, boss, (maria, _) = _setup(app)
    orders = set()
    for cid in ids:
        contact = str(app.conversations.get(CLI, cid).contact.id)
        outcomes = _together(
            lambda cid=cid: app.conversations.assign(boss, cid, maria.id),
            lambda contact=contact: app.unlink(contact, "maria"),
        )
        assert outcomes[1] is None
        final = app.conversations.get(CLI, cid).assigned_user_id
        trail = app.conversations.events(CLI, cid).items
        assert final is None  # maria can no longer see it, so she cannot hold it
        if outcomes[0] is None:  # assigned first, then taken away by the unlink
            assert [e.type for e in trail] == ["assigned", "unassigned"]
            orders.add("assign first")
        else:  # the unlink came first: the assignment was refused, nothing recorded
            assert isinstance(outcomes[0], InvalidInput)
            assert "link them" in str(outcomes[0])
            assert trail == []
            orders.add("unlink first")
        _chain_ends_at(trail, final)
    assert orders  # (which orders occurred depends on the scheduler)


def test_an_unlink_waits_for_an_assignment_in_flight_and_then_clears_it(app: App) -> None:
    ids, boss, (maria, _) = _setup(app)
    cid = ids[0]
    contact = str(app.conversations.get(CLI, cid).contact.id)
    assert_sight_loss_waits_for_assignment(
        app, boss, maria, cid, lambda: app.unlink(contact, "maria")
    )
