"""Who may see and do what: every route's role, random link changes, credentials, login abuse.

``ROUTE_ROLES`` names the role of every route the app has; a route added
without an entry fails the first test. A hypothesis state machine links and
unlinks at random through the API (users, teams, and members of two WhatsApp
numbers) and checks after each step, over HTTP, that every user sees exactly their
conversations; on the memory store, and on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
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

from tests.conftest import SQL_BACKENDS, empty_postgres_tables, fresh_sqlite_url
from tests.reliability.figures import AUTH, Recorder
from wa_manager.adapters.sql import SqlStore
from wa_manager.domain.model import LIBRARY, WEBHOOK
from wa_manager.domain.ports import Store
from wa_manager.entrypoints.http.headers import SECURITY_HEADERS
from wa_manager.testing import FakeMessenger, InMemoryStore, StaticChats, memory_app

PUBLIC, USER, ADMIN, ADMIN_BEARER, PAGE_USER, PAGE_ADMIN, FORM, PAGE_FORM = (
    "public", "user", "admin", "admin-bearer", "page-user", "page-admin", "form", "page-form",
)  # fmt: skip
PAGE_VISIBLE = "page-visible"  # a page of one conversation: 404 for a user it is not shared with

ROUTE_ROLES = {
    ("GET", "/api/whatsapp-contacts"): ADMIN_BEARER,
    ("POST", "/api/whatsapp-contacts"): ADMIN,
    ("GET", "/api/contacts"): ADMIN,
    ("GET", "/api/contacts.csv"): ADMIN,
    ("GET", "/api/contacts/{id}"): ADMIN,
    ("GET", "/api/contacts/duplicates"): ADMIN,
    ("POST", "/api/contacts/{id}/merge"): ADMIN,
    ("GET", "/api/contacts/{id}/users"): ADMIN,
    ("PUT", "/api/contacts/{id}/users"): ADMIN,
    ("GET", "/api/contacts/{id}/links/history"): ADMIN,
    ("GET", "/api/sync-runs"): ADMIN,
    ("GET", "/api/sync-schedule"): ADMIN,
    ("GET", "/api/instance/status"): ADMIN,
    ("POST", "/webhooks/ultramsg/{secret}"): PUBLIC,
    ("GET", "/api/conversations"): USER,
    ("GET", "/api/conversations/{id}"): USER,
    ("GET", "/api/conversations/{id}/messages"): USER,
    ("POST", "/api/conversations/{id}/messages"): USER,
    ("POST", "/api/messages/{id}/retry"): USER,
    ("POST", "/api/conversations/{id}/history"): USER,
    ("PATCH", "/api/conversations/{id}"): USER,
    ("GET", "/api/conversations/{id}/events"): USER,
    ("GET", "/api/conversations/{id}/assignees"): USER,
    ("GET", "/api/users"): ADMIN,
    ("POST", "/api/users"): ADMIN,
    ("GET", "/api/me"): USER,
    ("PATCH", "/api/users/{id}"): ADMIN,
    ("POST", "/api/me/password"): USER,
    ("GET", "/api/tokens"): USER,
    ("POST", "/api/tokens"): USER,
    ("DELETE", "/api/tokens/{id}"): USER,
    ("GET", "/api/teams"): ADMIN,
    ("POST", "/api/teams"): ADMIN,
    ("PUT", "/api/teams/{id}/members"): ADMIN,
    ("GET", "/api/contacts/{id}/teams"): ADMIN,
    ("PUT", "/api/contacts/{id}/teams"): ADMIN,
    ("POST", "/api/links/bulk"): ADMIN,
    ("GET", "/api/instances"): ADMIN,
    ("POST", "/api/instances"): ADMIN,
    ("DELETE", "/api/instances/{id}"): ADMIN,
    ("GET", "/api/instances/{id}/members"): ADMIN,
    ("PUT", "/api/instances/{id}/members"): ADMIN,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): FORM,
    ("GET", "/logout"): PUBLIC,
    ("POST", "/logout"): FORM,
    ("GET", "/settings/contact-links"): PAGE_ADMIN,
    ("GET", "/conversations"): PAGE_USER,
    ("GET", "/settings/users"): PAGE_ADMIN,
    ("POST", "/settings/users"): PAGE_FORM,
    ("GET", "/settings/teams"): PAGE_ADMIN,
    ("GET", "/settings/duplicates"): PAGE_ADMIN,
    ("POST", "/settings/teams"): PAGE_FORM,
    ("GET", "/account"): PAGE_USER,
    ("POST", "/account"): PAGE_FORM,
    ("POST", "/settings/contact-links/bulk"): PAGE_FORM,
    ("GET", "/settings/whatsapp-numbers/{id}/members"): PAGE_ADMIN,
    ("POST", "/settings/whatsapp-numbers/{id}/members"): PAGE_FORM,
    ("GET", "/conversations/{id}"): PAGE_VISIBLE,
    ("POST", "/conversations/{id}/workflow"): PAGE_FORM,
    ("GET", "/settings/whatsapp-numbers"): PAGE_ADMIN,
    ("POST", "/settings/whatsapp-numbers"): PAGE_FORM,
    ("GET", "/static/{path}"): PUBLIC,
}


@pytest.fixture
def world() -> Iterator[World]:
    with running(make_app(person_chats(3))) as world:
        sync(world)
        yield world


def app_routes(world: World) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, HEAD left out."""
    found = set()
    for route in world.client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            found.add(("GET", route.path + "/{path}"))
        elif isinstance(route, Route):
            found |= {(method, route.path) for method in (route.methods or set()) - {"HEAD"}}
    return found


