# ruff: noqa: F811 (the fixtures of test_cli are imported by name)
"""``wa-manager instances members add|remove|list`` through Click's CliRunner, on an
injected memory App whose chats are all of the default instance."""

from __future__ import annotations

import pytest
from test_cli import (  # noqa: F401 (fixtures)
    Invoke,
    app_factory,
    as_json,
    chats,
    clean_environment,
    error_line,
    invoke,
    ok,
    store,
)
from test_team_admin_cli import sync_and_add_people, visible

from wa_manager.testing import DEFAULT_INSTANCE_ID, InMemoryStore, memory_app

EVERY_CHAT = sorted(
    [
        "4915112345678@c.us",
        "447911123456@c.us",
        "966501234567@c.us",
        "120363041234567890@g.us",
        "140000000000001@lid",
    ]
)


def members(invoke: Invoke, *args: str) -> object:
    return as_json(invoke("instances", "members", *args))


def test_a_user_member_sees_every_chat_of_the_number_until_removed(invoke: Invoke) -> None:
    sync_and_add_people(invoke)
    assert visible(invoke, "maria") == []
    added = members(invoke, "add", DEFAULT_INSTANCE_ID, "maria")
    assert added == {"instance_id": DEFAULT_INSTANCE_ID, "user_ids": [2], "team_ids": []}
    assert members(invoke, "add", DEFAULT_INSTANCE_ID, "maria") == added  # idempotent
    assert visible(invoke, "maria") == EVERY_CHAT
    assert visible(invoke, "maria") == visible(invoke, "boss")
    assert members(invoke, "list", "--json") == [added]
    table = ok(invoke("instances", "members", "list")).stdout
    assert DEFAULT_INSTANCE_ID in table
    assert "maria" in table
    removed = members(invoke, "remove", DEFAULT_INSTANCE_ID, "maria")
    assert removed == {"instance_id": DEFAULT_INSTANCE_ID, "user_ids": [], "team_ids": []}
    assert visible(invoke, "maria") == []
    assert members(invoke, "list", "--json") == []
    assert "No members yet" in ok(invoke("instances", "members", "list")).stdout


def test_a_team_member_sees_the_number_through_the_team(invoke: Invoke) -> None:
    sync_and_add_people(invoke)
    ok(invoke("teams", "add", "Support"))
    ok(invoke("teams", "members", "add", "Support", "maria"))
    added = members(invoke, "add", DEFAULT_INSTANCE_ID, "--team", "Support")
    assert added == {"instance_id": DEFAULT_INSTANCE_ID, "user_ids": [], "team_ids": [1]}
    assert visible(invoke, "maria") == EVERY_CHAT
    assert members(invoke, "list", DEFAULT_INSTANCE_ID, "--json") == [added]
    assert visible(invoke, "boss") == EVERY_CHAT
    ok(invoke("teams", "members", "remove", "Support", "maria"))
    assert visible(invoke, "maria") == []
    ok(invoke("teams", "members", "add", "Support", "maria"))
    members(invoke, "remove", "another-instance", "--team", "Support")  # not a member there
    assert visible(invoke, "maria") == EVERY_CHAT
    members(invoke, "remove", DEFAULT_INSTANCE_ID, "--team", "1")
    assert visible(invoke, "maria") == []


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("add", DEFAULT_INSTANCE_ID), 2, "USERNAME or --team"),
        (("add", DEFAULT_INSTANCE_ID, "maria", "--team", "Support"), 2, "USERNAME or --team"),
        (("add", DEFAULT_INSTANCE_ID, "nobody"), 1, "no user named 'nobody'"),
        (("add", DEFAULT_INSTANCE_ID, "--team", "Nope"), 1, "no team 'Nope'"),
        (("add", " ", "maria"), 2, "instance id has 1 to 128 characters"),
        (("remove", "x" * 129, "maria"), 2, "instance id has 1 to 128 characters"),
    ],
)
def test_bad_members_are_one_error_line_and_change_nothing(
    invoke: Invoke, args: tuple[str, ...], code: int, words: str
) -> None:
    sync_and_add_people(invoke)
    refused = invoke("instances", "members", *args)
    assert refused.exit_code == code
    assert words in error_line(refused)
    assert members(invoke, "list", "--json") == []


def test_listings_and_the_export_take_a_source(invoke: Invoke, store: InMemoryStore) -> None:
    sync_and_add_people(invoke)
    memory_app(
        [{"id": "4915112345678@c.us", "name": "Anna"}], instance_id="other", store=store
    ).sync()
    anna_twice = as_json(invoke("contacts", "list", "--search", "4915112345678", "--json"))
    assert sorted(c["source"] for c in anna_twice) == sorted([DEFAULT_INSTANCE_ID, "other"])
    other = as_json(invoke("contacts", "list", "--source", "other", "--json"))
    assert [(c["wa_id"], c["source"]) for c in other] == [("4915112345678@c.us", "other")]
    table = ok(invoke("contacts", "list", "--source", "other")).stdout
    assert "NUMBER" in table.splitlines()[0]
    assert "other" in table.splitlines()[1]
    assert (
        "No contact matches 'nobody'" in ok(invoke("contacts", "list", "--source", "nobody")).stdout
    )
    seen = as_json(invoke("conversations", "list", "--as", "boss", "--source", "other", "--json"))
    assert [c["contact"]["source"] for c in seen] == ["other"]
    members(invoke, "add", "other", "maria")
    assert visible(invoke, "maria") == ["4915112345678@c.us"]
    mine = invoke("conversations", "list", "--as", "maria", "--source", DEFAULT_INSTANCE_ID)
    assert "maria sees no conversations that match." in ok(mine).stdout
    csv = ok(invoke("contacts", "export", "--source", "other")).stdout.strip().splitlines()
    assert len(csv) == 2
    assert csv[1].split(",")[5] == "other"
