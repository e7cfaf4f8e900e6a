"""Helpers for the HTTP tests: an app on memory adapters, users with tokens, a browser login.

Not a test module itself (it holds no tests); the ``test_http_*`` modules import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from attrs import define, field
from starlette.testclient import TestClient

from wa_manager import Settings
from wa_manager.bootstrap import App, Connect, bootstrap
from wa_manager.domain.model import LIBRARY, RawChat, User
from wa_manager.domain.ports import ChatSource, MessageChannel, PasswordHasher, Store
from wa_manager.entrypoints.http.app import create_app
from wa_manager.testing import FastHasher, InMemoryStore, StaticChats

INSTANCE = "instance4242"
ULTRAMSG_TOKEN = "ultramsg-SECRET-token-4f1c2b"
PASSWORD = "correct horse battery"
SECRET_KEY = "test-secret-key-for-sessions"


def person_chats(count: int, start: int = 1) -> list[RawChat]:
    """``count`` person chats with distinct German mobile numbers and names."""
    return [
        RawChat(f"49151{number:08d}@c.us", f"Person {number}")
        for number in range(start, start + count)
    ]


def make_app(
    chats: Sequence[RawChat] | ChatSource = (),
    *,
    store: Store | None = None,
    configured: bool = True,
    hasher: PasswordHasher | None = None,
    messenger: MessageChannel | None = None,
    webhook_secret: str | None = None,
    connect: Connect | None = None,
    encryption_key: str | None = None,
) -> App:
    """An ``App`` on memory adapters (or ``store``) with these chats to sync; ``connect``
    and ``encryption_key`` for numbers stored besides the default."""
    hasher = hasher or FastHasher()
    if not configured:
        return bootstrap(Settings(), store=store or InMemoryStore(), hasher=hasher)
    source = chats if not isinstance(chats, Sequence) else StaticChats(list(chats))
    return bootstrap(
        Settings(
            instance_id=INSTANCE,
            token=ULTRAMSG_TOKEN,
            secret_key=SECRET_KEY,
            webhook_secret=webhook_secret,
            encryption_key=encryption_key,
        ),
        chats=source,
        store=store or InMemoryStore(),
        hasher=hasher,
        messenger=messenger,
        connect=connect,
    )


@define
class Member:
    """A user of the test app, with an API token."""

    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Bearer header for this member."""
        return {"Authorization": f"Bearer {self.token}"}


@define
class World:
    """A running test client on an app with an admin and a plain user."""

    app: App
    client: TestClient
    admin: Member
    user: Member
    others: list[Member] = field(factory=list)

    def add_member(self, username: str, role: str = "user") -> Member:
        """Another user with a password and a token."""
        return add_member(self.app, username, role)


def add_member(app: App, username: str, role: str = "user") -> Member:
    """Create a user with ``PASSWORD`` and an API token."""
    user = app.add_user(username, role, PASSWORD)
    return Member(user, app.accounts.create_token(LIBRARY, username))


@contextmanager
def running(app: App, **options: Any) -> Iterator[World]:
    """The app served by a ``TestClient`` (lifespan run), with ``admin`` and ``maria``."""
    admin = add_member(app, "admin", "admin")
    user = add_member(app, "maria", "user")
    with TestClient(create_app(app, **options), base_url="https://testserver") as client:
        yield World(app, client, admin, user)


def sync(world: World) -> dict[str, Any]:
    """Run a sync through the API as the admin; the report."""
    response = world.client.post("/api/whatsapp-contacts", headers=world.admin.headers)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


_CSRF_FIELD = re.compile(r'name="csrf[_-]token"[^>]*?(?:value|content)="([^"]+)"')


def browser_login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the /login form like a browser; the session's CSRF token."""
    form = client.get("/login")
    match = _CSRF_FIELD.search(form.text)
    assert match, "the login form carries a CSRF token"
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": match.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = client.get("/conversations")
    token = _CSRF_FIELD.search(page.text)
    assert token, "signed-in pages carry the CSRF token"
    return token.group(1)


def all_pages(client: TestClient, path: str, headers: dict[str, str], limit: int) -> list[Any]:
    """Every item of a paginated list, following ``next_cursor`` to the end."""
    items: list[Any] = []
    params: dict[str, str | int] = {"limit": limit}
    for _ in range(10_000):
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        if body["next_cursor"] is None:
            return items
        params = {"limit": limit, "cursor": body["next_cursor"]}
    raise AssertionError("pagination did not end")


def conversation_of(world: World, wa_id: str) -> int:
    """The id of the conversation with the chat ``wa_id``."""
    return next(c.id for c in world.app.conversations.all(LIBRARY) if c.contact.wa_id == wa_id)


@contextmanager
def chatting(messenger: MessageChannel, webhook_secret: str, shared: str) -> Iterator[World]:
    """Two synced person chats with messages through ``messenger`` and webhooks on
    ``webhook_secret``; the chat ``shared`` is linked to maria."""
    with running(
        make_app(person_chats(2), messenger=messenger, webhook_secret=webhook_secret)
    ) as world:
        sync(world)
        world.app.link(shared, "maria")
        yield world
