"""The inbox workflow over HTTP: PATCH, events, filters, activity order, the pages.

A served app (memory store): an admin and users change status and assignment,
webhooks bring messages; the answers are what a client relies on — 200 with the
conversation, 403 for a user assigning someone else, 422 for an assignee who may
not see it (saying to link them) or an unknown status, 404 for what the caller may
not see, lists in activity order with working filters and cursors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_http_support import World, add_member, all_pages, browser_login, make_app, running, sync
from test_http_support import person_chats as chats

from wa_manager.domain.errors import InvalidCursor
from wa_manager.domain.model import (
    LIBRARY,
    ActivityKey,
    BulkLinkChange,
    ContactSelection,
    ContactSummary,
    Conversation,
    Page,
)
from wa_manager.entrypoints.http.inputs import activity_cursor, decode_activity_cursor
from wa_manager.entrypoints.http.pages import template_environment

SECRET = "hook-inbox-5e4f3a2b"
HOOK = f"/webhooks/ultramsg/{SECRET}"
ANNA, BEN, CARL = (f"491510000000{n}@c.us" for n in (1, 2, 3))
TIME = 1732400123


@pytest.fixture
def world() -> Iterator[World]:
    with running(make_app(chats(3), webhook_secret=SECRET)) as world:
        sync(world)
        world.app.link(ANNA, "maria")
        world.app.link(BEN, "maria")
        yield world


def cid(world: World, wa_id: str) -> int:
    return next(c.id for c in world.app.conversations.all(LIBRARY) if c.contact.wa_id == wa_id)


def inbound(wa_id: str, chat: str, seconds: int) -> dict[str, Any]:
    return {
        "event_type": "message_received",
        "data": {"id": wa_id, "from": chat, "type": "chat", "body": f"hi {wa_id}",
                 "time": TIME + seconds},
    }  # fmt: skip


def patch(world: World, headers: dict[str, str], conversation: int, **body: Any) -> Any:
    return world.client.patch(f"/api/conversations/{conversation}", json=body, headers=headers)


def test_admins_assign_users_take_and_give_up_and_each_change_is_an_event(world: World) -> None:
    anna = cid(world, ANNA)
    maria = world.user.user.id
    given = patch(world, world.admin.headers, anna, assigned_user_id=maria, status="pending")
    assert given.status_code == 200, given.text
    assert (given.json()["assigned_user_id"], given.json()["status"]) == (maria, "pending")
    mine = patch(world, world.user.headers, anna, assigned_user_id=None)  # gives it up
    assert mine.status_code == 200
    assert mine.json()["assigned_user_id"] is None
    taken = patch(world, world.user.headers, anna, assigned_user_id=maria, status="resolved")
    assert taken.status_code == 200
    events = world.client.get(f"/api/conversations/{anna}/events", headers=world.user.headers)
    assert events.status_code == 200
    assert [(e["type"], e["from"], e["to"], e["actor"]) for e in events.json()["items"]] == [
        ("assigned", None, maria, "admin"),
        ("status", "active", "pending", "admin"),
        ("unassigned", maria, None, "maria"),
        ("assigned", None, maria, "maria"),
        ("status", "pending", "resolved", "maria"),
    ]
    assert events.json()["items"][0]["to_user"] == "maria"
    assert re.fullmatch(r"\d{4}-.*\+00:00", events.json()["items"][0]["at"])


def test_a_user_may_not_assign_or_unassign_someone_else(world: World) -> None:
    anna = cid(world, ANNA)
    tom = add_member(world.app, "tom")
    world.app.link(ANNA, "tom")
    refused = patch(world, world.user.headers, anna, assigned_user_id=tom.user.id)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert patch(world, world.admin.headers, anna, assigned_user_id=tom.user.id).status_code == 200
    taking_away = patch(world, world.user.headers, anna, assigned_user_id=None)
    assert taking_away.status_code == 403
    assert world.app.conversations.get(LIBRARY, anna).assigned_user_id == tom.user.id


def test_an_assignee_who_may_not_see_it_or_an_unknown_status_is_422(world: World) -> None:
    carl = cid(world, CARL)  # not linked to maria
    blind = patch(world, world.admin.headers, carl, assigned_user_id=world.user.user.id)
    assert blind.status_code == 422
    assert "link them" in blind.json()["error"]["message"]
    assert "maria" in blind.json()["error"]["message"]
    unknown = patch(world, world.admin.headers, carl, assigned_user_id=999_999)
    assert unknown.status_code == 422
    bad = patch(world, world.admin.headers, carl, status="closed")
    assert bad.status_code == 422
    assert "active, pending, resolved" in bad.json()["error"]["message"]
    extra = patch(world, world.admin.headers, carl, colour="red")
    assert extra.status_code == 422
    assert world.app.conversations.events(LIBRARY, carl).items == []


def test_what_a_user_may_not_see_is_404_for_patch_and_events(world: World) -> None:
    carl = cid(world, CARL)
    for answer in (
        patch(world, world.user.headers, carl, status="resolved"),
        world.client.get(f"/api/conversations/{carl}/events", headers=world.user.headers),
        world.client.get(f"/api/conversations/{carl}/assignees", headers=world.user.headers),
        patch(world, world.user.headers, 987_654, status="resolved"),
    ):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    assert world.app.conversations.get(LIBRARY, carl).status == "active"


def test_unlinking_the_assignee_unassigns_with_an_event(world: World) -> None:
    anna = cid(world, ANNA)
    patch(world, world.admin.headers, anna, assigned_user_id=world.user.user.id)
    world.app.unlink(ANNA, "maria")
    conversation = world.client.get(f"/api/conversations/{anna}", headers=world.admin.headers)
    assert conversation.json()["assigned_user_id"] is None
    events = world.client.get(f"/api/conversations/{anna}/events", headers=world.admin.headers)
    assert events.json()["items"][-1]["type"] == "unassigned"


def _assigned_through_a_team(world: World) -> int:
    """CARL's conversation, seen by maria only through the team Support, assigned to her."""
    world.app.teams.add(LIBRARY, "Support")
    world.app.teams.add_member(LIBRARY, "Support", "maria")
    world.app.contacts.link_team(LIBRARY, CARL, "Support")
    carl = cid(world, CARL)
    answer = patch(world, world.admin.headers, carl, assigned_user_id=world.user.user.id)
    assert answer.json()["assigned_user_id"] == world.user.user.id
    return carl


