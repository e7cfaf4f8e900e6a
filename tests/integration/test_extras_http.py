"""Sync history, vanished contacts, link audit, CSV export and instance status over HTTP."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import jsonschema_rs
import pytest
from test_http_support import (
    INSTANCE,
    World,
    browser_login,
    make_app,
    person_chats,
    running,
    sync,
)

from wa_manager import Settings
from wa_manager.adapters.fake_ultramsg import FakeUltraMsg
from wa_manager.bootstrap import bootstrap
from wa_manager.domain.model import RawChat
from wa_manager.services.export import BYTE_ORDER_MARK, unescape_cell
from wa_manager.testing import FailingChats, FastHasher, InMemoryStore, StaticChats

HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+1",
    "-2",
    "@SUM(A1)",
    "\tTab",
    "\rCR",
    'Quote "me"',
    "two\nlines",
    "Family 👨‍👩‍👧 🎉",
    "مرحبا",
]


@pytest.fixture
def chats() -> StaticChats:
    return StaticChats(person_chats(3))


@pytest.fixture
def world(chats: StaticChats) -> Iterator[World]:
    with running(make_app(chats)) as world:
        yield world


def runs(world: World) -> list[dict[str, object]]:
    response = world.client.get("/api/sync-runs", headers=world.admin.headers)
    assert response.status_code == 200
    items: list[dict[str, object]] = response.json()["items"]
    return items


# -- sync history -------------------------------------------------------------------------


def test_every_trigger_is_recorded_with_who_counts_and_outcome(world: World) -> None:
    sync(world)  # Bearer: api
    csrf = browser_login(world.client, "admin")
    assert world.client.post("/api/whatsapp-contacts", headers={"X-CSRF-Token": csrf}).is_success
    world.app.syncs.scheduler(900).run_once()  # what `serve --sync-every` runs
    world.app.sync()  # a library user

    history = runs(world)

    assert [run["trigger"] for run in history] == ["library", "schedule", "ui", "api"]
    assert [run["actor"] for run in history] == [None, None, "admin", "admin"]
    first = history[-1]
    assert first["report"]["created_contacts"] == 3  # type: ignore[index]
    assert first["started_at"] is not None
    assert first["finished_at"] is not None
    assert first["error"] is None


def test_a_failed_sync_is_recorded_with_its_error() -> None:
    app = make_app(FailingChats())
    with running(app) as world:
        failed = world.client.post("/api/whatsapp-contacts", headers=world.admin.headers)
        assert failed.status_code == 502
        [run] = runs(world)
    assert run["report"] is None
    assert "did not answer" in str(run["error"])


def test_sync_runs_paginate_and_refuse_plain_users(world: World) -> None:
    for _ in range(3):
        world.app.sync()
    page = world.client.get("/api/sync-runs?limit=2", headers=world.admin.headers).json()
    assert len(page["items"]) == 2
    rest = world.client.get(
        f"/api/sync-runs?limit=2&cursor={page['next_cursor']}", headers=world.admin.headers
    ).json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    assert world.client.get("/api/sync-runs", headers=world.user.headers).status_code == 403


def test_the_schedule_is_reported_as_disabled_without_sync_every(world: World) -> None:
    answer = world.client.get("/api/sync-schedule", headers=world.admin.headers)
    assert answer.json() == {"enabled": False}


def test_the_schedule_shows_its_interval_when_enabled() -> None:
    app = bootstrap(
        Settings(instance_id=INSTANCE, sync_every_seconds=3600),
        chats=StaticChats(person_chats(1)),
        store=InMemoryStore(),
        hasher=FastHasher(),
    )
    with running(app) as world:
        state = world.client.get("/api/sync-schedule", headers=world.admin.headers).json()
    assert state["enabled"] is True
    assert state["interval_seconds"] == 3600
    assert {"running", "next_run_at", "last_error", "last_report"} <= set(state)


# -- vanished contacts ----------------------------------------------------------------------


def test_a_contact_missing_from_a_later_sync_is_marked_then_returns(
    world: World, chats: StaticChats
) -> None:
    sync(world)
    everyone = world.client.get("/api/contacts", headers=world.admin.headers).json()["items"]
    gone = next(c for c in everyone if c["wa_id"] == "4915100000002@c.us")
    chats.replace([chat for chat in person_chats(3) if chat.wa_id != gone["wa_id"]])

    sync(world)

    marked = world.client.get(f"/api/contacts/{gone['id']}", headers=world.admin.headers).json()
    assert marked["vanished_at"] is not None
    assert marked["last_seen_at"] == gone["last_seen_at"]
    only_gone = world.client.get("/api/contacts?vanished=true", headers=world.admin.headers)
    assert [c["id"] for c in only_gone.json()["items"]] == [gone["id"]]
    present = world.client.get("/api/contacts?vanished=false", headers=world.admin.headers)
    assert gone["id"] not in [c["id"] for c in present.json()["items"]]
    assert len(present.json()["items"]) == 2

    chats.replace(person_chats(3))
    sync(world)

    back = world.client.get(f"/api/contacts/{gone['id']}", headers=world.admin.headers).json()
    assert back["vanished_at"] is None


# -- link audit -----------------------------------------------------------------------------


def test_links_and_unlinks_are_audited_with_who_and_when(world: World) -> None:
    sync(world)
    contact_id = world.client.get("/api/contacts", headers=world.admin.headers).json()["items"][0][
        "id"
    ]
    path = f"/api/contacts/{contact_id}/users"
    maria = world.user.user.id
    world.client.put(path, json={"user_ids": [maria]}, headers=world.admin.headers)
    world.client.put(path, json={"user_ids": [maria]}, headers=world.admin.headers)  # no change
    world.client.put(path, json={"user_ids": []}, headers=world.admin.headers)
    world.app.link(str(contact_id), "maria")  # the CLI acts as the system

    history = world.client.get(
        f"/api/contacts/{contact_id}/links/history", headers=world.admin.headers
    ).json()["items"]

    assert [(e["action"], e["username"], e["actor"]) for e in history] == [
        ("link", "maria", "admin"),
        ("unlink", "maria", "admin"),
        ("link", "maria", None),
    ]
    assert all(e["at"] for e in history)
    missing = world.client.get("/api/contacts/9999/links/history", headers=world.admin.headers)
    assert missing.status_code == 404


# -- CSV export -----------------------------------------------------------------------------


def test_csv_export_round_trips_hostile_names_and_is_formula_safe() -> None:
    chats = [RawChat(f"49151{n:08d}@c.us", name) for n, name in enumerate(HOSTILE, start=1)]
    with running(make_app(chats)) as world:
        sync(world)
        response = world.client.get("/api/contacts.csv?bom=true", headers=world.admin.headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith(BYTE_ORDER_MARK + "id,wa_id,name")
    raw_rows = list(csv.reader(io.StringIO(text.removeprefix(BYTE_ORDER_MARK), newline="")))
    for row in raw_rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)
    rows = csv.DictReader(io.StringIO(text.removeprefix(BYTE_ORDER_MARK), newline=""))
    names = sorted(unescape_cell(row["name"]) for row in rows)
    assert names == sorted(HOSTILE)


def test_csv_export_filters_and_refuses_plain_users(world: World, chats: StaticChats) -> None:
    sync(world)
    chats.replace(person_chats(2))
    sync(world)

    vanished = world.client.get("/api/contacts.csv?vanished=true", headers=world.admin.headers)
    rows = list(csv.DictReader(io.StringIO(vanished.text, newline="")))
    assert [row["wa_id"] for row in rows] == ["4915100000003@c.us"]
    searched = world.client.get("/api/contacts.csv?search=Person 1", headers=world.admin.headers)
    assert len(list(csv.DictReader(io.StringIO(searched.text, newline="")))) == 1
    without_bom = world.client.get("/api/contacts.csv", headers=world.admin.headers)
    assert without_bom.text.startswith("id,")
    assert world.client.get("/api/contacts.csv", headers=world.user.headers).status_code == 403
    bad = world.client.get("/api/contacts.csv?vanished=maybe", headers=world.admin.headers)
    assert bad.status_code == 422


# -- instance status ------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeUltraMsg]:
    with FakeUltraMsg(instance_id=INSTANCE, token=FAKE_TOKEN) as server:
        yield server


FAKE_TOKEN = "fake-token-123"


def _status_client(fake: FakeUltraMsg, token: str = FAKE_TOKEN) -> Iterator[World]:
    settings = Settings(instance_id=INSTANCE, token=token, base_url=fake.base_url, timeout=5)
    app = bootstrap(settings, store=InMemoryStore(), hasher=FastHasher())
    with running(app) as world:
        yield world


@pytest.mark.parametrize(
    ("state", "connected", "hint"),
    [
        ("authenticated", True, "connected"),
        ("qr", False, "scan the QR code"),
        ("standby", False, "standby"),
        ("loading", False, "starting up"),
        ("disconnected", False, "UltraMsg dashboard"),
    ],
)
def test_instance_status_states(fake: FakeUltraMsg, state: str, connected: bool, hint: str) -> None:
    fake.status = state
    for world in _status_client(fake):
        answer = world.client.get("/api/instance/status", headers=world.admin.headers)
        assert answer.status_code == 200
        body = answer.json()
        assert body == {
            "instance_id": INSTANCE,
            "status": state,
            "connected": connected,
            "explanation": body["explanation"],
        }
        assert hint in body["explanation"]


def test_instance_status_with_a_wrong_token_is_502_without_the_token(fake: FakeUltraMsg) -> None:
    for world in _status_client(fake, token="wrong-token-456"):
        answer = world.client.get("/api/instance/status", headers=world.admin.headers)
        assert answer.status_code == 502
        assert "wrong-token-456" not in answer.text


def test_instance_status_unconfigured_is_503() -> None:
    app = bootstrap(Settings(), store=InMemoryStore(), hasher=FastHasher())
    with running(app) as world:
        answer = world.client.get("/api/instance/status", headers=world.admin.headers)
    assert answer.status_code == 503


def test_instance_status_is_for_admins(world: World) -> None:
    assert world.client.get("/api/instance/status", headers=world.user.headers).status_code == 403


# -- /openapi.json describes the new answers --------------------------------------------------


def test_new_answers_match_their_documented_schemas(world: World) -> None:
    sync(world)
    contact_id = world.client.get("/api/contacts", headers=world.admin.headers).json()["items"][0][
        "id"
    ]
    world.client.put(
        f"/api/contacts/{contact_id}/users",
        json={"user_ids": [world.user.user.id]},
        headers=world.admin.headers,
    )
    spec = world.client.get("/openapi.json").json()
    for path, template in [
        ("/api/sync-runs", "/api/sync-runs"),
        ("/api/sync-schedule", "/api/sync-schedule"),
        (f"/api/contacts/{contact_id}/links/history", "/api/contacts/{id}/links/history"),
        (f"/api/contacts/{contact_id}", "/api/contacts/{id}"),
    ]:
        answer = world.client.get(path, headers=world.admin.headers)
        schema = spec["paths"][template]["get"]["responses"]["200"]["content"]["application/json"]
        validator = jsonschema_rs.Draft202012Validator(
            {**schema["schema"], "components": spec["components"]}
        )
        validator.validate(answer.json())
    csv_doc = spec["paths"]["/api/contacts.csv"]["get"]["responses"]["200"]["content"]
    assert set(csv_doc) == {"text/csv"}
    webhook = spec["paths"]["/webhooks/ultramsg/{secret}"]["post"]
    assert set(webhook["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert webhook["security"] == []
    assert "404" in webhook["responses"]
