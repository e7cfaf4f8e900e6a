"""The members page of a WhatsApp number, as a browser posts it (CSRF token in the
form): checkboxes of users and teams, saved exactly; admins only."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from test_http_support import INSTANCE, World, browser_login, make_app, person_chats, running, sync

from wa_manager.domain.model import LIBRARY

PAGE = f"/settings/whatsapp-numbers/{INSTANCE}/members"


@pytest.fixture
def world() -> Iterator[World]:
    with running(make_app(person_chats(3))) as world:
        sync(world)
        yield world


def checked(page: str, name: str) -> list[int]:
    pattern = rf'name="{name}" value="(\d+)" checked'
    return sorted(int(value) for value in re.findall(pattern, page))


def test_the_admin_checks_users_and_teams_and_saves_them(world: World) -> None:
    csrf = browser_login(world.client, "admin")
    team = world.app.teams.add(LIBRARY, "Support")
    page = world.client.get(PAGE)
    assert page.status_code == 200
    assert f'Members of <span dir="ltr" data-instance>{INSTANCE}</span>' in page.text
    assert 'href="/settings/whatsapp-numbers"' in page.text
    assert checked(page.text, "user_ids") == checked(page.text, "team_ids") == []
    assert 'name="team_ids" value="1"' in page.text

    saved = world.client.post(
        PAGE,
        data={
            "csrf_token": csrf,
            "user_ids": [str(world.user.user.id)],
            "team_ids": [str(team.id)],
        },
    )
    assert saved.status_code == 200
    assert f"Saved the members of {INSTANCE} (2 in all)" in saved.text
    assert checked(saved.text, "user_ids") == [world.user.user.id]
    assert checked(saved.text, "team_ids") == [team.id]
    members = world.app.instance_members.members(LIBRARY, INSTANCE)
    assert (members.user_ids, members.team_ids) == ((world.user.user.id,), (team.id,))
    assert len(world.app.conversations.all(world.user.user)) == 3

    cleared = world.client.post(PAGE, data={"csrf_token": csrf})
    assert checked(cleared.text, "user_ids") == []
    assert world.app.conversations.all(world.user.user) == []


def test_an_unknown_id_is_one_line_and_saves_nothing(world: World) -> None:
    csrf = browser_login(world.client, "admin")
    answer = world.client.post(PAGE, data={"csrf_token": csrf, "user_ids": ["4242"]})
    assert answer.status_code == 422
    assert "unknown user ids [4242]" in answer.text
    assert world.app.instance_members.list(LIBRARY) == []


def test_without_csrf_or_as_a_user_nothing_changes(world: World) -> None:
    browser_login(world.client, "admin")
    refused = world.client.post(PAGE, data={"user_ids": [str(world.user.user.id)]})
    assert refused.status_code == 403
    world.client.cookies.clear()
    csrf = browser_login(world.client, "maria")
    assert world.client.get(PAGE).status_code == 403
    answer = world.client.post(
        PAGE, data={"csrf_token": csrf, "user_ids": [str(world.user.user.id)]}
    )
    assert answer.status_code == 403
    assert world.app.instance_members.list(LIBRARY) == []