def _assignee_and_last_event(world: World, conversation: int) -> tuple[Any, str]:
    got = world.client.get(f"/api/conversations/{conversation}", headers=world.admin.headers)
    events = world.client.get(
        f"/api/conversations/{conversation}/events", headers=world.admin.headers
    )
    return got.json()["assigned_user_id"], events.json()["items"][-1]["type"]


@pytest.mark.parametrize(
    "take_access_away",
    [
        lambda app, carl: app.teams.remove_member(LIBRARY, "Support", "maria"),
        lambda app, carl: app.teams.set_members(LIBRARY, app.teams.get(LIBRARY, "Support").id, []),
        lambda app, carl: app.contacts.unlink_team(LIBRARY, CARL, "Support"),
        lambda app, carl: app.contacts.set_teams(
            LIBRARY, app.conversations.get(LIBRARY, carl).contact.id, []
        ),
        lambda app, carl: app.contacts.bulk_link(
            LIBRARY,
            ContactSelection(contact_ids=(app.conversations.get(LIBRARY, carl).contact.id,)),
            BulkLinkChange(remove_team_ids=(app.teams.get(LIBRARY, "Support").id,)),
        ),
    ],
    ids=["leave-team", "set-members", "unlink-team", "set-teams", "bulk-unlink-team"],
)
def test_losing_sight_through_a_team_unassigns_with_an_event(
    world: World, take_access_away: Any
) -> None:
    carl = _assigned_through_a_team(world)
    take_access_away(world.app, carl)
    assert _assignee_and_last_event(world, carl) == (None, "unassigned")


def test_a_team_change_that_keeps_sight_keeps_the_assignment(world: World) -> None:
    carl = _assigned_through_a_team(world)
    world.app.link(CARL, "maria")  # now linked directly too
    world.app.teams.remove_member(LIBRARY, "Support", "maria")
    assert _assignee_and_last_event(world, carl) == (world.user.user.id, "assigned")


