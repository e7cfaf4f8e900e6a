"""Team administration over HTTP: users (disable, roles, passwords), API tokens, teams,
team links, bulk links; the answers a client sees, on the memory store."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from test_http_support import (
    PASSWORD,
    World,
    all_pages,
    browser_login,
    make_app,
    person_chats,
    running,
    sync,
)
from tests.conftest import migrated_url
from tests.integration.conftest import STORE_PARAMS

from wa_manager.adapters.memory import InMemoryStore
from wa_manager.adapters.sql import SqlStore
from wa_manager.domain.ports import Store


@pytest.fixture(params=STORE_PARAMS)
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """The app on each store: memory, SQLite, PostgreSQL (the bulk SQL is set-based)."""
    store: Store = (
        InMemoryStore()
        if request.param == "memory"
        else SqlStore.open(migrated_url(request.param, request))
    )
    try:
        with running(make_app(person_chats(6), store=store)) as world:
            sync(world)
            yield world
    finally:
        store.close()


def contact_ids(world: World) -> list[int]:
    items = all_pages(world.client, "/api/contacts", world.admin.headers, 200)
    return sorted(item["id"] for item in items)


def conversation_contacts(world: World, headers: dict[str, str]) -> list[int]:
    items = all_pages(world.client, "/api/conversations", headers, 200)
    return sorted(item["contact"]["id"] for item in items)


def test_users_carry_disabled_and_created_at(world: World) -> None:
    users = world.client.get("/api/users", headers=world.admin.headers).json()["items"]
    assert {user["username"]: user["disabled"] for user in users} == {
        "admin": False,
        "maria": False,
    }
    assert all(user["created_at"].endswith("+00:00") for user in users)


def test_a_disabled_user_is_refused_at_once_and_enabled_again(world: World) -> None:
    maria = world.user
    path = f"/api/users/{maria.user.id}"
    answer = world.client.patch(path, json={"disabled": True}, headers=world.admin.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["disabled"] is True
    refused = world.client.get("/api/me", headers=maria.headers)
    assert refused.status_code == 401
    assert (
        world.client.patch(path, json={"disabled": False}, headers=world.admin.headers).json()[
            "disabled"
        ]
        is False
    )
    assert world.client.get("/api/me", headers=maria.headers).status_code == 200


def test_the_last_enabled_admin_can_be_neither_disabled_nor_demoted(world: World) -> None:
    path = f"/api/users/{world.admin.user.id}"
    for body in ({"disabled": True}, {"role": "user"}):
        answer = world.client.patch(path, json=body, headers=world.admin.headers)
        assert answer.status_code == 409, answer.text
        assert "last enabled admin" in answer.json()["error"]["message"]
    promoted = world.client.patch(
        f"/api/users/{world.user.user.id}", json={"role": "admin"}, headers=world.admin.headers
    )
    assert promoted.json()["role"] == "admin"
    demoted = world.client.patch(path, json={"role": "user"}, headers=world.admin.headers)
    assert demoted.status_code == 200
    assert world.client.get("/api/users", headers=world.admin.headers).status_code == 403


def test_patching_an_unknown_user_is_404_and_a_bad_body_422(world: World) -> None:
    headers = world.admin.headers
    assert world.client.patch("/api/users/999", json={}, headers=headers).status_code == 404
    bad = world.client.patch(
        f"/api/users/{world.user.user.id}", json={"role": "boss"}, headers=headers
    )
    assert bad.status_code == 422
    short = world.client.patch(
        f"/api/users/{world.user.user.id}", json={"password": "short"}, headers=headers
    )
    assert short.status_code == 422
    assert "8 characters" in short.json()["error"]["message"]


def test_changing_ones_own_password_needs_the_current_one(world: World) -> None:
    headers = world.user.headers
    wrong = world.client.post(
        "/api/me/password",
        json={"current_password": "not it at all", "new_password": "a brand new secret"},
        headers=headers,
    )
    assert wrong.status_code == 422
    assert "current password" in wrong.json()["error"]["message"]
    done = world.client.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new secret"},
        headers=headers,
    )
    assert done.status_code == 204
    app = world.app
    assert app.accounts.user_for_password("maria", "a brand new secret").username == "maria"


def test_tokens_are_listed_without_secrets_and_revoked_at_once(world: World) -> None:
    made = world.client.post("/api/tokens", json={"name": "laptop"}, headers=world.user.headers)
    assert made.status_code == 201, made.text
    body = made.json()
    assert set(body) >= {"id", "name", "token", "created_at"}
    new_headers = {"Authorization": f"Bearer {body['token']}"}
    assert world.client.get("/api/me", headers=new_headers).json()["username"] == "maria"

    own = world.client.get("/api/tokens", headers=world.user.headers).json()["items"]
    assert {token["username"] for token in own} == {"maria"}
    every = world.client.get("/api/tokens", headers=world.admin.headers).json()["items"]
    assert {token["username"] for token in every} == {"admin", "maria"}
    for listing in (own, every):
        assert body["token"] not in str(listing)
        assert all(
            set(t) >= {"id", "username", "name", "created_at", "last_used_at", "revoked_at"}
            for t in listing
        )
    admins_token = next(t for t in every if t["username"] == "admin")
    refused = world.client.delete(f"/api/tokens/{admins_token['id']}", headers=world.user.headers)
    assert refused.status_code == 404
    gone = world.client.delete(f"/api/tokens/{body['id']}", headers=world.user.headers)
    assert gone.status_code == 204
    assert world.client.get("/api/me", headers=new_headers).status_code == 401
    assert world.client.get("/api/me", headers=world.user.headers).status_code == 200


def test_team_members_see_the_teams_contacts_and_lose_them_on_leaving(world: World) -> None:
    first, second, *_ = contact_ids(world)
    headers = world.admin.headers
    team = world.client.post("/api/teams", json={"name": "Support"}, headers=headers)
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]
    assert (
        world.client.post("/api/teams", json={"name": "Support"}, headers=headers).status_code
        == 409
    )
    linked = world.client.put(
        f"/api/contacts/{first}/teams", json={"team_ids": [team_id]}, headers=headers
    )
    assert linked.json() == {"team_ids": [team_id]}
    assert world.client.get(f"/api/contacts/{first}", headers=headers).json()["team_ids"] == [
        team_id
    ]
    assert conversation_contacts(world, world.user.headers) == []

    members = world.client.put(
        f"/api/teams/{team_id}/members", json={"user_ids": [world.user.user.id]}, headers=headers
    )
    assert members.json()["user_ids"] == [world.user.user.id]
    assert conversation_contacts(world, world.user.headers) == [first]
    listed = world.client.get("/api/teams", headers=headers).json()["items"]
    assert listed == [members.json()]

    world.client.put(f"/api/teams/{team_id}/members", json={"user_ids": []}, headers=headers)
    assert conversation_contacts(world, world.user.headers) == []
    history = world.client.get(f"/api/contacts/{first}/links/history", headers=headers).json()
    assert [(e["action"], e["team"], e["user_id"]) for e in history["items"]] == [
        ("link", "Support", None)
    ]
    unknown = world.client.put(
        f"/api/contacts/{second}/teams", json={"team_ids": [999]}, headers=headers
    )
    assert unknown.status_code == 422


def test_bulk_links_by_ids_and_by_search(world: World) -> None:
    ids = contact_ids(world)
    headers = world.admin.headers
    maria = world.user.user.id
    answer = world.client.post(
        "/api/links/bulk", json={"contact_ids": ids[:3], "add_user_ids": [maria]}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"contacts": 3, "changed": 3}
    assert conversation_contacts(world, world.user.headers) == ids[:3]
    again = world.client.post(
        "/api/links/bulk", json={"contact_ids": ids[:3], "add_user_ids": [maria]}, headers=headers
    )
    assert again.json() == {"contacts": 3, "changed": 0}
    everyone = world.client.post(
        "/api/links/bulk", json={"search": "", "add_user_ids": [maria]}, headers=headers
    )
    assert everyone.json() == {"contacts": 6, "changed": 3}
    removed = world.client.post(
        "/api/links/bulk",
        json={"search": "@c.us", "vanished": False, "remove_user_ids": [maria]},
        headers=headers,
    )
    assert removed.json() == {"contacts": 6, "changed": 6}
    assert conversation_contacts(world, world.user.headers) == []
    history = world.client.get(f"/api/contacts/{ids[0]}/links/history", headers=headers).json()
    assert [e["action"] for e in history["items"]] == ["link", "unlink"]


@pytest.mark.parametrize(
    "body",
    [
        {"add_user_ids": [1]},
        {"contact_ids": [1], "search": "x", "add_user_ids": [1]},
        {"contact_ids": [1]},
        {"contact_ids": [999], "add_user_ids": [1]},
        {"contact_ids": [1], "add_user_ids": [999]},
        {"contact_ids": [1], "add_team_ids": [999]},
        {"contact_ids": [1], "add_user_ids": [1], "remove_user_ids": [1]},
        {"contact_ids": [1], "vanished": True, "add_user_ids": [1]},
    ],
)
def test_a_bulk_link_that_makes_no_sense_is_422_and_changes_nothing(
    world: World, body: dict[str, object]
) -> None:
    answer = world.client.post("/api/links/bulk", json=body, headers=world.admin.headers)
    assert answer.status_code == 422, answer.text
    assert conversation_contacts(world, world.user.headers) == []


def test_plain_users_cannot_administer(world: World) -> None:
    headers = world.user.headers
    calls = [
        ("PATCH", f"/api/users/{world.admin.user.id}", {"disabled": True}),
        ("GET", "/api/teams", None),
        ("POST", "/api/teams", {"name": "mine"}),
        ("POST", "/api/links/bulk", {"search": "", "add_user_ids": [world.user.user.id]}),
    ]
    for method, path, body in calls:
        assert world.client.request(method, path, json=body, headers=headers).status_code == 403


def test_a_disabled_users_session_is_refused_and_signing_in_fails_like_a_wrong_password(
    world: World,
) -> None:
    browser_login(world.client, "maria")
    assert world.client.get("/api/me").json()["username"] == "maria"
    disabled = world.client.patch(
        f"/api/users/{world.user.user.id}",
        json={"disabled": True},
        headers=world.admin.headers,
    )
    assert disabled.status_code == 200
    assert world.client.get("/api/me").status_code == 401
    form = world.client.get("/login").text
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert csrf
    refused = world.client.post(
        "/login",
        data={"username": "maria", "password": PASSWORD, "csrf_token": csrf.group(1)},
        follow_redirects=False,
    )
    assert refused.status_code == 401
    assert "Wrong username or password" in refused.text
