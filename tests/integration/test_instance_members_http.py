"""Members of WhatsApp numbers over HTTP, on the memory store, SQLite and PostgreSQL:
``GET``/``PUT /api/instances/{id}/members``, and what a member of one number sees
(everything of it, current and future) and does not see (anything of another)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
from tests.conftest import migrated_url
from tests.integration.conftest import STORE_PARAMS

from wa_manager.adapters.memory import InMemoryStore
from wa_manager.adapters.sql import SqlStore
from wa_manager.domain.model import WEBHOOK
from wa_manager.domain.ports import Store
from wa_manager.testing import memory_app

OTHER = "instance7373"
MEMBERS = f"/api/instances/{INSTANCE}/members"


@pytest.fixture(params=STORE_PARAMS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    store: Store = (
        InMemoryStore()
        if request.param == "memory"
        else SqlStore.open(migrated_url(request.param, request))
    )
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def world(store: Store) -> Iterator[World]:
    """Three chats of INSTANCE and two of OTHER (one the same person), all synced."""
    with running(make_app(person_chats(3), store=store)) as world:
        sync(world)
        memory_app(person_chats(2, start=3), instance_id=OTHER, store=store).sync()
        yield world


def put_members(world: World, user_ids: list[int], team_ids: list[int], path: str = MEMBERS) -> Any:
    return world.client.put(
        path, json={"user_ids": user_ids, "team_ids": team_ids}, headers=world.admin.headers
    )


def conversations(world: World, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    answer = world.client.get("/api/conversations", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def every_page(world: World, path: str, headers: dict[str, str], **params: str) -> list[Any]:
    """Every item of a filtered list, one item a page, following ``next_cursor``."""
    items: list[Any] = []
    query: dict[str, str | int] = {**params, "limit": 1}
    while True:
        body = world.client.get(path, params=query, headers=headers).json()
        items.extend(body["items"])
        if body["next_cursor"] is None:
            return items
        query = {**params, "limit": 1, "cursor": body["next_cursor"]}


def by_source(world: World) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {INSTANCE: [], OTHER: []}
    for item in all_pages(world.client, "/api/conversations", world.admin.headers, 200):
        contact = world.client.get(
            f"/api/contacts/{item['contact']['id']}", headers=world.admin.headers
        )
        found[contact.json()["source"]].append(item)
    return found


def test_members_are_set_exactly_and_read_back(world: World) -> None:
    assert world.client.get(MEMBERS, headers=world.admin.headers).json() == {
        "instance_id": INSTANCE,
        "user_ids": [],
        "team_ids": [],
    }
    team = world.client.post("/api/teams", json={"name": "Sales"}, headers=world.admin.headers)
    team_id = team.json()["id"]
    olga = world.add_member("olga")
    answer = put_members(world, [olga.user.id, world.user.user.id], [team_id])
    assert answer.status_code == 200, answer.text
    expected = {
        "instance_id": INSTANCE,
        "user_ids": sorted([olga.user.id, world.user.user.id]),
        "team_ids": [team_id],
    }
    assert answer.json() == expected
    assert world.client.get(MEMBERS, headers=world.admin.headers).json() == expected
    assert put_members(world, [olga.user.id], []).json()["user_ids"] == [olga.user.id]
    other = world.client.get(f"/api/instances/{OTHER}/members", headers=world.admin.headers)
    assert other.json()["user_ids"] == []


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"user_ids": [999_999], "team_ids": []}, "unknown user ids [999999]"),
        ({"user_ids": [], "team_ids": [424_242]}, "unknown team ids [424242]"),
        ({"user_ids": []}, "team_ids"),
        ({"user_ids": ["x"], "team_ids": []}, "user_ids"),
    ],
)
def test_unknown_ids_and_bad_bodies_are_422_and_change_nothing(
    world: World, body: dict[str, Any], word: str
) -> None:
    put_members(world, [world.user.user.id], [])
    answer = world.client.put(MEMBERS, json=body, headers=world.admin.headers)
    assert answer.status_code == 422
    assert word in answer.json()["error"]["message"]
    assert world.client.get(MEMBERS, headers=world.admin.headers).json()["user_ids"] == [
        world.user.user.id
    ]


def test_only_admins_see_or_change_members(world: World) -> None:
    assert world.client.get(MEMBERS, headers=world.user.headers).status_code == 403
    refused = world.client.put(
        MEMBERS, json={"user_ids": [world.user.user.id], "team_ids": []}, headers=world.user.headers
    )
    assert refused.status_code == 403
    assert world.client.get(MEMBERS).status_code == 401
    assert conversations(world, world.user.headers) == []


def test_a_member_of_one_number_sees_all_of_it_and_nothing_of_the_other(world: World) -> None:
    numbers = by_source(world)
    mine, theirs = numbers[INSTANCE], numbers[OTHER]
    assert (len(mine), len(theirs)) == (3, 2)
    maria = world.user
    put_members(world, [maria.user.id], [])

    listed = {
        item["id"] for item in all_pages(world.client, "/api/conversations", maria.headers, 2)
    }
    assert listed == {item["id"] for item in mine}
    shared_person = "4915100000003@c.us"  # writes to both numbers: two contacts
    found = conversations(world, maria.headers, search="00000003")
    assert [item["contact"]["wa_id"] for item in found] == [shared_person]
    assert [item["id"] for item in found] == [
        item["id"] for item in mine if item["contact"]["wa_id"] == shared_person
    ]
    for item in mine:
        assert (
            world.client.get(f"/api/conversations/{item['id']}", headers=maria.headers).status_code
            == 200
        )
        messages = world.client.get(
            f"/api/conversations/{item['id']}/messages", headers=maria.headers
        )
        assert messages.status_code == 200
    absent = max(item["id"] for item in mine + theirs) + 1000
    for conversation_id in [item["id"] for item in theirs] + [absent]:
        for path in ("", "/messages", "/events"):
            answer = world.client.get(
                f"/api/conversations/{conversation_id}{path}", headers=maria.headers
            )
            assert answer.status_code == 404, (conversation_id, path)
            assert answer.json()["error"]["code"] == "not_found"
        reply = world.client.post(
            f"/api/conversations/{conversation_id}/messages",
            json={"body": "hi"},
            headers=maria.headers,
        )
        assert reply.status_code == 404
    assert world.client.get("/api/contacts.csv", headers=maria.headers).status_code == 403
    assert world.client.get("/api/contacts", headers=maria.headers).status_code == 403


def test_new_chats_of_the_number_are_seen_at_once_and_by_members_of_member_teams(
    world: World, store: Store
) -> None:
    olga = world.add_member("olga")
    team = world.client.post("/api/teams", json={"name": "Support"}, headers=world.admin.headers)
    team_id = team.json()["id"]
    world.client.put(
        f"/api/teams/{team_id}/members",
        json={"user_ids": [olga.user.id]},
        headers=world.admin.headers,
    )
    put_members(world, [], [team_id], path=f"/api/instances/{OTHER}/members")
    assert len(conversations(world, olga.headers)) == 2
    event = {
        "event_type": "message_received",
        "data": {"id": "false_new@c.us_1", "from": "4915199999999@c.us", "body": "hello",
                 "time": 1732400000},
    }  # fmt: skip
    other = memory_app([], instance_id=OTHER, store=store)
    assert other.webhooks.handle(WEBHOOK, event).message == "stored"
    seen = {item["contact"]["wa_id"]: item for item in conversations(world, olga.headers)}
    assert len(seen) == 3
    assert seen["4915199999999@c.us"]["last_message"]["body"] == "hello"
    assert conversations(world, world.user.headers) == []


def test_losing_the_membership_takes_sight_and_assignments_away(world: World) -> None:
    maria = world.user
    put_members(world, [maria.user.id], [])
    first = conversations(world, maria.headers)[0]["id"]
    taken = world.client.patch(
        f"/api/conversations/{first}",
        json={"assigned_user_id": maria.user.id},
        headers=maria.headers,
    )
    assert taken.status_code == 200, taken.text
    put_members(world, [], [])
    assert conversations(world, maria.headers) == []
    assert world.client.get(f"/api/conversations/{first}", headers=maria.headers).status_code == 404
    after = world.client.get(f"/api/conversations/{first}", headers=world.admin.headers).json()
    assert after["assigned_user_id"] is None
    events = world.client.get(f"/api/conversations/{first}/events", headers=world.admin.headers)
    assert [(e["type"], e["actor_id"]) for e in events.json()["items"]] == [
        ("assigned", maria.user.id),
        ("unassigned", world.admin.user.id),
    ]


def test_lists_and_the_export_filter_by_number(world: World) -> None:
    admin = world.admin.headers
    other_contacts = every_page(world, "/api/contacts", admin, source=OTHER)
    assert len(other_contacts) == 2
    assert {item["source"] for item in other_contacts} == {OTHER}
    mine = world.client.get("/api/contacts", params={"source": INSTANCE, "limit": 2}, headers=admin)
    assert [item["source"] for item in mine.json()["items"]] == [INSTANCE, INSTANCE]
    assert mine.json()["next_cursor"] is not None
    nobody = world.client.get("/api/contacts", params={"source": "instance0"}, headers=admin)
    assert nobody.json() == {"items": [], "next_cursor": None}

    listed = conversations(world, admin, source=OTHER)
    assert len(listed) == 2
    assert {item["contact"]["source"] for item in listed} == {OTHER}
    found = conversations(world, admin, source=OTHER, search="00000003")
    assert [(item["contact"]["wa_id"], item["contact"]["source"]) for item in found] == [
        ("4915100000003@c.us", OTHER)
    ]
    csv = world.client.get("/api/contacts.csv", params={"source": OTHER}, headers=admin).text
    rows = csv.strip().splitlines()
    assert len(rows) == 3
    assert all(row.split(",")[5] == OTHER for row in rows[1:])

    maria = world.user
    put_members(world, [maria.user.id], [])
    assert len(conversations(world, maria.headers, source=INSTANCE)) == 3
    assert conversations(world, maria.headers, source=OTHER) == []  # the filter opens nothing
    everything = conversations(world, admin, source="")  # the form's "All numbers"
    assert len(everything) == 5
    for bad in ("x" * 129, "a\x01b"):
        answer = world.client.get("/api/conversations", params={"source": bad}, headers=admin)
        assert answer.status_code == 422, repr(bad)


def test_bulk_linking_every_match_of_one_number_leaves_the_other_alone(world: World) -> None:
    answer = world.client.post(
        "/api/links/bulk",
        json={"search": "", "source": OTHER, "add_user_ids": [world.user.user.id]},
        headers=world.admin.headers,
    )
    assert answer.json() == {"contacts": 2, "changed": 2}
    assert {item["contact"]["source"] for item in conversations(world, world.user.headers)} == {
        OTHER
    }
    mixed = world.client.post(
        "/api/links/bulk",
        json={"contact_ids": [1], "source": OTHER, "add_user_ids": [world.user.user.id]},
        headers=world.admin.headers,
    )
    assert mixed.status_code == 422
    assert '"source" go with "search"' in mixed.json()["error"]["message"]
