"""Property: over the API, each user sees exactly the conversations of their linked contacts."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_http_support import all_pages, make_app, person_chats, running, sync

USERS = 4


@st.composite
def worlds(draw: st.DrawFn) -> tuple[int, dict[int, set[int]], int]:
    """(number of contacts, contact index -> linked user indexes, page size)."""
    contacts = draw(st.integers(min_value=0, max_value=25))
    links = draw(
        st.dictionaries(
            st.integers(min_value=0, max_value=max(contacts - 1, 0)),
            st.sets(st.integers(min_value=0, max_value=USERS - 1)),
            max_size=contacts,
        )
    )
    return contacts, links, draw(st.integers(min_value=1, max_value=7))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_each_user_sees_exactly_their_linked_contacts(
    world_spec: tuple[int, dict[int, set[int]], int],
) -> None:
    contact_count, links, page_size = world_spec
    with running(make_app(person_chats(contact_count))) as world:
        sync(world)
        members = [world.add_member(f"user{index}") for index in range(USERS)]
        contacts = all_pages(world.client, "/api/contacts", world.admin.headers, limit=200)
        contact_ids = sorted(item["id"] for item in contacts)
        for contact_index, user_indexes in links.items():
            response = world.client.put(
                f"/api/contacts/{contact_ids[contact_index]}/users",
                json={"user_ids": [members[index].user.id for index in user_indexes]},
                headers=world.admin.headers,
            )
            assert response.status_code == 200

        for index, member in enumerate(members):
            expected = {
                contact_ids[contact_index]
                for contact_index, user_indexes in links.items()
                if index in user_indexes
            }
            seen = all_pages(world.client, "/api/conversations", member.headers, page_size)
            seen_ids = [item["contact"]["id"] for item in seen]
            assert sorted(seen_ids) == sorted(expected)  # no gaps, no repeats, nothing else
            conversation_ids = [item["id"] for item in seen]
            assert conversation_ids == sorted(conversation_ids, reverse=True)

        everything = all_pages(world.client, "/api/conversations", world.admin.headers, page_size)
        assert sorted(item["contact"]["id"] for item in everything) == contact_ids