BODIES = {
    ("POST", "/api/conversations/{id}/messages"): {"body": "Hello"},
    ("POST", "/api/me/password"): {"current_password": PASSWORD, "new_password": PASSWORD},
    ("POST", "/api/tokens"): {"name": "route check"},
}
"""A valid body where ``{}`` is none, so that the role decides the answer, not a 422."""


def concrete(path: str) -> str:
    if path == "/api/tokens/{id}":  # token 1 is the admin's own: revoking it ends the test
        return "/api/tokens/999999"
    return path.replace("{id}", "1").replace("{path}", "app.css").replace("{secret}", "guess")


def test_every_route_answers_each_role_as_its_table_entry_says(
    world: World, figures: Recorder
) -> None:
    assert app_routes(world) == set(ROUTE_ROLES), "every route needs an entry in ROUTE_ROLES"
    callers = {"anonymous": {}, "user": world.user.headers, "admin": world.admin.headers}
    for (method, path), role in ROUTE_ROLES.items():
        status = {
            who: world.client.request(
                method,
                concrete(path),
                headers=headers,
                json=BODIES.get((method, path), {}),
                follow_redirects=False,
            )
            for who, headers in callers.items()
        }
        codes = {who: answer.status_code for who, answer in status.items()}
        where = (method, path, codes)
        if role in (USER, ADMIN, ADMIN_BEARER):
            assert codes["anonymous"] == 401, where
            # a plain user may call USER routes, and sees a 404 for what is not theirs
            assert codes["user"] in ((200, 201, 204, 404) if role == USER else (403,)), where
            assert codes["admin"] not in (401, 403), where
        elif role in (PAGE_USER, PAGE_ADMIN, PAGE_VISIBLE):
            assert codes["anonymous"] == 303, where
            assert status["anonymous"].headers["location"].startswith("/login?next="), where
            assert codes["user"] == {PAGE_USER: 200, PAGE_ADMIN: 403, PAGE_VISIBLE: 404}[role], (
                where
            )
            assert codes["admin"] == 200, where
        elif role == FORM:  # a form post without the session's CSRF token is refused
            assert set(codes.values()) <= {400, 403}, where
        elif role == PAGE_FORM:  # a signed-in page's form: to /login, or refused without CSRF
            assert codes["anonymous"] == 303, where
            assert codes["user"] == codes["admin"] == 403, where
        else:
            assert codes["anonymous"] not in (401, 403), where
        for answer in status.values():
            for name, value in SECURITY_HEADERS.items():
                assert answer.headers.get(name) == value, (where, name)
        figures.add(AUTH, cases=len(callers), requests=len(callers))


