"""Contacts (listing, search, pages) and links between contacts and users, with their audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.support import ANNA, BEN, FAMILY, HIDDEN, ULTRAMSG_SAMPLE, all_contacts, everything
from wa_manager.bootstrap import App
from wa_manager.domain.errors import InvalidInput, NotFound, PermissionDenied
from wa_manager.domain.model import LIBRARY, Contact, User
from wa_manager.testing import DEFAULT_NOW, FixedClock, memory_app


@pytest.fixture
def app() -> App:
    app = memory_app([*ULTRAMSG_SAMPLE, {"id": BEN, "name": "Ben Okafor"}], clock=FixedClock())
    app.sync()
    return app


@pytest.fixture
def boss(app: App) -> User:
    return app.add_user("boss", "admin")


@pytest.fixture
def maria(app: App) -> User:
    return app.add_user("maria", "user")


def _contact(app: App, wa_id: str) -> Contact:
    (contact,) = [c for c in all_contacts(app) if c.wa_id == wa_id]
    return contact


# -- contacts ---------------------------------------------------------------------


def test_contacts_come_newest_first_page_by_page(app: App) -> None:
    everyone = [c.id for c in all_contacts(app)]
    assert everyone == sorted(everyone, reverse=True)
    seen: list[int] = []
    before_id = None
    while True:
        page = app.contacts.page(LIBRARY, limit=2, before_id=before_id)
        assert len(page.items) <= 2
        seen.extend(c.id for c in page.items)
        if page.next_before_id is None:
            break
        before_id = page.next_before_id
    assert seen == everyone


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("anna", {ANNA}),
        ("SCHMIDT", {ANNA}),
        ("+49151123", {ANNA}),
        ("@g.us", {FAMILY, "4915198765432-1600000000@g.us"}),
        ("4915198765432", {BEN, "4915198765432-1600000000@g.us"}),
        ("lid", {HIDDEN}),
        ("nobody", set()),
    ],
)
def test_search_matches_name_phone_and_wa_id_ignoring_case(
    app: App, search: str, found: set[str]
) -> None:
    assert {c.wa_id for c in app.contacts.page(LIBRARY, search=search).items} == found


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_a_page_size_outside_1_to_200_is_refused(app: App, limit: int) -> None:
    with pytest.raises(InvalidInput, match="between 1 and 200"):
        app.contacts.page(LIBRARY, limit=limit)


def test_an_unknown_contact_is_not_found(app: App) -> None:
    with pytest.raises(NotFound):
        app.contacts.get(LIBRARY, 999)


# -- links --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    ["by id", ANNA, "+4915112345678", "+49 151 1234 5678", " +4915112345678 "],
)
def test_link_finds_the_contact_by_id_wa_id_or_phone(app: App, maria: User, reference: str) -> None:
    anna = _contact(app, ANNA)
    assert app.link(str(anna.id) if reference == "by id" else reference, "maria") is True
    assert app.contacts.user_ids(LIBRARY, anna.id) == [maria.id]
    assert _contact(app, ANNA).user_ids == (maria.id,)


@pytest.mark.parametrize("reference", ["999", "nobody@c.us", "+4915100000000", "Anna Schmidt"])
def test_linking_an_unknown_contact_says_how_to_name_one(
    app: App, maria: User, reference: str
) -> None:
    with pytest.raises(NotFound, match="give its id, its wa_id"):
        app.link(reference, "maria")
    assert app.contacts.links(LIBRARY) == []


def test_linking_to_an_unknown_user_is_not_found(app: App) -> None:
    with pytest.raises(NotFound, match="ghost"):
        app.link(ANNA, "ghost")


def test_links_are_idempotent_and_audited_once_per_change(
    app: App, boss: User, maria: User
) -> None:
    anna = _contact(app, ANNA)
    assert app.contacts.link(boss, ANNA, "maria") is True
    assert app.contacts.link(boss, ANNA, "maria") is False
    assert [(c.wa_id, u.username) for _, c, u in app.contacts.links(LIBRARY)] == [(ANNA, "maria")]
    assert app.unlink(ANNA, "maria") is True
    assert app.unlink(ANNA, "maria") is False
    assert app.contacts.links(LIBRARY) == []
    history = app.contacts.link_history(LIBRARY, anna.id)
    assert [(e.user_id, e.action, e.actor_id, e.at) for e in history] == [
        (maria.id, "link", boss.id, DEFAULT_NOW),
        (maria.id, "unlink", None, DEFAULT_NOW),
    ]


def test_set_contact_users_links_exactly_the_given_users(app: App, boss: User, maria: User) -> None:
    ben = app.add_user("ben", "user")
    anna = _contact(app, ANNA)
    assert app.contacts.set_users(LIBRARY, anna.id, [maria.id, boss.id]) == sorted(
        [maria.id, boss.id]
    )
    assert app.contacts.set_users(LIBRARY, anna.id, [ben.id, boss.id, ben.id]) == sorted(
        [ben.id, boss.id]
    )
    assert app.contacts.user_ids(LIBRARY, anna.id) == sorted([ben.id, boss.id])
    changes = [(e.action, e.user_id) for e in app.contacts.link_history(LIBRARY, anna.id)][2:]
    assert sorted(changes) == [("link", ben.id), ("unlink", maria.id)]
    assert app.contacts.set_users(LIBRARY, anna.id, []) == []


def test_set_contact_users_with_an_unknown_user_changes_nothing(app: App, maria: User) -> None:
    anna = _contact(app, ANNA)
    app.contacts.set_users(LIBRARY, anna.id, [maria.id])
    with pytest.raises(InvalidInput, match="unknown user ids"):
        app.contacts.set_users(LIBRARY, anna.id, [maria.id + 100])
    assert app.contacts.user_ids(LIBRARY, anna.id) == [maria.id]
    with pytest.raises(NotFound):
        app.contacts.set_users(LIBRARY, 999, [maria.id])


AdminCase = Callable[[App, User, int], Any]
ADMIN_CASES: dict[str, AdminCase] = {
    "sync": lambda app, actor, cid: app.syncs.run(actor),
    "list contacts": lambda app, actor, cid: app.contacts.page(actor),
    "see a contact": lambda app, actor, cid: app.contacts.get(actor, cid),
    "link": lambda app, actor, cid: app.contacts.link(actor, str(cid), "maria"),
    "unlink": lambda app, actor, cid: app.contacts.unlink(actor, str(cid), "boss"),
    "see links": lambda app, actor, cid: app.contacts.user_ids(actor, cid),
    "set links": lambda app, actor, cid: app.contacts.set_users(actor, cid, []),
    "see link history": lambda app, actor, cid: app.contacts.link_history(actor, cid),
}


@pytest.mark.parametrize("case", ADMIN_CASES.values(), ids=ADMIN_CASES.keys())
def test_a_user_who_is_no_admin_may_not_use_admin_cases(
    app: App, boss: User, maria: User, case: AdminCase
) -> None:
    anna = _contact(app, ANNA)
    app.link(ANNA, "boss")
    before = everything(app)
    with pytest.raises(PermissionDenied, match="only admins may"):
        case(app, maria, anna.id)
    assert everything(app) == before
    case(app, boss, anna.id)  # the same call by an admin goes through
