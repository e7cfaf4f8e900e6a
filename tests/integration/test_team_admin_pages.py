"""Settings › Users, Settings › Teams, My account and the bulk link form, as a browser
posts them (CSRF token in the form): what each page shows after each change."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from test_http_support import PASSWORD, World, browser_login, make_app, person_chats, running, sync


@pytest.fixture
def world() -> Iterator[World]:
    with running(make_app(person_chats(4))) as world:
        sync(world)
        yield world


def post(world: World, path: str, csrf: str, **fields: str | list[str]) -> str:
    answer = world.client.post(path, data={"csrf_token": csrf, **fields})
    assert answer.status_code < 500, answer.text
    return answer.text


def test_users_page_adds_disables_enables_and_resets(world: World) -> None:
    csrf = browser_login(world.client, "admin")
    page = post(world, "/settings/users", csrf, action="add", username="tom", role="user")
    secret = re.search(r'data-secret dir="ltr">([^<]+)<', page)
    assert secret, page
    assert world.app.accounts.user_for_password("tom", secret.group(1)).username == "tom"
    assert world.client.get("/settings/users").text.count(secret.group(1)) == 0
    tom = world.app.accounts.user(world.admin.user, "tom")
    assert "tom is disabled" in post(
        world, "/settings/users", csrf, action="disable", user_id=str(tom.id)
    )
    assert "tom is enabled" in post(
        world, "/settings/users", csrf, action="enable", user_id=str(tom.id)
    )
    page = post(world, "/settings/users", csrf, action="reset", user_id=str(tom.id))
    assert "New one-time password for tom" in page
    refused = world.client.post(
        "/settings/users",
        data={"csrf_token": csrf, "action": "disable", "user_id": str(world.admin.user.id)},
    )
    assert refused.status_code == 409
    assert "last enabled admin" in refused.text
    taken = world.client.post(
        "/settings/users",
        data={"csrf_token": csrf, "action": "add", "username": "tom", "role": "user"},
    )
    assert taken.status_code == 409
    assert "exists already" in taken.text


def test_forms_without_the_csrf_token_are_refused(world: World) -> None:
    browser_login(world.client, "admin")
    for path in ("/settings/users", "/settings/teams", "/account", "/settings/contact-links/bulk"):
        answer = world.client.post(path, data={"action": "add", "name": "x", "username": "x"})
        assert answer.status_code == 403, path


def test_teams_page_creates_a_team_and_sets_its_members(world: World) -> None:
    csrf = browser_login(world.client, "admin")
    page = post(world, "/settings/teams", csrf, action="add", name="Support")
    assert "Created the team Support" in page
    team = world.app.teams.get(world.admin.user, "Support")
    page = post(
        world,
        "/settings/teams",
        csrf,
        action="members",
        team_id=str(team.id),
        user_ids=[str(world.user.user.id)],
    )
    assert "Saved the members of Support" in page
    assert world.app.teams.get(world.admin.user, "Support").user_ids == (world.user.user.id,)


def test_account_page_changes_the_password_and_manages_tokens(world: World) -> None:
    csrf = browser_login(world.client, "maria")
    wrong = world.client.post(
        "/account",
        data={
            "csrf_token": csrf,
            "action": "password",
            "current_password": "nope nope",
            "new_password": "another secret",
        },
    )
    assert wrong.status_code == 422
    assert "current password is wrong" in wrong.text
    page = post(
        world,
        "/account",
        csrf,
        action="password",
        current_password=PASSWORD,
        new_password="another secret",
    )
    assert "Your password is changed" in page
    page = post(world, "/account", csrf, action="create-token", name="script")
    secret = re.search(r'data-secret dir="ltr">([^<]+)<', page)
    assert secret
    headers = {"Authorization": f"Bearer {secret.group(1)}"}
    assert world.client.get("/api/me", headers=headers).status_code == 200
    token_id = re.search(r'name="token_id" value="(\d+)"', page)
    assert token_id
    assert "revoked" in post(world, "/account", csrf, action="revoke", token_id=token_id.group(1))


def test_bulk_form_links_checked_contacts_and_all_matching(world: World) -> None:
    csrf = browser_login(world.client, "admin")
    page = world.client.get("/settings/contact-links").text
    assert "All 4 matching" in page
    ids = re.findall(r'name="contact_ids" value="(\d+)"', page)
    answer = world.client.post(
        "/settings/contact-links/bulk",
        data={
            "csrf_token": csrf,
            "scope": "selected",
            "mode": "add",
            "contact_ids": ids[:2],
            "user_ids": [str(world.user.user.id)],
        },
    )
    assert "2 contacts, 2 links changed" in answer.text
    answer = world.client.post(
        "/settings/contact-links/bulk",
        data={
            "csrf_token": csrf,
            "scope": "matching",
            "search": "",
            "mode": "remove",
            "user_ids": [str(world.user.user.id)],
        },
    )
    assert "4 contacts, 2 links changed" in answer.text
    nothing = world.client.post(
        "/settings/contact-links/bulk",
        data={"csrf_token": csrf, "scope": "selected", "user_ids": [str(world.user.user.id)]},
    )
    assert "check at least one contact" in nothing.text


def test_the_header_reaches_every_page(world: World) -> None:
    browser_login(world.client, "admin")
    page = world.client.get("/conversations").text
    for href in ("/settings/users", "/settings/teams", "/account"):
        assert f'href="{href}"' in page
        assert world.client.get(href).status_code == 200
