"""The members page of a WhatsApp number, as a browser posts it (CSRF token in the
form): checkboxes of users and teams, saved exactly; admins only."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from test_http_support import INSTANCE, World, browser_login, make_app, person_chats, running, sync

from wa_manager.domain.model import LIBRARY
from wa_manager.testing import memory_app

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


OTHER = "instance7373"


def two_numbers(world: World) -> None:
    memory_app(person_chats(2, start=10), instance_id=OTHER, store=world.app.store).sync()


def options(page: str) -> list[str]:
    select = page[
        page.index('name="source"') : page.index("</select>", page.index('name="source"'))
    ]
    return re.findall(r'<option value="([^"]*)"', select)


def test_contact_links_show_the_number_and_filter_by_it(world: World) -> None:
    browser_login(world.client, "admin")
    assert "data-source-filter" not in world.client.get("/settings/contact-links").text
    two_numbers(world)
    page = world.client.get("/settings/contact-links").text
    assert options(page) == ["", INSTANCE, OTHER]
    assert '<th scope="col">Number</th>' in page
    assert page.count(f"data-source>{OTHER}<") == 2
    assert page.count(f"data-source>{INSTANCE}<") == 3
    only = world.client.get("/settings/contact-links", params={"source": OTHER}).text
    assert only.count("data-source>") == only.count(f"data-source>{OTHER}<") == 2
    assert f'<option value="{OTHER}" selected>' in only
    assert f"source={OTHER}" in only  # the CSV export keeps the filter
    assert "All 2 matching" in only
    assert f'name="source" value="{OTHER}"' in only  # and so does the bulk form


def test_the_inbox_names_the_number_of_each_row_and_filters_by_it(world: World) -> None:
    two_numbers(world)
    browser_login(world.client, "admin")
    page = world.client.get("/conversations").text
    assert options(page) == ["", INSTANCE, OTHER]
    assert page.count(f"via {OTHER}<") == 2
    filtered = world.client.get("/conversations", params={"source": OTHER}).text
    assert filtered.count('class="conversation"') == 2
    assert f"source={OTHER}" in filtered  # the tabs keep the filter
    world.client.cookies.clear()
    browser_login(world.client, "maria")
    world.app.instance_members.add_user(LIBRARY, OTHER, "maria")
    mine = world.client.get("/conversations").text
    assert mine.count('class="conversation"') == 2
    assert "data-source-filter" not in mine  # maria sees one number: nothing to choose
