"""The store contract of instance membership (``uow.instance_members``) and what it lets
people see, on the memory store, SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from test_store_contract import LATER, NOW, add_user, person

from wa_manager.domain.errors import NotFound
from wa_manager.domain.model import (
    ConversationEvent,
    ConversationFilter,
    InstanceMembers,
    NewContact,
    Role,
    User,
)
from wa_manager.domain.ports import Store

NUMBER_A, NUMBER_B = "instanceA", "instanceB"
SYSTEM = User(id=0, username="system", role=Role.ADMIN)


def add_chats(store: Store, source: str, *contacts: NewContact) -> list[int]:
    """Contacts of ``source`` with their conversations; their conversation ids, ascending."""
    with store() as uow:
        uow.contacts.add_many(source, contacts, NOW)
        uow.conversations.add_missing(source, NOW)
        uow.commit()
    with store() as uow:
        found = uow.conversations.page(SYSTEM, limit=200, before=None).items
        return sorted(
            c.id
            for c in found
            if c.contact.wa_id in {n.wa_id for n in contacts}
            and (
                uow.contacts.get(c.contact.id).source == source  # type: ignore[union-attr]
            )
        )


def seen(store: Store, viewer: User) -> list[int]:
    with store() as uow:
        return sorted(c.id for c in uow.conversations.page(viewer, limit=200, before=None).items)


def test_memberships_are_idempotent_and_listed_by_instance(store: Store) -> None:
    maria, olga = add_user(store, "maria"), add_user(store, "olga")
    with store() as uow:
        team = uow.teams.add("Support", NOW)
        assert uow.instance_members.add_user(NUMBER_B, olga.id, NOW) is True
        assert uow.instance_members.add_user(NUMBER_B, maria.id, NOW) is True
        assert uow.instance_members.add_user(NUMBER_B, maria.id, LATER) is False
        assert uow.instance_members.add_team(NUMBER_A, team.id, NOW) is True
        assert uow.instance_members.add_team(NUMBER_A, team.id, NOW) is False
        uow.commit()
    with store() as uow:
        assert uow.instance_members.members(NUMBER_B) == InstanceMembers(
            NUMBER_B, tuple(sorted((maria.id, olga.id))), ()
        )
        assert uow.instance_members.list() == [
            InstanceMembers(NUMBER_A, (), (team.id,)),
            InstanceMembers(NUMBER_B, tuple(sorted((maria.id, olga.id))), ()),
        ]
        assert uow.instance_members.members("nobody's") == InstanceMembers("nobody's")
        assert uow.instance_members.remove_team(NUMBER_A, team.id) is True
        assert uow.instance_members.remove_team(NUMBER_A, team.id) is False
        assert uow.instance_members.remove_user(NUMBER_B, olga.id) is True
        assert uow.instance_members.remove_user(NUMBER_A, olga.id) is False
        uow.commit()
    with store() as uow:
        assert uow.instance_members.list() == [InstanceMembers(NUMBER_B, (maria.id,), ())]


def test_an_unknown_user_or_team_cannot_be_a_member(store: Store) -> None:
    with pytest.raises(NotFound), store() as uow:
        uow.instance_members.add_user(NUMBER_A, 999_999, NOW)
    with pytest.raises(NotFound), store() as uow:
        uow.instance_members.add_team(NUMBER_A, 999_999, NOW)
    with store() as uow:
        assert uow.instance_members.list() == []


def test_members_see_every_conversation_of_their_instance_and_nothing_of_another(
    store: Store,
) -> None:
    a1, a2 = add_chats(store, NUMBER_A, person("4911"), person("4912"))
    (b1,) = add_chats(store, NUMBER_B, person("4911"))  # the same person, the other number
    maria, olga, ute = add_user(store, "maria"), add_user(store, "olga"), add_user(store, "ute")
    with store() as uow:
        team = uow.teams.add("Sales", NOW)
        uow.teams.add_member(team.id, olga.id, None, NOW)
        uow.instance_members.add_user(NUMBER_A, maria.id, NOW)
        uow.instance_members.add_team(NUMBER_B, team.id, NOW)
        uow.commit()
    assert seen(store, maria) == [a1, a2]
    assert seen(store, olga) == [b1]
    assert seen(store, ute) == []
    with store() as uow:
        assert uow.conversations.get(maria, b1) is None
        assert uow.conversations.get(olga, a1) is None
        assert uow.conversations.get(maria, a2) is not None
        assert uow.conversations.may_see(maria, a1)
        assert not uow.conversations.may_see(maria, b1)
        assert uow.conversations.may_see(olga, b1)
        assert not uow.conversations.may_see(olga, a2)
        assert not uow.conversations.may_see(ute, a1)
    (a3,) = add_chats(store, NUMBER_A, person("4913"))  # a new chat: seen at once
    assert seen(store, maria) == [a1, a2, a3]


def test_losing_a_membership_leaves_assignments_the_member_no_longer_sees(store: Store) -> None:
    (a1,) = add_chats(store, NUMBER_A, person("4911"))
    maria, olga = add_user(store, "maria"), add_user(store, "olga")
    with store() as uow:
        team = uow.teams.add("Sales", NOW)
        uow.teams.add_member(team.id, olga.id, None, NOW)
        uow.instance_members.add_user(NUMBER_A, maria.id, NOW)
        uow.instance_members.add_team(NUMBER_A, team.id, NOW)
        uow.conversations.apply(ConversationEvent.assignment(a1, None, maria.id, None, NOW))
        uow.commit()
    with store() as uow:
        assert uow.conversations.hidden_assignments(maria.id) == []
        uow.instance_members.remove_team(NUMBER_A, team.id)
        assert uow.conversations.hidden_assignments(maria.id) == []  # still a member herself
        uow.instance_members.remove_user(NUMBER_A, maria.id)
        assert uow.conversations.hidden_assignments(maria.id) == [a1]
        uow.commit()
    assert seen(store, maria) == seen(store, olga) == []
    with store() as uow:
        assert not uow.conversations.may_see(maria, a1)
        assert not uow.conversations.may_see(olga, a1)


def test_lists_filter_by_number_and_name_the_numbers_each_viewer_sees(store: Store) -> None:
    a1, a2 = add_chats(store, NUMBER_A, person("4911"), person("4912"))
    (b1,) = add_chats(store, NUMBER_B, person("4911"))
    (c1,) = add_chats(store, "instanceC", person("4913"))
    maria, olga, ute = add_user(store, "maria"), add_user(store, "olga"), add_user(store, "ute")
    with store() as uow:
        uow.instance_members.add_user(NUMBER_A, maria.id, NOW)
        uow.instance_members.add_user("instanceEmpty", maria.id, NOW)  # no contact: not listed
        contact_of_c1 = uow.conversations.get(SYSTEM, c1).contact.id  # type: ignore[union-attr]
        uow.links.add(contact_of_c1, maria.id, None, NOW)
        team = uow.teams.add("Sales", NOW)
        uow.teams.add_member(team.id, olga.id, None, NOW)
        contact_of_b1 = uow.conversations.get(SYSTEM, b1).contact.id  # type: ignore[union-attr]
        uow.links.add_team(contact_of_b1, team.id, None, NOW)
        uow.commit()
    with store() as uow:
        conversations = uow.conversations
        assert conversations.sources(SYSTEM) == ["instanceA", "instanceB", "instanceC"]
        assert conversations.sources(maria) == ["instanceA", "instanceC"]
        assert conversations.sources(olga) == ["instanceB"]
        assert conversations.sources(ute) == []

        def page(viewer: User, source: str) -> list[int]:
            where = ConversationFilter(source=source)
            found = conversations.page(viewer, limit=10, before=None, where=where).items
            return sorted(c.id for c in found)

        assert page(SYSTEM, NUMBER_A) == [a1, a2]
        assert page(maria, NUMBER_A) == [a1, a2]
        assert page(maria, NUMBER_B) == []
        assert page(maria, "instanceC") == [c1]
        assert page(olga, NUMBER_B) == [b1]
        contacts = uow.contacts.page(search=None, limit=10, before_id=None, source=NUMBER_B).items
        assert [c.wa_id for c in contacts] == ["4911@c.us"]
        assert [c.source for c in contacts] == [NUMBER_B]
        everyone = uow.contacts.page(search="4911", limit=10, before_id=None).items
        assert sorted(c.source for c in everyone) == [NUMBER_A, NUMBER_B]
