"""Who sees which conversation, as a property over random teams, contacts and links."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import UserSpec, World, worlds
from tests.unit.visibility import check_visibility, populate
from wa_manager.domain.model import Role, User
from wa_manager.testing import InMemoryStore


@settings(max_examples=60)
@given(worlds(), st.integers(min_value=1, max_value=4))
def test_each_viewer_sees_exactly_what_the_rules_allow(world: World, page_size: int) -> None:
    check_visibility(InMemoryStore(), world, page_size)


def test_a_small_team_by_hand() -> None:
    world = World(
        users=[
            UserSpec("boss", Role.ADMIN, True),
            UserSpec("maria", Role.USER, True),
            UserSpec("gone", Role.USER, False),
            UserSpec("ex-boss", Role.ADMIN, False),
        ],
        contact_ids=["4915112345678@c.us", "120363041234567890@g.us", "140000000000001@lid"],
        links={(0, 1), (0, 2), (1, 3)},
    )
    check_visibility(InMemoryStore(), world, page_size=1)
    app, (boss, maria, gone, ex_boss) = populate(InMemoryStore(), world)

    def sees(viewer: User) -> list[str]:
        return [c.contact.wa_id for c in app.conversations.page(viewer).items]

    assert sees(boss) == ["140000000000001@lid", "120363041234567890@g.us", "4915112345678@c.us"]
    assert sees(maria) == ["4915112345678@c.us"]
    assert sees(gone) == sees(ex_boss) == []
    assert [c.contact.wa_id for c in app.conversations_for("maria")] == ["4915112345678@c.us"]
