# ruff: noqa: F811 (the app fixture of test_inbox_concurrency is imported by name)
"""Losing a WhatsApp number's membership while an assignment through it is in flight,
on SQLite and PostgreSQL: the assignment holds the membership (``may_see`` takes it
``FOR SHARE``), so the removal waits for it, then takes the assignment away again;
never an assignee who cannot see what they hold."""

from __future__ import annotations

import pytest

from tests.reliability.support import assert_sight_loss_waits_for_assignment, together
from tests.reliability.test_inbox_concurrency import app  # noqa: F401
from wa_manager import App
from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import CLI
from wa_manager.testing import DEFAULT_INSTANCE_ID

pytestmark = pytest.mark.timeout(300)


def test_a_removal_waits_for_an_assignment_in_flight_and_then_clears_it(app: App) -> None:
    boss, maria = app.add_user("boss", "admin"), app.add_user("maria", "user")
    app.instance_members.add_user(CLI, DEFAULT_INSTANCE_ID, "maria")
    cid = sorted(c.id for c in app.conversations.all(CLI))[0]
    assert_sight_loss_waits_for_assignment(
        app,
        boss,
        maria,
        cid,
        lambda: app.instance_members.remove_user(CLI, DEFAULT_INSTANCE_ID, "maria"),
    )


def test_a_removal_racing_an_assignment_never_leaves_a_blind_assignee(app: App) -> None:
    boss, maria = app.add_user("boss", "admin"), app.add_user("maria", "user")
    team = app.teams.add(CLI, "Support")
    app.teams.add_member(CLI, team.id, "maria")
    for cid in sorted(c.id for c in app.conversations.all(CLI))[:6]:
        app.instance_members.add_team(CLI, DEFAULT_INSTANCE_ID, "Support")
        outcomes = together(
            lambda cid=cid: app.conversations.assign(boss, cid, maria.id),
            lambda: app.instance_members.remove_team(CLI, DEFAULT_INSTANCE_ID, "Support"),
        )
        assert outcomes[1] is None
        assert app.conversations.get(CLI, cid).assigned_user_id is None
        trail = [e.type for e in app.conversations.events(CLI, cid).items]
        if outcomes[0] is None:  # assigned first, then taken away by the removal
            assert trail == ["assigned", "unassigned"]
        else:  # the removal came first: the assignment was refused, nothing recorded
            assert isinstance(outcomes[0], InvalidInput)
            assert trail == []
