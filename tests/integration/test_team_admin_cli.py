# ruff: noqa: F811 (the fixtures of test_cli are imported by name)
"""``users disable|enable|set-password|set-role``, ``tokens list|create|revoke``, ``teams …``
and ``links add|remove --team`` through Click's CliRunner, on an injected memory App."""

from __future__ import annotations

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

from wa_manager.testing import InMemoryStore, memory_app

PASSWORD = "long enough password"


def sync_and_add_people(invoke: Invoke) -> None:
    ok(invoke("sync"))
    ok(invoke("users", "add", "boss", "--role", "admin", "--password-stdin", input=PASSWORD))
    ok(invoke("users", "add", "maria", "--role", "user", "--password-stdin", input=PASSWORD))


def visible(invoke: Invoke, username: str) -> list[str]:
    listed = as_json(invoke("conversations", "list", "--as", username, "--json"))
    return sorted(item["contact"]["wa_id"] for item in listed)


def test_disable_enable_and_the_last_admin(invoke: Invoke) -> None:
    sync_and_add_people(invoke)
    ok(invoke("users", "disable", "maria"))
    users = {u["username"]: u for u in as_json(invoke("users", "list", "--json"))}
    assert users["maria"]["disabled"] is True
    assert users["boss"]["created_at"]
    ok(invoke("users", "enable", "maria"))
    assert not as_json(invoke("users", "list", "--json"))[1]["disabled"]
    for args in (("users", "disable", "boss"), ("users", "set-role", "boss", "user")):
        refused = invoke(*args)
        assert refused.exit_code == 1
        assert "last enabled admin" in error_line(refused)
    ok(invoke("users", "set-role", "maria", "admin"))
    ok(invoke("users", "set-role", "boss", "user"))
    roles = {u["username"]: u["role"] for u in as_json(invoke("users", "list", "--json"))}
    assert roles == {"boss": "user", "maria": "admin"}


def test_set_password_replaces_the_password(invoke: Invoke, store: InMemoryStore) -> None:
    sync_and_add_people(invoke)
    ok(invoke("users", "set-password", "maria", "--password-stdin", input="a new password 2"))
    app = memory_app([], store=store)
    assert app.accounts.user_for_password("maria", "a new password 2").username == "maria"
    short = invoke("users", "set-password", "maria", "--password-stdin", input="short")
    assert short.exit_code == 2
    assert "8 characters" in error_line(short)
    unknown = invoke("users", "disable", "nobody")
    assert unknown.exit_code == 1


def test_tokens_list_create_and_revoke(invoke: Invoke, store: InMemoryStore) -> None:
    sync_and_add_people(invoke)
    secret = ok(invoke("tokens", "create", "maria", "--name", "laptop")).stdout.strip()
    ok(invoke("tokens", "create", "boss"))
    listed = as_json(invoke("tokens", "list", "--json"))
    assert [(t["username"], t["name"]) for t in listed] == [("maria", "laptop"), ("boss", "cli")]
    assert secret not in str(listed)
    assert set(listed[0]) >= {"id", "username", "name", "created_at", "last_used_at", "revoked_at"}
    only_maria = as_json(invoke("tokens", "list", "maria", "--json"))
    assert [t["username"] for t in only_maria] == ["maria"]
    app = memory_app([], store=store)
    assert app.accounts.user_for_token(secret).username == "maria"
    ok(invoke("tokens", "revoke", str(listed[0]["id"])))
    assert as_json(invoke("tokens", "list", "maria", "--json"))[0]["revoked_at"]
    assert invoke("tokens", "revoke", "999").exit_code == 1


def test_teams_members_and_team_links(invoke: Invoke) -> None:
    sync_and_add_people(invoke)
    ok(invoke("teams", "add", "Support"))
    assert invoke("teams", "add", "Support").exit_code == 1
    team = as_json(invoke("teams", "members", "add", "Support", "maria"))
    assert set(team) >= {"id", "name", "user_ids"}
    assert team["name"] == "Support"
    ok(invoke("links", "add", "+4915112345678", "--team", "Support"))
    assert visible(invoke, "maria") == ["4915112345678@c.us"]
    contacts = as_json(invoke("contacts", "list", "--json"))
    anna = next(c for c in contacts if c["wa_id"] == "4915112345678@c.us")
    assert anna["team_ids"] == [team["id"]]
    assert as_json(invoke("teams", "list", "--json")) == [team]
    left = as_json(invoke("teams", "members", "remove", "Support", "maria"))
    assert left["user_ids"] == []
    assert visible(invoke, "maria") == []
    ok(invoke("teams", "members", "add", "Support", "maria"))
    ok(invoke("links", "remove", "+4915112345678", "--team", "Support"))
    assert visible(invoke, "maria") == []
    both = invoke("links", "add", "+4915112345678", "maria", "--team", "Support")
    assert both.exit_code == 2
    assert invoke("links", "add", "+4915112345678", "--team", "Nobody").exit_code == 1
