# ruff: noqa: F811 (the fixtures of test_cli are imported by name)
"""Duplicates and merge through the HTTP API and the command line: shapes, status codes,
exit codes, and the merged id answering 404 afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from test_cli import (  # noqa: F401 (fixtures)
    Invoke,
    app_factory,
    as_json,
    clean_environment,
    error_line,
    invoke,
    ok,
    store,
)
from test_http_support import World, make_app, running, sync

from wa_manager.domain.model import RawChat
from wa_manager.testing import StaticChats

PERSON, LID = "5511987654321@c.us", "140000000000001@lid"
OLD_FORM = "551187654321@c.us"
TWINS = [RawChat(PERSON, "Ana"), RawChat(LID, "Ana"), RawChat(OLD_FORM, "Ana (old)")]


@pytest.fixture
def chats() -> StaticChats:
    return StaticChats(TWINS)


@pytest.fixture
def world() -> Any:
    with running(make_app(TWINS)) as world:
        sync(world)
        yield world


def _ids(world: World) -> dict[str, int]:
    answer = world.client.get("/api/contacts", headers=world.admin.headers).json()
    return {item["wa_id"]: item["id"] for item in answer["items"]}


def test_the_duplicates_route_lists_pairs_with_their_reason(world: World) -> None:
    ids = _ids(world)
    answer = world.client.get("/api/contacts/duplicates", headers=world.admin.headers)
    assert answer.status_code == 200
    items = answer.json()["items"]
    pairs = {tuple(item["contact_ids"]): item["reason"] for item in items}
    assert pairs == {
        tuple(sorted((ids[PERSON], ids[LID]))): "same_name_lid",
        tuple(sorted((ids[PERSON], ids[OLD_FORM]))): "brazil_ninth_digit",
    }
    for item in items:
        assert [c["id"] for c in item["contacts"]] == item["contact_ids"]
    refused = world.client.get("/api/contacts/duplicates", headers=world.user.headers)
    assert refused.status_code == 403


def test_merging_over_http_answers_the_survivor_and_then_404_for_the_merged(
    world: World,
) -> None:
    ids = _ids(world)
    world.client.put(
        f"/api/contacts/{ids[LID]}/users",
        headers=world.admin.headers,
        json={"user_ids": [world.user.user.id]},
    )
    answer = world.client.post(
        f"/api/contacts/{ids[LID]}/merge", headers=world.admin.headers, json={"into": ids[PERSON]}
    )
    assert answer.status_code == 200, answer.text
    survivor = answer.json()
    assert (survivor["id"], survivor["wa_id"]) == (ids[PERSON], PERSON)
    assert survivor["user_ids"] == [world.user.user.id]  # whoever saw the @lid sees it
    gone = world.client.get(f"/api/contacts/{ids[LID]}", headers=world.admin.headers)
    assert gone.status_code == 404
    again = world.client.post(
        f"/api/contacts/{ids[LID]}/merge", headers=world.admin.headers, json={"into": ids[PERSON]}
    )
    assert again.status_code == 404
    history = world.client.get(
        f"/api/contacts/{ids[PERSON]}/links/history", headers=world.admin.headers
    ).json()["items"]
    merge = history[-1]
    assert (merge["action"], merge["merged_contact_id"]) == ("merge", ids[LID])
    assert merge["actor"] == "admin"
    seen = world.client.get("/api/conversations", headers=world.user.headers).json()["items"]
    assert [item["contact"]["id"] for item in seen] == [ids[PERSON]]
    assert sync(world)["created_contacts"] == 0


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"into": "self"}, 422, "into itself"),
        ({"into": 999_999}, 404, "no contact with id 999999"),
        ({}, 422, "into"),
        ({"into": 0}, 422, ""),
    ],
)
def test_a_bad_merge_is_one_clear_error(
    world: World, body: dict[str, Any], status: int, words: str
) -> None:
    ids = _ids(world)
    if body.get("into") == "self":
        body = {"into": ids[PERSON]}
    answer = world.client.post(
        f"/api/contacts/{ids[PERSON]}/merge", headers=world.admin.headers, json=body
    )
    assert answer.status_code == status
    assert words in answer.json()["error"]["message"]
    assert len(_ids(world)) == 3


def test_cli_duplicates_and_merge(invoke: Invoke) -> None:
    ok(invoke("sync"))
    listed = as_json(invoke("contacts", "duplicates", "--json"))
    assert {item["reason"] for item in listed} == {"same_name_lid", "brazil_ninth_digit"}
    table = ok(invoke("contacts", "duplicates")).output
    assert "same_name_lid" in table
    assert LID in table
    contacts = {c["wa_id"]: c["id"] for c in as_json(invoke("contacts", "list", "--json"))}
    merged = ok(invoke("contacts", "merge", str(contacts[LID]), str(contacts[PERSON])))
    assert f"Merged contact {contacts[LID]} into {contacts[PERSON]}" in merged.output
    refused = invoke("contacts", "merge", str(contacts[PERSON]), str(contacts[PERSON]))
    assert refused.exit_code == 2
    assert "into itself" in error_line(refused)
    absent = invoke("contacts", "merge", str(contacts[LID]), str(contacts[PERSON]))
    assert absent.exit_code == 1
    assert error_line(absent).startswith("error: no contact with id")
    assert as_json(invoke("contacts", "duplicates", "--json"))[0]["reason"] == (
        "brazil_ninth_digit"
    )
