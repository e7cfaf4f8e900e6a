"""Answers Starlette gave by itself: the trailing-slash redirect and the 413 for big bodies.

- ``GET /api/conversations/4/`` was a 307 to ``http://<the Host header>/...``: any
  Host a client sent came back in ``Location``. The redirect is now relative.
- A body over the limit was a bare ``text/plain`` 413 without the security
  headers; it is now the usual ``{"error": {"code": "too_large", ...}}`` with all
  of them, with or without a ``Content-Length``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest
from test_http_support import World, browser_login, make_app, person_chats, running, sync

from tests.reliability.figures import AUTH, Recorder
from wa_manager.entrypoints.http.headers import SECURITY_HEADERS
from wa_manager.entrypoints.http.inputs import MAX_BODY_BYTES

EVIL = "evil.example"


@pytest.fixture
def world() -> Iterator[World]:
    with running(make_app(person_chats(3))) as world:
        sync(world)
        yield world


def assert_secured(answer: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, (answer.request.url, name)
    assert answer.headers["cache-control"] == "no-store"


def assert_no_host_reflected(answer: httpx.Response) -> None:
    assert all(EVIL not in value for value in answer.headers.values())
    assert EVIL not in answer.text


# -- the trailing-slash redirect -----------------------------------------------------


REDIRECTS = {
    "/api/conversations/4/": "/api/conversations/4",
    "/api/contacts/?search=anna&limit=2": "/api/contacts?search=anna&limit=2",
    "/conversations//": "/conversations",
}


def test_a_trailing_slash_redirects_relatively_whatever_the_host(
    world: World, figures: Recorder
) -> None:
    for path, location in REDIRECTS.items():
        answer = world.client.get(
            path, headers={"Host": EVIL, **world.admin.headers}, follow_redirects=False
        )
        assert answer.status_code == 307, path
        assert answer.headers["location"] == location
        assert_no_host_reflected(answer)
        assert_secured(answer)
        figures.add(AUTH, cases=1, requests=1)
    figures.fixed(AUTH, "the trailing-slash redirect sent the request's Host header back")


@pytest.mark.parametrize(
    "path",
    [
        "//evil.example/",
        "/no/such/page/",
        "/api/nothing/",
        "///",
        "/webhooks/ultramsg/some-secret/",  # never sent back in a Location
        "/api/contacts/?token=abc123",
    ],
)
def test_no_redirect_where_no_route_is(world: World, path: str, figures: Recorder) -> None:
    url = f"http://testserver{path}"  # "//evil.example/" alone would be another host's URL
    answer = world.client.get(url, headers={"Host": EVIL}, follow_redirects=False)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert_no_host_reflected(answer)
    assert_secured(answer)
    figures.add(AUTH, cases=1, requests=1)


def test_the_web_ui_still_follows_a_trailing_slash(world: World, figures: Recorder) -> None:
    browser_login(world.client, "admin")
    answer = world.client.get("/settings/contact-links/", headers={"Accept": "text/html"})
    assert answer.status_code == 200
    assert answer.url.path == "/settings/contact-links"
    assert "text/html" in answer.headers["content-type"]
    figures.add(AUTH, cases=1, requests=2)


# -- bodies over the limit -----------------------------------------------------------

TOO_BIG = b"x" * (MAX_BODY_BYTES + 1)


def _chunks() -> Iterator[bytes]:
    for start in range(0, len(TOO_BIG), 64 * 1024):
        yield TOO_BIG[start : start + 64 * 1024]


READERS = [("/api/users", "application/json"), ("/login", "application/x-www-form-urlencoded")]
NOT_READERS = [("/webhooks/ultramsg/x", "application/json"), ("/api/me", "application/json")]


def test_a_body_over_the_limit_is_the_usual_413_error_with_every_header(
    world: World, figures: Recorder
) -> None:
    for (path, content_type), declared in itertools.product(READERS + NOT_READERS, (True, False)):
        where = (path, content_type, "content-length" if declared else "chunked")
        answer = world.client.post(
            path,
            content=TOO_BIG if declared else _chunks(),
            headers={"Content-Type": content_type, **world.admin.headers},
        )
        assert_secured(answer)
        figures.add(AUTH, cases=1, requests=1)
        if not declared and (path, content_type) in NOT_READERS:
            assert answer.status_code in (404, 405), where  # never read: nothing to refuse
            continue
        assert answer.status_code == 413, (where, answer.text)
        assert answer.headers["content-type"] == "application/json"
        error = answer.json()["error"]
        assert error["code"] == "too_large"
        assert f"{MAX_BODY_BYTES:,} bytes" in error["message"]
    figures.fixed(AUTH, "a body over the limit was a bare text/plain 413 without security headers")


def test_a_body_at_the_limit_is_read(world: World) -> None:
    body = b'{"username": "big", "role": "user"}'.ljust(MAX_BODY_BYTES, b" ")
    answer = world.client.post(
        "/api/users",
        content=body,
        headers={"Content-Type": "application/json", **world.admin.headers},
    )
    assert answer.status_code == 201, answer.text
