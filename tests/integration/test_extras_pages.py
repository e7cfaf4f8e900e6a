"""The Contact Links page: sync history, schedule, vanished contacts, status, link history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_http_support import World, browser_login, make_app, person_chats, running, sync

from wa_manager.testing import StaticChats

PAGE = "/settings/contact-links"


@pytest.fixture
def chats() -> StaticChats:
    return StaticChats(person_chats(3))


@pytest.fixture
def world(chats: StaticChats) -> Iterator[World]:
    with running(make_app(chats)) as world:
        browser_login(world.client, "admin")
        yield world


def test_the_page_shows_the_sync_history_with_triggers_and_who(world: World) -> None:
    sync(world)
    world.app.syncs.scheduler(900).run_once()

    page = world.client.get(PAGE).text

    assert "Sync history" in page
    assert 'data-trigger="schedule"' in page
    assert 'data-trigger="api"' in page
    assert ">admin<" in page
    assert "No automatic sync" in page


def test_vanished_contacts_are_marked_and_filterable(world: World, chats: StaticChats) -> None:
    sync(world)
    chats.replace(person_chats(2))
    sync(world)

    everyone = world.client.get(PAGE).text
    only_vanished = world.client.get(PAGE + "?vanished=true").text
    only_present = world.client.get(PAGE + "?vanished=false").text

    assert everyone.count("data-vanished") == 1
    assert "Person 3" in only_vanished
    assert "Person 1" not in only_vanished
    assert "Person 3" not in only_present
    assert only_present.count("data-contact-id=") == 2
    assert 'value="true" selected' in only_vanished


def test_the_page_offers_csv_export_status_and_link_history(world: World) -> None:
    sync(world)
    page = world.client.get(PAGE + "?search=Person").text
    assert 'href="/api/contacts.csv?bom=true&amp;search=Person"' in page
    assert 'data-status-url="/api/instance/status"' in page
    assert 'id="link-dialog-history"' in page
    assert "<script>" not in page  # the CSP allows no inline script
    script = world.client.get("/static/app.js").text
    assert "/links/history" in script
    assert "showInstanceStatus" in script


def test_a_sync_whose_process_died_shows_as_interrupted_on_the_page_and_in_the_api(
    world: World,
) -> None:
    with world.app.store() as uow:  # a run left behind by a killed process
        instance_id = world.app.settings.instance_id or ""
        uow.sync_runs.start(instance_id, "cli", None, world.app.clock())
        uow.commit()
    assert 'data-state="running"' in world.client.get(PAGE).text
    sync(world)  # the next sync finds it: nobody holds its run lock

    page = world.client.get(PAGE).text

    assert 'data-state="interrupted"' in page
    assert "its process stopped before the sync finished" in page
    runs = world.client.get("/api/sync-runs", headers=world.admin.headers).json()["items"]
    assert [run["state"] for run in runs] == ["succeeded", "interrupted"]
