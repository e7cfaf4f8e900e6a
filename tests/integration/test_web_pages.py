"""The web UI's pages over HTTP (no browser): guards, login, CSRF, escaping, paging.

The browser-driven story is in ``tests/e2e``; here are the rules a page must keep
whatever the browser does, checked quickly on memory adapters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient
from test_http_support import (
    PASSWORD,
    World,
    browser_login,
    make_app,
    person_chats,
    running,
    sync,
)

from wa_manager.domain.model import LIBRARY, RawChat

HOSTILE = "<script>alert(1)</script>"
CONTACT_LINKS = "/settings/contact-links"


@pytest.fixture
def world() -> Iterator[World]:
    chats = [*person_chats(3), RawChat("4915154321098@c.us", HOSTILE)]
    with running(make_app(chats)) as world:
        sync(world)
        yield world


class PageShape(HTMLParser):
    """What a page is made of, for the checks below: scripts, handlers, rows, links."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.script_sources: list[str] = []
        self.event_handlers: list[str] = []
        self.rows = 0
        self.next_href: str | None = None
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.event_handlers += [name for name in attributes if name.startswith("on")]
        if tag == "script":
            if attributes.get("src"):
                self.script_sources.append(str(attributes["src"]))
            else:
                self.inline_scripts += 1
        if tag == "tr" and "data-contact-id" in attributes:
            self.rows += 1
        if tag == "a" and attributes.get("href"):
            self.links.append(str(attributes["href"]))
            if attributes.get("rel") == "next":
                self.next_href = attributes["href"]


def shape(html: str) -> PageShape:
    parser = PageShape()
    parser.feed(html)
    return parser


def signed_in_as(world: World, username: str) -> str:
    return browser_login(world.client, username)


# -- guards ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CONTACT_LINKS, "/conversations"])
def test_signed_out_visitors_are_sent_to_the_login_form(world: World, path: str) -> None:
    answer = world.client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next={path.replace('/', '%2F')}"


def test_a_plain_user_gets_a_403_page_on_contact_links_and_no_admin_link(world: World) -> None:
    signed_in_as(world, "maria")
    refused = world.client.get(CONTACT_LINKS)
    assert refused.status_code == 403
    assert "Admins only" in refused.text
    own = world.client.get("/conversations")
    assert CONTACT_LINKS not in shape(own.text).links


def test_an_admin_lands_on_contact_links_and_a_user_on_conversations(world: World) -> None:
    signed_in_as(world, "admin")
    assert world.client.get("/", follow_redirects=False).headers["location"] == CONTACT_LINKS
    world.client.cookies.clear()
    signed_in_as(world, "maria")
    assert world.client.get("/", follow_redirects=False).headers["location"] == "/conversations"


# -- login and logout -----------------------------------------------------------------


def _login_form_token(client: TestClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert match
    return match.group(1)


def test_a_login_without_the_forms_csrf_token_is_refused(world: World) -> None:
    world.client.get("/login")
    answer = world.client.post(
        "/login", data={"username": "admin", "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 400
    assert "expired" in answer.text
    assert world.client.get(CONTACT_LINKS, follow_redirects=False).status_code == 303


def test_a_wrong_password_shows_a_message_and_keeps_the_username(world: World) -> None:
    token = _login_form_token(world.client)
    answer = world.client.post(
        "/login", data={"username": "admin", "password": "nope", "csrf_token": token}
    )
    assert answer.status_code == 401
    assert "Wrong username or password." in answer.text
    assert 'value="admin"' in answer.text


@pytest.mark.parametrize(
    ("target", "landing"),
    [
        ("/conversations?cursor=x", "/conversations?cursor=x"),
        ("//evil.example/", CONTACT_LINKS),
        ("https://evil.example/", CONTACT_LINKS),
        ("/\\evil.example", CONTACT_LINKS),
    ],
)
def test_login_goes_back_only_to_a_page_of_this_site(
    world: World, target: str, landing: str
) -> None:
    token = _login_form_token(world.client)
    answer = world.client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token, "next": target},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == landing


def test_too_many_wrong_passwords_are_throttled(world: World) -> None:
    token = _login_form_token(world.client)
    statuses = [
        world.client.post(
            "/login", data={"username": "admin", "password": "wrong", "csrf_token": token}
        ).status_code
        for _ in range(6)
    ]
    assert statuses[-1] == 429
    assert (
        "Too many failed sign-ins"
        in world.client.post(
            "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
        ).text
    )


def test_logout_needs_the_csrf_token(world: World) -> None:
    token = signed_in_as(world, "admin")
    refused = world.client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert world.client.get(CONTACT_LINKS).status_code == 200
    done = world.client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert done.headers["location"] == "/login"
    assert world.client.get(CONTACT_LINKS, follow_redirects=False).status_code == 303


# -- what the pages contain -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", CONTACT_LINKS, "/conversations"])
def test_pages_have_no_inline_script_and_a_strict_csp(world: World, path: str) -> None:
    signed_in_as(world, "admin")
    page = world.client.get(path)
    assert page.status_code == 200
    found = shape(page.text)
    assert found.inline_scripts == 0
    assert found.event_handlers == []
    assert found.script_sources, "the page loads its JavaScript from /static"
    for source in found.script_sources:
        assert world.client.get(source).status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_a_script_name_is_escaped_text_everywhere(world: World) -> None:
    signed_in_as(world, "admin")
    for path in (CONTACT_LINKS, "/conversations"):
        html = world.client.get(path).text
        assert HOSTILE not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_contact_links_show_linked_usernames(world: World) -> None:
    contact = world.app.contacts.page(LIBRARY).items[0]
    world.app.contacts.set_users(LIBRARY, contact.id, [world.user.user.id])
    signed_in_as(world, "admin")
    html = world.client.get(CONTACT_LINKS).text
    row = html.split(f'data-contact-id="{contact.id}"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="chip" dir="auto">maria</span>' in row


def test_a_user_sees_exactly_the_conversations_linked_to_them(world: World) -> None:
    linked = world.app.contacts.page(LIBRARY, search="Person 2").items[0]
    world.app.link(str(linked.id), "maria")
    signed_in_as(world, "maria")
    html = world.client.get("/conversations").text
    names = re.findall(r'<a class="conversation-link" href="/conversations/\d+">([^<]*)</a>', html)
    assert names == ["Person 2"]
    assert linked.phone is not None
    assert linked.phone in html


def test_the_empty_state_tells_the_admin_to_sync() -> None:
    with running(make_app(person_chats(2))) as world:
        browser_login(world.client, "admin")
        html = world.client.get(CONTACT_LINKS).text
    assert "No contacts yet — press Sync WhatsApp" in html


# -- keyset paging --------------------------------------------------------------------


def test_next_walks_every_contact_once_and_keeps_the_search() -> None:
    with running(make_app(person_chats(120))) as world:
        sync(world)
        browser_login(world.client, "admin")
        seen: list[int] = []
        href: str | None = f"{CONTACT_LINKS}?search=Person"
        while href is not None:
            page = world.client.get(href)
            assert page.status_code == 200
            seen += [int(i) for i in re.findall(r'<tr data-contact-id="(\d+)"', page.text)]
            href = shape(page.text).next_href
            assert href is None or "search=Person" in href
    assert len(seen) == 120
    assert len(set(seen)) == 120
    assert seen == sorted(seen, reverse=True)


def test_a_stale_or_forged_cursor_gives_a_friendly_page(world: World) -> None:
    signed_in_as(world, "admin")
    answer = world.client.get(f"{CONTACT_LINKS}?cursor=not-ours")
    assert answer.status_code == 422
    assert "That link did not work" in answer.text
