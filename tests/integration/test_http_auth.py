"""Who may call what: guards on every route, Bearer and cookie auth, CSRF, throttling, secrets."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient
from test_http_support import (
    PASSWORD,
    ULTRAMSG_TOKEN,
    World,
    browser_login,
    make_app,
    person_chats,
    running,
    sync,
)

from wa_manager.bootstrap import bootstrap
from wa_manager.config import Settings
from wa_manager.domain.model import RawChat
from wa_manager.entrypoints.http.api import OPERATIONS, Access
from wa_manager.entrypoints.http.app import create_app
from wa_manager.testing import FastHasher, InMemoryStore


@pytest.fixture
def world() -> Iterator[World]:
    with running(make_app(person_chats(3))) as world:
        sync(world)
        yield world


def _api_endpoints(world: World) -> list[tuple[str, str]]:
    """(method, concrete path) of every /api route the app really has."""
    app = world.client.app
    endpoints = []
    for route in app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route) and route.path.startswith("/api"):
            path = route.path.replace("{id}", "1")
            endpoints.extend((method, path) for method in route.methods or () if method != "HEAD")
    assert len(endpoints) >= 11
    return endpoints


def test_every_api_route_requires_credentials(world: World) -> None:
    for method, path in _api_endpoints(world):
        response = world.client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
        bad = world.client.request(
            method, path, json={}, headers={"Authorization": "Bearer wam_not-a-real-token"}
        )
        assert bad.status_code == 401, (method, path)


ADMIN_PATHS = {(op.method, op.path) for op in OPERATIONS if op.access.name.startswith("ADMIN")}
BODY_PATHS = {(op.method, op.path) for op in OPERATIONS if op.body is not None}


def test_every_admin_route_refuses_a_plain_user(world: World) -> None:
    app = world.client.app
    checked = 0
    for route in app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route) or not route.path.startswith("/api"):
            continue
        for method in (route.methods or set()) - {"HEAD"}:
            path = route.path.replace("{id}", "1")
            as_user = world.client.request(method, path, json={}, headers=world.user.headers)
            if (method, route.path) in ADMIN_PATHS:
                assert as_user.status_code == 403, (method, path)
                assert as_user.json()["error"]["code"] == "forbidden"
                checked += 1
            elif (method, route.path) in BODY_PATHS:  # {} is no valid body: 422 before all
                assert as_user.status_code in (200, 404, 422), (method, path)
            else:
                assert as_user.status_code in (200, 404), (method, path)
    assert checked == len(ADMIN_PATHS) >= 8


def test_the_route_table_knows_every_route_and_its_guard(world: World) -> None:
    app = world.client.app
    routed = {
        (method, route.path)
        for route in app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route) and (route.path.startswith(("/api", "/webhooks")) or
            route.path in ("/openapi.json", "/healthz"))
        for method in (route.methods or set()) - {"HEAD"}
    }  # fmt: skip
    assert routed == {(op.method, op.path) for op in OPERATIONS}
    public = {op.path for op in OPERATIONS if op.access is Access.PUBLIC}
    assert public == {"/openapi.json", "/healthz", "/webhooks/ultramsg/{secret}"}


def test_revoked_users_tokens_stop_working(world: World) -> None:
    assert world.client.get("/api/me", headers=world.user.headers).status_code == 200
    with world.app.store() as uow:
        tokens = uow.tokens.list_for(world.user.user.id)
        uow.tokens.revoke(tokens[0].id, world.app.clock())
        uow.commit()
    assert world.client.get("/api/me", headers=world.user.headers).status_code == 401


@pytest.mark.parametrize(
    "header", ["Basic YWRtaW46cGFzcw==", "Bearer", "Bearer  ", "Token abc", "wam_abc"]
)
def test_malformed_authorization_headers_are_401(world: World, header: str) -> None:
    response = world.client.get("/api/me", headers={"Authorization": header})
    assert response.status_code == 401


# -- the browser session --------------------------------------------------------------


def test_a_browser_session_reads_the_api(world: World) -> None:
    browser_login(world.client, "maria")
    me = world.client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["username"] == "maria"
    cookie = me.request.headers["cookie"]
    assert cookie.startswith("session=")


def test_the_session_cookie_is_httponly_and_samesite_and_secure_over_https(
    world: World,
) -> None:
    form = world.client.get("/login")  # the test client speaks https
    set_cookie = form.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=lax" in set_cookie
    assert "secure" in set_cookie
    assert form.headers["strict-transport-security"].startswith("max-age=")


def test_over_plain_http_the_cookie_is_not_secure_so_a_local_server_still_works(
    world: World,
) -> None:
    with TestClient(world.client.app, base_url="http://testserver") as plain:
        form = plain.get("/login")
    assert "secure" not in form.headers["set-cookie"].lower()
    assert "strict-transport-security" not in form.headers


def test_cookie_state_changes_need_the_csrf_token(world: World) -> None:
    csrf = browser_login(world.client, "admin")
    contact_id = world.client.get("/api/contacts").json()["items"][0]["id"]
    body = {"user_ids": [world.user.user.id]}
    path = f"/api/contacts/{contact_id}/users"

    without = world.client.put(path, json=body)
    assert without.status_code == 403
    assert "CSRF" in without.json()["error"]["message"]
    wrong = world.client.put(path, json=body, headers={"X-CSRF-Token": csrf + "x"})
    assert wrong.status_code == 403
    assert world.client.get(path).json() == {"user_ids": []}

    right = world.client.put(path, json=body, headers={"X-CSRF-Token": csrf})
    assert right.status_code == 200
    assert world.client.get(path).json() == {"user_ids": [world.user.user.id]}


def test_every_state_changing_api_route_checks_csrf_for_cookies(world: World) -> None:
    browser_login(world.client, "admin")
    for op in OPERATIONS:
        if op.method in ("POST", "PUT", "PATCH", "DELETE") and op.access is not Access.PUBLIC:
            response = world.client.request(op.method, op.path.replace("{id}", "1"), json={})
            assert response.status_code == 403, op.path
            assert response.json()["error"]["code"] == "csrf_failed"


def test_get_sync_refuses_the_session_cookie_and_post_with_csrf_works(world: World) -> None:
    csrf = browser_login(world.client, "admin")
    refused = world.client.get("/api/whatsapp-contacts")
    assert refused.status_code == 401
    assert "Bearer" in refused.json()["error"]["message"]
    assert world.client.post("/api/whatsapp-contacts").status_code == 403
    done = world.client.post("/api/whatsapp-contacts", headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200
    assert done.json()["fetched"] == 3


def test_bearer_requests_need_no_csrf_even_with_a_cookie(world: World) -> None:
    browser_login(world.client, "maria")
    response = world.client.post("/api/whatsapp-contacts", headers=world.admin.headers)
    assert response.status_code == 200


def test_a_forged_session_cookie_is_anonymous(world: World) -> None:
    other = create_app(world.app, secret_key="another key")
    with TestClient(other, base_url="https://testserver") as elsewhere:
        browser_login(elsewhere, "admin")
        stolen = elsewhere.cookies["session"]
    world.client.cookies.set("session", stolen)
    assert world.client.get("/api/me").status_code == 401


def test_logout_ends_the_session(world: World) -> None:
    csrf = browser_login(world.client, "maria")
    world.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert world.client.get("/api/me").status_code == 401


def test_a_cookie_replayed_after_sign_out_is_refused(world: World) -> None:
    csrf = browser_login(world.client, "maria")
    kept = world.client.cookies["session"]
    world.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    world.client.cookies.set("session", kept)
    assert world.client.get("/api/me").status_code == 401
    assert world.client.get("/conversations", follow_redirects=False).status_code == 303


def test_a_second_process_on_the_same_store_knows_the_session_and_its_csrf() -> None:
    """Two server processes on one database, neither with WA_MANAGER_SECRET_KEY: the
    key kept in the database signs for both, and the session lives there too."""
    store = InMemoryStore()
    first, second = (bootstrap(Settings(), store=store, hasher=FastHasher()) for _ in range(2))
    first.add_user("admin", "admin", PASSWORD)
    with (
        TestClient(create_app(first), base_url="https://testserver") as one,
        TestClient(create_app(second), base_url="https://testserver") as other,
    ):
        csrf = browser_login(one, "admin")
        other.cookies.set("session", one.cookies["session"])
        assert other.get("/api/me").json()["username"] == "admin"
        answer = other.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert answer.status_code == 303
        assert one.get("/api/me").status_code == 401  # signed out on the other one


def test_the_csrf_token_of_one_session_is_refused_in_another(world: World) -> None:
    mine = browser_login(world.client, "admin")
    with TestClient(create_app(world.app), base_url="https://testserver") as other:
        theirs = browser_login(other, "admin")
        assert theirs != mine
        contact = other.get("/api/contacts").json()["items"][0]["id"]
        answer = other.put(
            f"/api/contacts/{contact}/users", json={"user_ids": []}, headers={"X-CSRF-Token": mine}
        )
        assert answer.status_code == 403


# -- login throttling ------------------------------------------------------------------


def _csrf(client: TestClient) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text)
    assert match
    return match.group(1)


def test_repeated_wrong_passwords_are_throttled_with_429(world: World) -> None:
    csrf = _csrf(world.client)
    statuses = [
        world.client.post(
            "/login", data={"username": "maria", "password": "wrong!", "csrf_token": csrf}
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    # even the right password waits now: the account is throttled
    right = world.client.post(
        "/login", data={"username": "maria", "password": PASSWORD, "csrf_token": csrf}
    )
    assert right.status_code == 429
    assert "Too many" in right.text
    assert world.client.get("/api/me").status_code == 401


def test_the_throttle_counts_per_address_across_accounts(world: World) -> None:
    csrf = _csrf(world.client)
    for number in range(5):
        world.client.post(
            "/login", data={"username": f"guess{number}", "password": "x", "csrf_token": csrf}
        )
    answer = world.client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf}
    )
    assert answer.status_code == 429


# -- secrets ---------------------------------------------------------------------------


class ExplodingChats:
    """A chat source with a bug: its exception message carries the token."""

    def fetch_chats(self) -> list[RawChat]:
        raise RuntimeError(
            f"GET https://api.ultramsg.com/instance1/chats?token={ULTRAMSG_TOKEN} blew up"
        )


def test_unexpected_errors_are_a_generic_500_and_the_log_hides_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with running(make_app(ExplodingChats())) as world:
        response = world.client.post("/api/whatsapp-contacts", headers=world.admin.headers)
        assert response.status_code == 500
        assert response.json()["error"] == {
            "code": "internal_error",
            "message": "an unexpected error occurred; it has been logged",
        }
        for secret in (ULTRAMSG_TOKEN, world.admin.token):
            assert secret not in response.text
            assert secret not in caplog.text
        assert "blew up" in caplog.text  # the log does say what happened


def test_no_answer_ever_contains_a_token(world: World) -> None:
    tokens = (ULTRAMSG_TOKEN, world.admin.token, world.user.token)
    answers = [
        world.client.request(op.method, op.path.replace("{id}", "1"), headers=member.headers)
        for op in OPERATIONS
        for member in (world.admin, world.user)
    ]
    answers.append(world.client.get("/api/me", headers={"Authorization": f"Bearer {tokens[1]}x"}))
    for answer in answers:
        for token in tokens:
            assert token not in answer.text
            assert all(token not in value for value in answer.headers.values())
