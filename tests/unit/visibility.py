"""The visibility property, written once for any ``Store`` (memory here, SQL in integration).

``check_visibility(store, world, page_size)`` fills an empty store with ``world``
(contacts by a sync, users, links) and checks, for every user as viewer:

- an inactive user sees nothing; an active admin sees every conversation; an
  active user sees exactly the conversations of the contacts linked to them, or
  to a team they are a member of, or of a WhatsApp number they (or a team of
  theirs) are a member of (``World.may_see``, the rule by brute force);
- the list comes newest first, page by page, without repeats or gaps;
- ``conversation(viewer, id)`` answers iff the id is in the viewer's list, and
  says ``NotFound`` alike for invisible and absent ids.

Users are stored active; an inactive viewer is the stored user with
``active=False`` (reads decide on the viewer they are given).
"""

from __future__ import annotations

import attrs
import pytest

from tests.strategies import WORLD_SOURCES, World
from wa_manager.bootstrap import App, bootstrap
from wa_manager.config import Settings
from wa_manager.domain.errors import NotFound
from wa_manager.domain.model import LIBRARY, ActivityKey, Conversation, Role, User
from wa_manager.domain.ports import Store
from wa_manager.testing import DEFAULT_INSTANCE_ID, FastHasher, FixedClock, StaticChats


def populate(store: Store, world: World) -> tuple[App, list[User]]:
    """Sync ``world``'s contacts into ``store`` (each number's by its own instance), add
    its users, links and memberships; the viewers."""
    assert WORLD_SOURCES[0] == DEFAULT_INSTANCE_ID
    apps = [
        bootstrap(
            Settings(instance_id=source),
            chats=StaticChats(
                [
                    (wa_id, None)
                    for index, wa_id in enumerate(world.contact_ids)
                    if world.source_of(index) == number
                ]
            ),
            store=store,
            clock=FixedClock(),
            hasher=FastHasher(),
        )
        for number, source in enumerate(WORLD_SOURCES)
    ]
    for each in apps:
        each.sync()
    app = apps[0]
    users = [app.add_user(spec.username, spec.role) for spec in world.users]
    for contact_index, user_index in sorted(world.links):
        app.link(world.contact_ids[contact_index], users[user_index].username)
    for team_index, members in enumerate(world.teams):
        team = app.teams.add(LIBRARY, f"team {team_index}")
        for user_index in sorted(members):
            app.teams.add_member(LIBRARY, team.id, users[user_index].username)
    for contact_index, team_index in sorted(world.team_links):
        app.contacts.link_team(LIBRARY, world.contact_ids[contact_index], f"team {team_index}")
    for number, user_index in sorted(world.instance_users):
        app.instance_members.add_user(LIBRARY, WORLD_SOURCES[number], users[user_index].username)
    for number, team_index in sorted(world.instance_teams):
        app.instance_members.add_team(LIBRARY, WORLD_SOURCES[number], f"team {team_index}")
    viewers = [
        attrs.evolve(user, active=spec.active)
        for user, spec in zip(users, world.users, strict=True)
    ]
    return app, viewers


def _read_all_pages(app: App, viewer: User, page_size: int) -> list[Conversation]:
    items: list[Conversation] = []
    before: ActivityKey | None = None
    while True:
        page = app.conversations.page(viewer, limit=page_size, before=before)
        assert len(page.items) <= page_size
        if page.next_before_id is not None:
            assert len(page.items) == page_size
        items.extend(page.items)
        if page.next_before_id is None:
            return items
        before = page.items[-1].activity_key


def check_visibility(store: Store, world: World, page_size: int = 3) -> None:
    """Fill the empty ``store`` with ``world`` and check what each viewer may see."""
    app, viewers = populate(store, world)
    admin_view = User(id=10**9, username="root", role=Role.ADMIN)
    everything = {c.id: c for c in _read_all_pages(app, admin_view, 200)}
    assert sorted(c.contact.wa_id for c in everything.values()) == sorted(world.contact_ids)
    contact_of = {c.id: c.contact.wa_id for c in everything.values()}
    number_of = {
        wa_id: WORLD_SOURCES[world.source_of(index)]
        for index, wa_id in enumerate(world.contact_ids)
    }
    assert all(c.contact.source == number_of[c.contact.wa_id] for c in everything.values())
    absent = [0, -1, max(everything, default=0) + 1]

    for user_index, viewer in enumerate(viewers):
        linked = {
            wa_id
            for contact_index, wa_id in enumerate(world.contact_ids)
            if world.may_see(user_index, contact_index)
        }
        if not viewer.active:
            expected: set[int] = set()
        elif viewer.role is Role.ADMIN:
            expected = set(everything)
        else:
            expected = {cid for cid, wa_id in contact_of.items() if wa_id in linked}

        seen = _read_all_pages(app, viewer, page_size)
        ids = [c.id for c in seen]
        assert ids == sorted(expected, reverse=True), (viewer, linked)
        assert all(c == everything[c.id] for c in seen)
        numbers = sorted({everything[cid].contact.source or "" for cid in expected})
        assert app.conversations.sources(viewer) == numbers
        for number in WORLD_SOURCES:  # each number's list: the same rule, filtered
            only = app.conversations.all(viewer, source=number)
            assert [c.id for c in only] == [c.id for c in seen if c.contact.source == number]

        for conversation_id in [*everything, *absent]:
            if conversation_id in expected:
                assert app.conversations.get(viewer, conversation_id) == everything[conversation_id]
            else:
                with pytest.raises(NotFound) as caught:
                    app.conversations.get(viewer, conversation_id)
                assert str(caught.value) == f"no conversation with id {conversation_id}"
