"""The JSON API as a client sees it: answers, shapes, pagination, links, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_http_support import (
    INSTANCE,
    World,
    all_pages,
    make_app,
    person_chats,
    running,
    sync,
)

from wa_manager.adapters.memory import FakeUnitOfWork
from wa_manager.domain.errors import StorageError, UpstreamRejected, UpstreamUnavailable
from wa_manager.domain.model import RawChat
from wa_manager.testing import FailingChats, InMemoryStore


@pytest.fixture
def world() -> Iterator[World]:
    with running(make_app(person_chats(7))) as world:
        yield world


@pytest.fixture
def synced(world: World) -> World:
    sync(world)
    return world


# -- sync -----------------------------------------------------------------------------


def test_post_sync_answers_the_report(world: World) -> None:
    report = sync(world)
    assert report == {
        "instance_id": INSTANCE,
        "fetched": 7,
        "created_contacts": 7,
        "created_conversations": 7,
        "updated_contacts": 0,
        "skipped": 0,
        "duration_ms": report["duration_ms"],
        "dry_run": False,
    }
    assert isinstance(report["duration_ms"], int)


def test_get_sync_with_bearer_still_works_and_dry_run_writes_nothing(world: World) -> None:
    response = world.client.get(
        "/api/whatsapp-contacts", params={"dry_run": "true"}, headers=world.admin.headers
    )
    assert response.status_code == 200
    assert response.json()["dry_run"] is True
    assert response.json()["created_contacts"] == 7
    contacts = world.client.get("/api/contacts", headers=world.admin.headers).json()
    assert contacts["items"] == []


@pytest.mark.parametrize(
    "error",
    [
        UpstreamRejected("UltraMsg refused the token: Wrong token. Please provide token"),
        UpstreamUnavailable("UltraMsg did not answer within 30 s (3 tries)"),
    ],
)
def test_ultramsg_failures_are_502_with_the_reason(error: UpstreamRejected) -> None:
    with running(make_app(FailingChats(error))) as world:
        response = world.client.post("/api/whatsapp-contacts", headers=world.admin.headers)
        assert response.status_code == 502
        assert response.json()["error"]["message"] == str(error)
        assert response.json()["error"]["code"].startswith("upstream")


def test_sync_without_ultramsg_configuration_is_503() -> None:
    with running(make_app(configured=False)) as world:
        response = world.client.post("/api/whatsapp-contacts", headers=world.admin.headers)
        assert response.status_code == 503
        assert "ULTRAMSG_TOKEN" in response.json()["error"]["message"]
        assert world.client.get("/healthz").json() == {"status": "ok"}


def test_a_second_sync_while_one_holds_the_lock_is_409(world: World) -> None:
    with world.app.store() as holder:
        holder.lock_sync(INSTANCE)
        response = world.client.post("/api/whatsapp-contacts", headers=world.admin.headers)
    assert response.status_code == 409
    assert "already running" in response.json()["error"]["message"]
    assert sync(world)["created_contacts"] == 7  # the lock is free again


# -- contacts and links ---------------------------------------------------------------


def test_contact_shape_and_lookup(synced: World) -> None:
    listing = synced.client.get("/api/contacts", headers=synced.admin.headers).json()
    first = listing["items"][0]
    assert set(first) >= {
        "id", "wa_id", "name", "phone", "kind", "source", "user_ids", "created_at",
        "last_seen_at",
    }  # fmt: skip
    assert first["source"] == INSTANCE
    assert first["kind"] == "person"
    assert first["phone"] == "+" + first["wa_id"].removesuffix("@c.us")
    one = synced.client.get(f"/api/contacts/{first['id']}", headers=synced.admin.headers)
    assert one.json() == first


def test_contacts_pages_cover_everything_once_newest_first() -> None:
    with running(make_app(person_chats(23))) as world:
        sync(world)
        items = all_pages(world.client, "/api/contacts", world.admin.headers, limit=5)
    ids = [item["id"] for item in items]
    assert len(ids) == 23
    assert ids == sorted(set(ids), reverse=True)


def test_search_matches_name_phone_and_wa_id() -> None:
    chats = [
        RawChat("4915112345678@c.us", "Maria Schmidt"),
        RawChat("4917000000001@c.us", "Jonas"),
        RawChat("120363025246125486@g.us", "Team Lager"),
    ]
    with running(make_app(chats)) as world:
        sync(world)

        def names(search: str) -> list[str]:
            response = world.client.get(
                "/api/contacts", params={"search": search}, headers=world.admin.headers
            )
            assert response.status_code == 200
            return sorted(item["name"] for item in response.json()["items"])

        assert names("schmidt") == ["Maria Schmidt"]
        assert names("+49170") == ["Jonas"]
        assert names("@g.us") == ["Team Lager"]
        assert names("") == ["Jonas", "Maria Schmidt", "Team Lager"]
        assert names("nobody") == []


def test_put_links_changes_what_the_user_sees(synced: World) -> None:
    client, admin, maria = synced.client, synced.admin, synced.user
    assert client.get("/api/conversations", headers=maria.headers).json()["items"] == []
    contact = client.get("/api/contacts", headers=admin.headers).json()["items"][2]

    path = f"/api/contacts/{contact['id']}/users"
    put = client.put(path, json={"user_ids": [maria.user.id]}, headers=admin.headers)
    assert put.status_code == 200
    assert put.json() == {"user_ids": [maria.user.id]}
    assert client.get(path, headers=admin.headers).json() == {"user_ids": [maria.user.id]}
    seen = client.get("/api/conversations", headers=maria.headers).json()["items"]
    assert [item["contact"]["id"] for item in seen] == [contact["id"]]
    refreshed = client.get(f"/api/contacts/{contact['id']}", headers=admin.headers).json()
    assert refreshed["user_ids"] == [maria.user.id]

    client.put(path, json={"user_ids": []}, headers=admin.headers)
    assert client.get("/api/conversations", headers=maria.headers).json()["items"] == []


def test_put_links_with_an_unknown_user_is_422_and_changes_nothing(synced: World) -> None:
    contact_id = synced.client.get("/api/contacts", headers=synced.admin.headers).json()["items"][
        0
    ]["id"]
    path = f"/api/contacts/{contact_id}/users"
    response = synced.client.put(
        path, json={"user_ids": [synced.user.user.id, 999_999]}, headers=synced.admin.headers
    )
    assert response.status_code == 422
    assert "999999" in response.json()["error"]["message"]
    assert synced.client.get(path, headers=synced.admin.headers).json() == {"user_ids": []}


def test_links_of_an_absent_contact_are_404(synced: World) -> None:
    response = synced.client.put(
        "/api/contacts/424242/users", json={"user_ids": []}, headers=synced.admin.headers
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# -- conversations --------------------------------------------------------------------


def test_conversation_shape_and_admin_sees_all(synced: World) -> None:
    items = all_pages(synced.client, "/api/conversations", synced.admin.headers, limit=3)
    assert len(items) == 7
    first = items[0]
    assert set(first) >= {"id", "contact", "status", "source", "assigned_user_id", "created_at"}
    assert set(first["contact"]) >= {"id", "wa_id", "name", "phone"}
    assert (first["status"], first["source"], first["assigned_user_id"]) == (
        "active",
        "whatsapp",
        None,
    )
    assert first["created_at"].endswith("+00:00")
    one = synced.client.get(f"/api/conversations/{first['id']}", headers=synced.admin.headers)
    assert one.json() == first


def test_invisible_and_absent_conversations_give_identical_404s(synced: World) -> None:
    admin_view = synced.client.get("/api/conversations", headers=synced.admin.headers).json()
    hidden_id = admin_view["items"][0]["id"]
    absent_id = max(item["id"] for item in admin_view["items"]) + 1000
    hidden = synced.client.get(f"/api/conversations/{hidden_id}", headers=synced.user.headers)
    absent = synced.client.get(f"/api/conversations/{absent_id}", headers=synced.user.headers)
    assert hidden.status_code == absent.status_code == 404
    assert hidden.content.replace(str(hidden_id).encode(), b"ID") == absent.content.replace(
        str(absent_id).encode(), b"ID"
    )
    assert {k: v for k, v in hidden.headers.items() if k != "content-length"} == {
        k: v for k, v in absent.headers.items() if k != "content-length"
    }


# -- users and me ---------------------------------------------------------------------


def test_me_answers_the_caller(world: World) -> None:
    response = world.client.get("/api/me", headers=world.user.headers)
    me = response.json()
    assert {k: me[k] for k in ("id", "username", "role", "disabled")} == {
        "id": world.user.user.id,
        "username": "maria",
        "role": "user",
        "disabled": False,
    }


def test_users_list_and_create(world: World) -> None:
    created = world.client.post(
        "/api/users",
        json={"username": "jonas", "role": "user", "password": "long enough"},
        headers=world.admin.headers,
    )
    assert created.status_code == 201
    assert created.json()["username"] == "jonas"
    assert "password" not in created.text
    listing = world.client.get("/api/users", headers=world.admin.headers).json()
    assert [item["username"] for item in listing["items"]] == ["admin", "maria", "jonas"]
    again = world.client.post(
        "/api/users", json={"username": "jonas", "role": "user"}, headers=world.admin.headers
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b"[]",
        b'{"username": "x"}',
        b'{"username": "x", "role": "owner"}',
        b'{"username": "x", "role": "user", "password": 12345678}',
        b'{"username": "x", "role": "user", "extra": 1}',
        b'{"username": "x y", "role": "user"}',
        b'{"username": "x", "role": "user", "password": "short"}',
    ],
)
def test_malformed_user_bodies_are_422(world: World, body: bytes) -> None:
    response = world.client.post(
        "/api/users",
        content=body,
        headers={**world.admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [b'{"user_ids": "1"}', b'{"user_ids": [true]}', b'{"user_ids": [0]}', b'{"user_ids": [1.5]}',
     b'{"user_ids": [99999999999999999999999]}', b"{}", b"null"],
)  # fmt: skip
def test_malformed_link_bodies_are_422(synced: World, body: bytes) -> None:
    response = synced.client.put(
        "/api/contacts/1/users",
        content=body,
        headers={**synced.admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text


# -- bad query and path input ---------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten", "1.5", "1e3", "9" * 40])
@pytest.mark.parametrize("path", ["/api/contacts", "/api/conversations"])
def test_absurd_limits_are_422(synced: World, path: str, limit: str) -> None:
    response = synced.client.get(path, params={"limit": limit}, headers=synced.admin.headers)
    assert response.status_code == 422
    assert "limit" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "djE6Y29udGFjdHM6MA", "djE6Y29udmVyc2F0aW9uczo1", "djI6Y29udGFjdHM6NQ", "%%%",
     "djE6Y29udGFjdHM6LTU", "A" * 500],
)  # fmt: skip
def test_cursors_that_are_not_ours_are_422(synced: World, cursor: str) -> None:
    # among them: before_id 0, a conversations cursor, another version, a negative id
    response = synced.client.get(
        "/api/contacts", params={"cursor": cursor}, headers=synced.admin.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_a_cursor_of_one_list_is_refused_by_the_other(synced: World) -> None:
    page = synced.client.get(
        "/api/contacts", params={"limit": 2}, headers=synced.admin.headers
    ).json()
    response = synced.client.get(
        "/api/conversations",
        params={"cursor": page["next_cursor"]},
        headers=synced.admin.headers,
    )
    assert response.status_code == 422


@pytest.mark.parametrize("raw_id", ["abc", "-1", "1.0", "%20"])
def test_ids_that_are_not_numbers_are_422(synced: World, raw_id: str) -> None:
    response = synced.client.get(f"/api/contacts/{raw_id}", headers=synced.admin.headers)
    assert response.status_code == 422


@pytest.mark.parametrize("raw_id", ["0", str(2**63), "9" * 19])
def test_ids_that_cannot_exist_are_404(synced: World, raw_id: str) -> None:
    response = synced.client.get(f"/api/conversations/{raw_id}", headers=synced.admin.headers)
    assert response.status_code == 404


def test_unknown_paths_and_methods_answer_json_errors(world: World) -> None:
    missing = world.client.get("/api/nothing-here", headers=world.admin.headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = world.client.delete("/api/me", headers=world.admin.headers)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


# -- health and headers ---------------------------------------------------------------


def test_healthz(world: World) -> None:
    response = world.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


class BrokenStore:
    """A store whose database stops answering when told to."""

    def __init__(self) -> None:
        self.inner = InMemoryStore()
        self.down = False

    def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
        return self.inner(read_only=read_only)

    def ping(self) -> None:
        if self.down:
            raise StorageError("the database at sqlite:///x.db does not answer")

    def close(self) -> None:
        self.inner.close()


def test_healthz_is_503_when_the_database_does_not_answer() -> None:
    store = BrokenStore()
    with running(make_app(store=store)) as world:
        store.down = True
        response = world.client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_error"


@pytest.mark.parametrize("path", ["/api/me", "/healthz", "/openapi.json", "/api/nothing"])
def test_security_headers_on_every_answer(world: World, path: str) -> None:
    response = world.client.get(path, headers=world.user.headers)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