def test_a_session_cookie_cannot_call_the_bearer_only_sync(world: World, figures: Recorder) -> None:
    browser_login(world.client, "admin")
    for method in ("GET", "HEAD"):
        assert world.client.request(method, "/api/whatsapp-contacts").status_code in (401, 405)
    figures.add(AUTH, cases=2, requests=2)


def test_head_on_the_sync_endpoint_runs_no_sync(figures: Recorder) -> None:
    chats = StaticChats([("4915100000001@c.us", "Anna")])
    app = make_app(chats)
    with running(app) as world:
        answer = world.client.head("/api/whatsapp-contacts", headers=world.admin.headers)
        assert answer.status_code == 405
        assert chats.calls == 0
        assert app.syncs.last(LIBRARY) is None
        assert not app.contacts.page(LIBRARY).items
    figures.add(AUTH, cases=1, requests=1)
    figures.fixed(AUTH, "a Bearer HEAD /api/whatsapp-contacts ran a whole sync; HEAD is now 405")


def test_security_headers_on_errors_and_unknown_paths(world: World, figures: Recorder) -> None:
    answers = [
        world.client.get("/no/such/page"),
        world.client.get("/api/contacts/999999", headers=world.admin.headers),
        world.client.get("/api/contacts?limit=0", headers=world.admin.headers),
        world.client.delete("/api/me", headers=world.user.headers),
        world.client.get("/static/no-such-file.css"),
    ]
    for answer in answers:
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (answer.request.url, name)
    figures.add(AUTH, cases=len(answers), requests=len(answers))


# -- credentials ----------------------------------------------------------------------


def test_tokens_are_stored_only_as_hashes_and_revoked_ones_refused(
    tmp_path: Path, figures: Recorder
) -> None:
    url = fresh_sqlite_url(tmp_path)
    store = SqlStore.open(url)
    app = make_app(person_chats(2), store=store)
    with running(app) as world:
        token = world.user.token
        assert world.client.get("/api/me", headers=world.user.headers).status_code == 200
        store.engine.dispose()  # flush everything to the files
        stored = b"".join(path.read_bytes() for path in tmp_path.glob("wa_manager.db*"))
        assert token.encode() not in stored
        assert token.split("_", 1)[1].encode() not in stored
        assert hashlib.sha256(token.encode()).hexdigest().encode() in stored

        with app.store() as uow:
            for issued in uow.tokens.list_for(world.user.user.id):
                uow.tokens.revoke(issued.id, app.clock())
            uow.commit()
        refused = world.client.get("/api/me", headers=world.user.headers)
        assert refused.status_code == 401
        assert world.client.get("/api/me", headers=world.admin.headers).status_code == 200
    figures.add(AUTH, cases=3, requests=3)


def test_session_cookies_are_httponly_samesite_and_secure_over_https(figures: Recorder) -> None:
    with running(make_app()) as world:  # no secure_cookies flag: the https scheme is enough
        cookie = world.client.get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "; secure" in cookie
    figures.add(AUTH, cases=1, requests=1)


# -- login abuse -----------------------------------------------------------------------


def client_from(world: World, address: str) -> TestClient:
    """Another browser, at ``address``, on the same server."""
    return TestClient(world.client.app, base_url="https://testserver", client=(address, 40000))


def login_form(client: TestClient) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text)
    assert match
    return match.group(1)


def try_login(client: TestClient, username: str, password: str) -> Any:
    csrf = login_form(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf},
        follow_redirects=False,
    )


