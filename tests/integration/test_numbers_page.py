"""Settings › WhatsApp numbers as a browser uses it: the list, adding a number with its
token in a password field (never shown again), removing one; admins only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_http_support import INSTANCE, SECRET_KEY, World, browser_login, running

from wa_manager import Settings
from wa_manager.bootstrap import bootstrap, new_encryption_key
from wa_manager.config import Secret
from wa_manager.testing import FastHasher, InMemoryStore, StaticChats

TOKEN = "tok-page-9c8b7a6d"
PATH = "/settings/whatsapp-numbers"


def connect(instance_id: str, token: Secret) -> Any:
    return StaticChats([{"id": "4915100000001@c.us", "name": instance_id}])


@pytest.fixture
def world() -> Iterator[World]:
    settings = Settings(
        instance_id=INSTANCE,
        token="env-token-123",
        secret_key=SECRET_KEY,
        encryption_key=new_encryption_key(),
    )
    app = bootstrap(
        settings,
        chats=StaticChats([]),
        store=InMemoryStore(),
        hasher=FastHasher(),
        connect=connect,
    )
    with running(app) as running_world:
        yield running_world


def test_an_admin_adds_and_removes_a_number(world: World) -> None:
    csrf = browser_login(world.client, "admin")
    page = world.client.get(PATH)
    assert page.status_code == 200
    assert 'aria-current="page">WhatsApp numbers' in page.text
    assert f'data-instance="{INSTANCE}"' in page.text
    assert 'type="password"' in page.text

    fields = {"csrf_token": csrf, "action": "add", "instance_id": "instance777"}
    added = world.client.post(PATH, data={**fields, "label": "Support", "token": TOKEN})
    assert added.status_code == 200
    assert "Added instance777" in added.text
    assert 'data-instance="instance777"' in added.text
    assert "/settings/whatsapp-numbers/instance777/members" in added.text
    assert 'data-sync-instance="instance777"' in added.text
    assert TOKEN not in added.text
    assert TOKEN not in world.client.get(PATH).text

    report = world.client.post(
        "/api/whatsapp-contacts?instance=instance777", headers={"X-CSRF-Token": csrf}
    )
    assert report.status_code == 200, report.text
    assert report.json()["created_contacts"] == 1

    again = world.client.post(PATH, data={**fields, "token": TOKEN})
    assert again.status_code == 409
    assert "stored already" in again.text
    assert TOKEN not in again.text

    removed = world.client.post(
        PATH, data={"csrf_token": csrf, "action": "remove", "instance_id": "instance777"}
    )
    assert removed.status_code == 200
    assert "Removed instance777" in removed.text
    assert 'data-instance="instance777"' not in removed.text


def test_a_plain_user_may_not_see_the_numbers(world: World) -> None:
    browser_login(world.client, "maria")
    assert world.client.get(PATH).status_code == 403
    assert "WhatsApp numbers</a>" not in world.client.get("/conversations").text


def test_the_form_needs_the_csrf_token(world: World) -> None:
    browser_login(world.client, "admin")
    answer = world.client.post(PATH, data={"action": "remove", "instance_id": "x"})
    assert answer.status_code == 403
