"""Authorisation fails closed: every use case needs an actor, and asks ``authorize`` first.

The table below names every use-case method that takes an actor; a test checks
by introspection that none is missing, so a new use case cannot skip these tests.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.support import ANNA, ULTRAMSG_SAMPLE, everything
from wa_manager import App
from wa_manager.domain.errors import PermissionDenied
from wa_manager.domain.model import (
    CLI,
    LIBRARY,
    WEBHOOK,
    BulkLinkChange,
    ContactSelection,
    Role,
    SystemActor,
    User,
)
from wa_manager.services.permissions import ADMIN_ACTIONS, SYSTEM_ACTIONS, Action, authorize
from wa_manager.testing import StaticChats, memory_app

Call = Callable[[App, Any, int], object]

USE_CASES: dict[str, Call] = {
    "syncs.run": lambda app, actor, cid: app.syncs.run(actor),
    "syncs.history": lambda app, actor, cid: app.syncs.history(actor),
    "syncs.last": lambda app, actor, cid: app.syncs.last(actor),
    "syncs.instance_status": lambda app, actor, cid: app.syncs.instance_status(actor),
    "syncs.mark_interrupted": lambda app, actor, cid: app.syncs.mark_interrupted(actor),
    "syncs.run_all": lambda app, actor, cid: app.syncs.run_all(actor),
    "syncs.targets": lambda app, actor, cid: app.syncs.targets(actor),
    "syncs.instance_statuses": lambda app, actor, cid: app.syncs.instance_statuses(actor),
    "instances.add": lambda app, actor, cid: app.instances.add(actor, "instance777", "tok-777"),
    "instances.set_token": lambda app, actor, cid: app.instances.set_token(
        actor, "instance555", "tok-555b"
    ),
    "instances.remove": lambda app, actor, cid: app.instances.remove(actor, "instance555"),
    "instances.list": lambda app, actor, cid: app.instances.list(actor),
    "instances.rotate_key": lambda app, actor, cid: app.instances.rotate_key(actor),
    "accounts.add_user": lambda app, actor, cid: app.accounts.add_user(actor, "newbie", "user"),
    "accounts.user": lambda app, actor, cid: app.accounts.user(actor, "maria"),
    "accounts.users": lambda app, actor, cid: app.accounts.users(actor),
    "accounts.usernames": lambda app, actor, cid: app.accounts.usernames(actor),
    "accounts.create_token": lambda app, actor, cid: app.accounts.create_token(actor, "maria"),
    "contacts.page": lambda app, actor, cid: app.contacts.page(actor),
    "contacts.get": lambda app, actor, cid: app.contacts.get(actor, cid),
    "contacts.count": lambda app, actor, cid: app.contacts.count(actor, search="a"),
    "contacts.link": lambda app, actor, cid: app.contacts.link(actor, str(cid), "maria"),
    "contacts.unlink": lambda app, actor, cid: app.contacts.unlink(actor, str(cid), "boss"),
    "contacts.set_users": lambda app, actor, cid: app.contacts.set_users(actor, cid, []),
    "contacts.user_ids": lambda app, actor, cid: app.contacts.user_ids(actor, cid),
    "contacts.links": lambda app, actor, cid: app.contacts.links(actor),
    "contacts.link_history": lambda app, actor, cid: app.contacts.link_history(actor, cid),
    "contacts.export_csv": lambda app, actor, cid: app.contacts.export_csv(actor),
    "conversations.page": lambda app, actor, cid: app.conversations.page(actor),
    "conversations.all": lambda app, actor, cid: app.conversations.all(actor),
    "conversations.get": lambda app, actor, cid: app.conversations.get(actor, cid),
    "conversations.update": lambda app, actor, cid: app.conversations.update(
        actor, cid, status="pending"
    ),
    "conversations.assign": lambda app, actor, cid: app.conversations.assign(actor, cid, None),
    "conversations.set_status": lambda app, actor, cid: app.conversations.set_status(
        actor, cid, "resolved"
    ),
    "conversations.events": lambda app, actor, cid: app.conversations.events(actor, cid),
    "conversations.assignees": lambda app, actor, cid: app.conversations.assignees(actor, cid),
    "conversations.sources": lambda app, actor, cid: app.conversations.sources(actor),
    "webhooks.handle": lambda app, actor, cid: app.webhooks.handle(actor, {"event_type": "x"}),
    "accounts.change_user": lambda app, actor, cid: app.accounts.change_user(
        actor, _user_id(app, "maria"), role="user"
    ),
    "accounts.issue_token": lambda app, actor, cid: app.accounts.issue_token(actor, "maria", "x"),
    "accounts.change_own_password": lambda app, actor, cid: app.accounts.change_own_password(
        actor, "wrong password", "a new password"
    ),
    "accounts.issue_own_token": lambda app, actor, cid: app.accounts.issue_own_token(actor, "x"),
    "accounts.tokens": lambda app, actor, cid: app.accounts.tokens(actor),
    "accounts.revoke_token": lambda app, actor, cid: app.accounts.revoke_token(actor, 10**6),
    "contacts.link_team": lambda app, actor, cid: app.contacts.link_team(
        actor, str(cid), "support"
    ),
    "contacts.unlink_team": lambda app, actor, cid: app.contacts.unlink_team(
        actor, str(cid), "support"
    ),
    "contacts.set_teams": lambda app, actor, cid: app.contacts.set_teams(actor, cid, []),
    "contacts.team_ids": lambda app, actor, cid: app.contacts.team_ids(actor, cid),
    "contacts.bulk_link": lambda app, actor, cid: app.contacts.bulk_link(
        actor, ContactSelection(contact_ids=(cid,)), BulkLinkChange(add_team_ids=(1,))
    ),
    "teams.add": lambda app, actor, cid: app.teams.add(actor, "ops"),
    "teams.list": lambda app, actor, cid: app.teams.list(actor),
    "teams.get": lambda app, actor, cid: app.teams.get(actor, "support"),
    "teams.add_member": lambda app, actor, cid: app.teams.add_member(actor, "support", "maria"),
    "teams.remove_member": lambda app, actor, cid: app.teams.remove_member(
        actor, "support", "boss"
    ),
    "teams.set_members": lambda app, actor, cid: app.teams.set_members(actor, 1, []),
    "teams.history": lambda app, actor, cid: app.teams.history(actor, "support"),
    "instance_members.members": lambda app, actor, cid: app.instance_members.members(actor, "i1"),
    "instance_members.list": lambda app, actor, cid: app.instance_members.list(actor),
    "instance_members.add_user": lambda app, actor, cid: app.instance_members.add_user(
        actor, "i1", "maria"
    ),
    "instance_members.remove_user": lambda app, actor, cid: app.instance_members.remove_user(
        actor, "i1", "maria"
    ),
    "instance_members.add_team": lambda app, actor, cid: app.instance_members.add_team(
        actor, "i1", "support"
    ),
    "instance_members.remove_team": lambda app, actor, cid: app.instance_members.remove_team(
        actor, "i1", "support"
    ),
    "instance_members.set_members": lambda app, actor, cid: app.instance_members.set_members(
        actor, "i1", [], []
    ),
    "identities.duplicates": lambda app, actor, cid: app.identities.duplicates(actor),
    "identities.merge": lambda app, actor, cid: app.identities.merge(
        actor, _another_contact_id(app, cid), cid
    ),
}
USER_CASES = {name for name in USE_CASES if name.startswith("conversations.")}
# Open to every signed-in user, each for their own account (the system has none).
OWN_ACCOUNT_CASES = {
    "accounts.change_own_password",
    "accounts.issue_own_token",
    "accounts.tokens",
    "accounts.revoke_token",
}
SYSTEM_CASES = {"webhooks.handle"}
USE_CASE_OBJECTS = (
    "syncs",
    "accounts",
    "contacts",
    "teams",
    "instance_members",
    "identities",
    "conversations",
    "webhooks",
    "instances",
)
ENCRYPTION_KEY = "x" * 43 + "="  # a well-formed Fernet key (32 bytes, url-safe base64)


def _user_id(app: App, username: str) -> int:
    return app.accounts.user(LIBRARY, username).id


class StatusChats:
    """Canned chats that can also say whether the instance is connected."""

    def fetch_chats(self) -> list[Any]:
        return []

    def instance_status(self) -> str:
        return "authenticated"


@pytest.fixture
def app() -> App:
    built = memory_app(
        ULTRAMSG_SAMPLE, encryption_key=ENCRYPTION_KEY, connect=lambda i, t: StaticChats()
    )
    built.sync()
    built.instances.add(LIBRARY, "instance555", "tok-555")
    built.add_user("boss", "admin")
    built.add_user("maria", "user")
    built.link(ANNA, "boss")
    built.teams.add(LIBRARY, "support")
    return built


def _contact_id(app: App) -> int:
    return next(c.id for c in app.contacts.page(LIBRARY).items if c.wa_id == ANNA)


def _another_contact_id(app: App, cid: int) -> int:
    """A contact of the same number as ``cid``, not ``cid`` itself."""
    contacts = app.contacts.page(LIBRARY).items
    source = next(c.source for c in contacts if c.id == cid)
    return next(c.id for c in contacts if c.source == source and c.id != cid)


def _conversation_id(app: App, cid: int) -> int:
    return next(c.id for c in app.conversations.all(LIBRARY) if c.contact.id == cid)


def _target(app: App, name: str) -> int:
    cid = _contact_id(app)
    return _conversation_id(app, cid) if name.startswith("conversations.") else cid


def test_the_table_names_every_use_case_that_takes_an_actor(app: App) -> None:
    found = set()
    for holder in USE_CASE_OBJECTS:
        obj = getattr(app, holder)
        for name, method in inspect.getmembers(obj, inspect.ismethod):
            if name.startswith("_"):
                continue
            parameters = list(inspect.signature(method).parameters)
            if parameters[:1] == ["actor"]:
                found.add(f"{holder}.{name}")
    assert found == set(USE_CASES)


@pytest.mark.parametrize("name", USE_CASES)
def test_a_use_case_called_without_an_actor_cannot_run(app: App, name: str) -> None:
    target = _target(app, name)
    before = everything(app)
    with pytest.raises(PermissionDenied, match="no actor given"):
        USE_CASES[name](app, None, target)
    assert everything(app) == before


@pytest.mark.parametrize(
    "name", sorted(set(USE_CASES) - USER_CASES - SYSTEM_CASES - OWN_ACCOUNT_CASES)
)
def test_a_plain_user_may_not_use_an_admin_case_and_an_admin_may(app: App, name: str) -> None:
    maria = app.accounts.user(LIBRARY, "maria")
    boss = app.accounts.user(LIBRARY, "boss")
    target = _target(app, name)
    before = everything(app)
    with pytest.raises(PermissionDenied, match="only admins may"):
        USE_CASES[name](app, maria, target)
    assert everything(app) == before
    if name != "syncs.instance_status":  # canned chats report no status; see below
        USE_CASES[name](app, boss, target)


def test_the_instance_status_is_for_admins_and_the_system() -> None:
    app = memory_app(StatusChats())
    boss = app.add_user("boss", "admin")
    maria = app.add_user("maria", "user")
    assert app.syncs.instance_status(boss).connected
    assert app.syncs.instance_status(CLI).connected
    with pytest.raises(PermissionDenied):
        app.syncs.instance_status(maria)


def test_webhooks_are_applied_by_the_system_only(app: App) -> None:
    boss = app.accounts.user(LIBRARY, "boss")
    with pytest.raises(PermissionDenied, match="only wa-manager itself"):
        app.webhooks.handle(boss, {"event_type": "message_received"})
    assert app.webhooks.handle(WEBHOOK, {"event_type": "x"}).reason is not None


def test_a_locked_out_admin_counts_as_no_admin() -> None:
    locked = User(id=1, username="gone", role=Role.ADMIN, active=False)
    for action in ADMIN_ACTIONS:
        with pytest.raises(PermissionDenied):
            authorize(locked, action)


@pytest.mark.parametrize("action", list(Action))
def test_the_system_may_do_everything(action: Action) -> None:
    actor = SystemActor("job")
    assert authorize(actor, action) is actor
    assert actor.id is None


def test_every_action_is_admin_system_or_for_everyone() -> None:
    everyone = set(Action) - ADMIN_ACTIONS - SYSTEM_ACTIONS
    assert everyone == {
        Action.SEE_CONVERSATIONS,
        Action.READ_MESSAGES,
        Action.SEND_MESSAGES,
        Action.MANAGE_OWN_ACCOUNT,
        Action.WORK_ON_CONVERSATIONS,
    }
    assert not ADMIN_ACTIONS & SYSTEM_ACTIONS