def test_an_attacker_cannot_lock_a_user_out_from_elsewhere(world: World, figures: Recorder) -> None:
    """The limit is per (account, address) and per address: a flood of wrong passwords
    for maria from one address throttles that address, not maria at her own."""
    with client_from(world, "203.0.113.7") as attacker, client_from(world, "198.51.100.2") as maria:
        statuses = [try_login(attacker, "maria", "wrong guess").status_code for _ in range(8)]
        assert statuses[:5] == [401] * 5
        assert set(statuses[5:]) == {429}
        assert try_login(attacker, "maria", PASSWORD).status_code == 429
        assert try_login(maria, "maria", PASSWORD).status_code == 303
    figures.add(AUTH, cases=3, requests=len(statuses) + 2)
    figures.fixed(
        AUTH,
        "5 wrong passwords from anywhere locked the account out for everyone; the login "
        "limit is now per (account, address) and per address",
    )


def test_one_address_guessing_across_accounts_is_throttled(world: World, figures: Recorder) -> None:
    with client_from(world, "203.0.113.9") as attacker:
        statuses = [try_login(attacker, f"user{n}", "guess").status_code for n in range(7)]
        assert statuses[:5] == [401] * 5
        assert set(statuses[5:]) == {429}
        assert try_login(attacker, "admin", PASSWORD).status_code == 429
    figures.add(AUTH, cases=2, requests=len(statuses) + 1)


class CountingHasher:
    """A ``FastHasher`` that counts password checks (the slow part of a login)."""

    def __init__(self) -> None:
        from wa_manager.testing import FastHasher

        self._inner = FastHasher()
        self.verifies = 0

    def hash(self, password: str) -> str:
        return self._inner.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.verifies += 1
        return self._inner.verify(password_hash, password)


def test_unknown_user_and_wrong_password_look_the_same(figures: Recorder) -> None:
    """Same status, same page (but for the echoed username), same amount of hashing."""
    hasher = CountingHasher()
    app = make_app(person_chats(1), hasher=hasher)
    with running(app) as world:
        pages = {}
        work = {}
        for username in ("maria", "nobody-here"):
            with client_from(world, f"192.0.2.{len(pages) + 1}") as browser:
                before = hasher.verifies
                answer = try_login(browser, username, "not the password")
                work[username] = hasher.verifies - before
                text = answer.text.replace(username, "USERNAME")
                text = re.sub(r'"[A-Za-z0-9_\-]{40,}"', '"CSRF"', text)
                headers = {k: v for k, v in answer.headers.items() if k not in ("set-cookie",)}
                headers.pop("content-length", None)
                pages[username] = (answer.status_code, text, headers)
        assert pages["maria"] == pages["nobody-here"]
        assert pages["maria"][0] == 401
        assert work == {"maria": 1, "nobody-here": 1}
    figures.add(AUTH, cases=2, requests=4)


# -- random links and unlinks, checked over HTTP after every step ---------------------

CONTACTS = 6
OTHER_CONTACTS = 3  # of a second number; the first is the same person as one of ours
USERS = 3
TEAMS = 2
ALL_CONTACTS = CONTACTS + OTHER_CONTACTS
NUMBERS = ("instance4242", "instance7373")  # the app's own (make_app's INSTANCE), another


MACHINE_HOOK_SECRET = "machine-hook-3c2d1e"