def test_an_inbound_message_reopens_a_resolved_conversation_as_the_system(world: World) -> None:
    anna = cid(world, ANNA)
    patch(world, world.user.headers, anna, status="resolved")
    world.client.post(HOOK, json=inbound("false_1", ANNA, 0))
    assert world.app.conversations.get(LIBRARY, anna).status == "active"
    items = world.client.get(
        f"/api/conversations/{anna}/events", headers=world.user.headers
    ).json()["items"]
    assert (items[-1]["type"], items[-1]["to"], items[-1]["actor_id"], items[-1]["actor"]) == (
        "status",
        "active",
        None,
        None,
    )
    world.client.post(HOOK, json=inbound("false_1", ANNA, 0))  # a repeat changes nothing
    assert len(
        world.client.get(f"/api/conversations/{anna}/events", headers=world.user.headers).json()[
            "items"
        ]
    ) == len(items)


def test_lists_run_by_activity_with_previews_filters_and_stable_cursors(world: World) -> None:
    anna, ben, carl = (cid(world, chat) for chat in (ANNA, BEN, CARL))
    created = world.app.conversations.get(LIBRARY, carl).activity_at
    after = int(created.timestamp()) - TIME + 1  # messages newer than the conversations
    world.client.post(HOOK, json=inbound("false_a", ANNA, after + 10))
    world.client.post(HOOK, json=inbound("false_b", BEN, after + 20))
    first = world.client.get(
        "/api/conversations", params={"limit": 1}, headers=world.admin.headers
    ).json()
    assert [item["id"] for item in first["items"]] == [ben]
    ben_time = datetime.fromtimestamp(TIME + after + 20, UTC).isoformat()
    assert first["items"][0]["last_message"] == {
        "body": "hi false_b", "type": "chat", "direction": "in", "created_at": ben_time,
    }  # fmt: skip
    assert first["items"][0]["last_message_at"] == ben_time
    world.client.post(HOOK, json=inbound("false_c", ANNA, after + 30))  # anna moves to the top
    rest = all_pages(world.client, "/api/conversations", world.admin.headers, 1)
    assert [item["id"] for item in rest] == [anna, ben, carl]
    second = world.client.get(
        "/api/conversations",
        params={"limit": 1, "cursor": first["next_cursor"]},
        headers=world.admin.headers,
    ).json()
    assert [item["id"] for item in second["items"]] == [carl]  # below ben's old place
    patch(world, world.admin.headers, ben, assigned_user_id=world.user.user.id, status="pending")

    def ids(headers: dict[str, str], **params: str) -> list[int]:
        answer = world.client.get("/api/conversations", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert ids(world.user.headers, assigned="me") == [ben]
    assert ids(world.admin.headers, assigned="none") == [anna, carl]
    assert ids(world.admin.headers, assigned=str(world.user.user.id)) == [ben]
    assert ids(world.admin.headers, status="pending") == [ben]
    assert ids(world.user.headers, status="active") == [anna]  # carl is not hers
    assert ids(world.admin.headers, search="0000003") == [carl]
    for bad in ({"assigned": "someone"}, {"status": "closed"}, {"cursor": "djE6Y29udGFjdHM6NQ"}):
        answer = world.client.get("/api/conversations", params=bad, headers=world.admin.headers)
        assert answer.status_code == 422, bad


def test_the_list_page_has_tabs_a_status_filter_and_previews(world: World) -> None:
    anna = cid(world, ANNA)
    world.client.post(HOOK, json=inbound("false_p", ANNA, 0))
    patch(world, world.admin.headers, anna, assigned_user_id=world.user.user.id)
    browser_login(world.client, "maria")
    page = world.client.get("/conversations", params={"assigned": "me"})
    assert page.status_code == 200
    html = page.text
    assert 'aria-current="page">Mine</a>' in html
    assert "hi false_p" in html
    assert '<time class="hint" datetime="2024-11-23T22:15:23+00:00"' in html
    assert f'href="/conversations/{anna}"' in html
    assert html.count('class="conversation"') == 1
    unassigned = world.client.get("/conversations", params={"assigned": "none"}).text
    assert f'href="/conversations/{anna}"' not in unassigned
    resolved = world.client.get("/conversations", params={"status": "resolved"}).text
    assert "Nothing here" in resolved


def test_the_workflow_form_changes_the_conversation_and_goes_back(world: World) -> None:
    anna = cid(world, ANNA)
    csrf = browser_login(world.client, "maria")
    done = world.client.post(
        f"/conversations/{anna}/workflow",
        data={"csrf_token": csrf, "status": "resolved"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/conversations/{anna}"
    assert world.app.conversations.get(LIBRARY, anna).status == "resolved"
    took = world.client.post(
        f"/conversations/{anna}/workflow",
        data={"csrf_token": csrf, "assigned_user_id": str(world.user.user.id)},
        follow_redirects=False,
    )
    assert took.status_code == 303
    assert world.app.conversations.get(LIBRARY, anna).assigned_user_id == world.user.user.id
    forged = world.client.post(
        f"/conversations/{anna}/workflow", data={"status": "active"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert world.app.conversations.get(LIBRARY, anna).status == "resolved"


@given(
    at=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    conversation_id=st.integers(1, 2**63 - 1),
)
def test_an_activity_cursor_gives_back_its_position(at: datetime, conversation_id: int) -> None:
    contact = ContactSummary(1, "1@c.us", None, None)
    page = Page((Conversation(conversation_id, contact, created_at=at),), conversation_id)
    cursor = activity_cursor(page)
    assert cursor is not None
    assert decode_activity_cursor(cursor) == ActivityKey(at, conversation_id)


@given(st.text(max_size=80))
def test_anything_else_is_an_invalid_cursor(text: str) -> None:
    try:
        decode_activity_cursor(text)
    except InvalidCursor:
        return
    key = decode_activity_cursor(text)
    contact = ContactSummary(1, "1@c.us", None, None)
    again = activity_cursor(Page((Conversation(key.id, contact, created_at=key.at),), key.id))
    assert again == text


def test_the_workflow_partial_lists_only_who_may_see_it_and_offers_resolve(world: World) -> None:
    anna, carl = cid(world, ANNA), cid(world, CARL)
    environment = template_environment()
    partial = environment.from_string('{% include "_conversation_workflow.html" %}')
    conversations = world.app.conversations

    def render(viewer: Any, conversation: int) -> str:
        workflow = {
            "conversation": conversations.get(viewer, conversation),
            "assignees": conversations.assignees(viewer, conversation),
            "action": f"/conversations/{conversation}/workflow",
            "api": f"/api/conversations/{conversation}",
        }
        return partial.render(workflow=workflow, user=viewer, csrf="token-123")

    admin, maria = world.admin.user, world.user.user
    for_admin = render(admin, anna)
    assert re.findall(r'<option value="(\d*)"', for_admin) == ["", str(admin.id), str(maria.id)]
    assert ">Resolve</button>" in for_admin
    assert 'name="csrf_token" value="token-123"' in for_admin
    assert str(maria.id) not in re.findall(r'<option value="(\d*)"', render(admin, carl))
    world.app.conversations.set_status(admin, anna, "resolved")
    for_maria = render(maria, anna)
    assert re.findall(r'<option value="(\d*)"', for_maria) == ["", str(maria.id)]
    assert ">Reopen</button>" in for_maria


def test_the_thread_page_has_the_controls_and_the_activity_timeline(world: World) -> None:
    anna = cid(world, ANNA)
    world.app.conversations.assign(world.admin.user, anna, world.user.user.id)
    world.app.conversations.set_status(world.admin.user, anna, "resolved")
    browser_login(world.client, "maria")
    page = world.client.get(f"/conversations/{anna}")
    assert page.status_code == 200
    html = page.text
    assert f'action="/conversations/{anna}/workflow"' in html
    assert ">Reopen</button>" in html
    assert re.findall(r'<option value="(\d*)"', html) == ["", str(world.user.user.id)]
    timeline = html[html.index('class="timeline"') :]
    assert "assigned to maria, by admin" in timeline
    assert "active → resolved, by admin" in timeline