class LinkMachine(RuleBasedStateMachine):
    """Links and unlinks users and teams at random (one by one and in bulk), changes team
    members and the members (users and teams) of two WhatsApp numbers, with messages
    coming in and replies going out; after each step every user sees exactly the
    conversations the model says (linked directly or through a team, or a member of the
    contact's number directly or through a team), reads exactly those threads, and may
    reply exactly there."""

    recorder: Recorder | None = None
    new_store: Callable[[], Store] = InMemoryStore

    @initialize()
    def start(self) -> None:
        store = type(self).new_store()
        other_messenger = FakeMessenger()  # the second number's replies go there
        app = make_app(
            person_chats(CONTACTS),
            messenger=FakeMessenger(),
            webhook_secret=MACHINE_HOOK_SECRET,
            store=store,
            connect=lambda _instance_id, _token: other_messenger,
            encryption_key=Fernet.generate_key().decode(),
        )
        self.context = running(app)
        self.world = self.context.__enter__()
        sync(self.world)
        assert self.world.app.settings.instance_id == NUMBERS[0]
        stored = self.world.client.post(
            "/api/instances",
            json={"instance_id": NUMBERS[1], "token": "machine-second-SECRET"},
            headers=self.world.admin.headers,
        )
        assert stored.status_code == 201, stored.text
        self.other_number = memory_app(
            person_chats(OTHER_CONTACTS, start=CONTACTS), instance_id=NUMBERS[1], store=store
        )
        self.other_number.sync()
        self.members = [self.world.add_member(f"member{index}") for index in range(USERS)]
        contacts = all_pages(self.world.client, "/api/contacts", self.world.admin.headers, 200)
        self.contact_ids = sorted(item["id"] for item in contacts)
        self.chat_of = {item["id"]: item["wa_id"] for item in contacts}
        self.number_of = {item["id"]: item["source"] for item in contacts}
        assert sorted(self.number_of.values()) == sorted(
            [NUMBERS[0]] * CONTACTS + [NUMBERS[1]] * OTHER_CONTACTS
        )
        self.number_users: dict[str, set[int]] = {number: set() for number in NUMBERS}
        self.number_teams: dict[str, set[int]] = {number: set() for number in NUMBERS}
        self.thread_length = dict.fromkeys(self.contact_ids, 0)
        self.sent = 0
        self.conversation_of = {
            item["contact"]["id"]: item["id"]
            for item in all_pages(
                self.world.client, "/api/conversations", self.world.admin.headers, 200
            )
        }
        self.model: dict[int, set[int]] = {contact: set() for contact in self.contact_ids}
        self.team_ids = [
            self.world.client.post(
                "/api/teams", json={"name": f"team{index}"}, headers=self.world.admin.headers
            ).json()["id"]
            for index in range(TEAMS)
        ]
        self.team_links: dict[int, set[int]] = {contact: set() for contact in self.contact_ids}
        self.team_members: dict[int, set[int]] = {team: set() for team in self.team_ids}

    def _sees(self, user_id: int, contact: int) -> bool:
        """The model of visibility: linked directly, or through a team of theirs, or a
        member of the contact's number, directly or through a team of theirs."""
        number = self.number_of[contact]
        teams = self.team_links[contact] | self.number_teams[number]
        return (
            user_id in self.model[contact]
            or user_id in self.number_users[number]
            or any(user_id in self.team_members[team] for team in teams)
        )

    def teardown(self) -> None:
        if hasattr(self, "context"):
            self.context.__exit__(None, None, None)
            self.world.app.close()

    def _put(self, contact: int, user_ids: set[int]) -> None:
        answer = self.world.client.put(
            f"/api/contacts/{contact}/users",
            json={"user_ids": sorted(user_ids)},
            headers=self.world.admin.headers,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"user_ids": sorted(user_ids)}
        self.model[contact] = set(user_ids)
        self._count(requests=1)

    def _count(self, **counts: int) -> None:
        if LinkMachine.recorder is not None:
            LinkMachine.recorder.add(AUTH, **counts)

    @rule(contact=st.integers(0, ALL_CONTACTS - 1), member=st.integers(0, USERS - 1))
    def link(self, contact: int, member: int) -> None:
        contact_id = self.contact_ids[contact]
        self._put(contact_id, self.model[contact_id] | {self.members[member].user.id})

    @rule(contact=st.integers(0, ALL_CONTACTS - 1), member=st.integers(0, USERS - 1))
    def unlink(self, contact: int, member: int) -> None:
        contact_id = self.contact_ids[contact]
        self._put(contact_id, self.model[contact_id] - {self.members[member].user.id})

    @rule(
        number=st.sampled_from(NUMBERS),
        members=st.sets(st.integers(0, USERS - 1)),
        teams=st.sets(st.integers(0, TEAMS - 1)),
    )
    def set_number_members(self, number: str, members: set[int], teams: set[int]) -> None:
        user_ids = {self.members[m].user.id for m in members}
        team_ids = {self.team_ids[t] for t in teams}
        answer = self.world.client.put(
            f"/api/instances/{number}/members",
            json={"user_ids": sorted(user_ids), "team_ids": sorted(team_ids)},
            headers=self.world.admin.headers,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "instance_id": number,
            "user_ids": sorted(user_ids),
            "team_ids": sorted(team_ids),
        }
        self.number_users[number], self.number_teams[number] = user_ids, team_ids
        self._count(requests=1)

    @rule(contact=st.integers(0, ALL_CONTACTS - 1), members=st.sets(st.integers(0, USERS - 1)))
    def set_exactly(self, contact: int, members: set[int]) -> None:
        self._put(self.contact_ids[contact], {self.members[m].user.id for m in members})

    @rule(team=st.integers(0, TEAMS - 1), members=st.sets(st.integers(0, USERS - 1)))
    def set_team_members(self, team: int, members: set[int]) -> None:
        team_id = self.team_ids[team]
        user_ids = {self.members[m].user.id for m in members}
        answer = self.world.client.put(
            f"/api/teams/{team_id}/members",
            json={"user_ids": sorted(user_ids)},
            headers=self.world.admin.headers,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["user_ids"] == sorted(user_ids)
        self.team_members[team_id] = user_ids
        self._count(requests=1)

    @rule(contact=st.integers(0, ALL_CONTACTS - 1), teams=st.sets(st.integers(0, TEAMS - 1)))
    def set_contact_teams(self, contact: int, teams: set[int]) -> None:
        contact_id = self.contact_ids[contact]
        team_ids = {self.team_ids[t] for t in teams}
        answer = self.world.client.put(
            f"/api/contacts/{contact_id}/teams",
            json={"team_ids": sorted(team_ids)},
            headers=self.world.admin.headers,
        )
        assert answer.json() == {"team_ids": sorted(team_ids)}, answer.text
        self.team_links[contact_id] = team_ids
        self._count(requests=1)

    @rule(
        contacts=st.sets(st.integers(0, ALL_CONTACTS - 1), min_size=1),
        add_users=st.sets(st.integers(0, USERS - 1)),
        remove_users=st.sets(st.integers(0, USERS - 1)),
        add_teams=st.sets(st.integers(0, TEAMS - 1)),
        remove_teams=st.sets(st.integers(0, TEAMS - 1)),
    )
    def bulk_link(
        self,
        contacts: set[int],
        add_users: set[int],
        remove_users: set[int],
        add_teams: set[int],
        remove_teams: set[int],
    ) -> None:
        remove_users -= add_users
        remove_teams -= add_teams
        change = {
            "add_user_ids": sorted(self.members[m].user.id for m in add_users),
            "remove_user_ids": sorted(self.members[m].user.id for m in remove_users),
            "add_team_ids": sorted(self.team_ids[t] for t in add_teams),
            "remove_team_ids": sorted(self.team_ids[t] for t in remove_teams),
        }
        chosen = sorted(self.contact_ids[c] for c in contacts)
        answer = self.world.client.post(
            "/api/links/bulk",
            json={"contact_ids": chosen, **change},
            headers=self.world.admin.headers,
        )
        if not any(change.values()):
            assert answer.status_code == 422
            return
        assert answer.status_code == 200, answer.text
        changed = 0
        for contact_id in chosen:
            users, teams = self.model[contact_id], self.team_links[contact_id]
            new_users = (users | set(change["add_user_ids"])) - set(change["remove_user_ids"])
            new_teams = (teams | set(change["add_team_ids"])) - set(change["remove_team_ids"])
            changed += len(users ^ new_users) + len(teams ^ new_teams)
            self.model[contact_id], self.team_links[contact_id] = new_users, new_teams
        assert answer.json() == {"contacts": len(chosen), "changed": changed}
        self._count(requests=1)

    @rule(contact=st.integers(0, ALL_CONTACTS - 1))
    def message_arrives(self, contact: int) -> None:
        contact_id = self.contact_ids[contact]
        self.sent += 1
        event = {
            "event_type": "message_received",
            "data": {"id": f"false_{self.chat_of[contact_id]}_{self.sent}",
                     "from": self.chat_of[contact_id], "body": f"message {self.sent}",
                     "time": 1732400000 + self.sent},
        }  # fmt: skip
        if self.number_of[contact_id] == NUMBERS[0]:
            answer = self.world.client.post(f"/webhooks/ultramsg/{MACHINE_HOOK_SECRET}", json=event)
            assert answer.json()["message"] == "stored", answer.text
        else:  # the other number's webhook, filed by an app of that instance
            assert self.other_number.webhooks.handle(WEBHOOK, event).message == "stored"
        self.thread_length[contact_id] += 1
        self._count(requests=1)

    @rule(contact=st.integers(0, ALL_CONTACTS - 1), member=st.integers(0, USERS - 1))
    def member_replies(self, contact: int, member: int) -> None:
        contact_id = self.contact_ids[contact]
        sender = self.members[member]
        answer = self.world.client.post(
            f"/api/conversations/{self.conversation_of[contact_id]}/messages",
            json={"body": f"reply from {sender.user.username}"},
            headers=sender.headers,
        )
        may_see = self._sees(sender.user.id, contact_id)
        assert answer.status_code == (201 if may_see else 404), answer.text
        if may_see:
            self.thread_length[contact_id] += 1
        self._count(requests=1)

    @invariant()
    def each_user_sees_exactly_their_conversations(self) -> None:
        if not hasattr(self, "world"):
            return
        for member in self.members:
            expected = {c for c in self.contact_ids if self._sees(member.user.id, c)}
            seen = all_pages(self.world.client, "/api/conversations", member.headers, 4)
            assert sorted(item["contact"]["id"] for item in seen) == sorted(expected)
            for contact in self.contact_ids:
                answer = self.world.client.get(
                    f"/api/conversations/{self.conversation_of[contact]}", headers=member.headers
                )
                assert answer.status_code == (200 if contact in expected else 404)
                messages = self.world.client.get(
                    f"/api/conversations/{self.conversation_of[contact]}/messages",
                    params={"limit": 200},
                    headers=member.headers,
                )
                assert messages.status_code == (200 if contact in expected else 404)
                if contact in expected:
                    assert len(messages.json()["items"]) == self.thread_length[contact]
            self._count(requests=1 + 2 * len(self.contact_ids))
        self._count(cases=1)


def run_link_machine(
    figures: Recorder, examples: int, steps: int, new_store: Callable[[], Store] = InMemoryStore
) -> None:
    LinkMachine.recorder = figures
    LinkMachine.new_store = new_store
    try:
        LinkMachine.TestCase.settings = settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        LinkMachine.TestCase("runTest").runTest()
    finally:
        LinkMachine.recorder = None
        LinkMachine.new_store = InMemoryStore


def test_random_links_and_unlinks_keep_visibility_exact(figures: Recorder) -> None:
    run_link_machine(figures, examples=8, steps=12)


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_random_links_teams_and_numbers_keep_sql_visibility_exact(
    backend: str, figures: Recorder, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The same machine on a SQL store: the SQL visibility against the model."""
    made = iter(range(10_000))

    def new_store() -> Store:
        if backend == "sqlite":
            folder = tmp_path / f"example{next(made)}"
            folder.mkdir()
            return SqlStore.open(fresh_sqlite_url(folder))
        url = str(request.getfixturevalue("postgres_schema_url"))
        empty_postgres_tables(url)
        return SqlStore.open(url)

    run_link_machine(figures, examples=4, steps=10, new_store=new_store)


@pytest.mark.slow
def test_many_random_links_and_unlinks_keep_visibility_exact(figures: Recorder) -> None:
    run_link_machine(figures, examples=40, steps=30)
