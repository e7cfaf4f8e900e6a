"""The store contract: every port method's documented behaviour, held against every store.

The same tests run on the in-memory store (``wa_manager.adapters.memory``), on
SQLite and on PostgreSQL (when ``WA_MANAGER_TEST_DATABASE_URL`` is set), so that
the fake our unit tests rely on behaves like the real databases.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wa_manager.domain.errors import AlreadyExists, NotFound, SyncAlreadyRunning
from wa_manager.domain.model import (
    ActivityKey,
    BulkLinkChange,
    ContactSelection,
    NewContact,
    Role,
    StoredContactState,
    SyncReport,
    User,
)
from wa_manager.domain.ports import Store

NOW = datetime(2024, 11, 24, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
SOURCE = "instance12345"


def person(number: str, name: str | None = None) -> NewContact:
    """A new person contact with this phone number."""
    return NewContact(f"{number}@c.us", name, f"+{number}", "person")


def add_contacts(store: Store, *contacts: NewContact, source: str = SOURCE) -> list[int]:
    """Insert and commit; return the new contacts' ids, in the given order."""
    with store() as uow:
        uow.contacts.add_many(source, contacts, NOW)
        ids = [uow.contacts.find(source, wa_id=c.wa_id).id for c in contacts]  # type: ignore[union-attr]
        uow.commit()
    return ids


def add_user(store: Store, username: str, role: str = "user") -> User:
    """Create and commit a user."""
    with store() as uow:
        user = uow.users.add(username, role, None, NOW)
        uow.commit()
    return user


def with_conversations(store: Store, *contacts: NewContact) -> list[int]:
    """Contacts with their conversations; return the conversation ids, oldest first."""
    add_contacts(store, *contacts)
    with store() as uow:
        uow.conversations.add_missing(SOURCE, NOW)
        admin = User(id=0, username="system", role=Role.ADMIN)
        ids = sorted(c.id for c in uow.conversations.page(admin, limit=200, before=None).items)
        uow.commit()
    return ids


# -- contacts: the sync's bulk writes -----------------------------------------------------


def test_add_many_inserts_new_contacts_and_skips_existing_ones(store: Store) -> None:
    with store() as uow:
        assert uow.contacts.add_many(SOURCE, [person("491511"), person("491512")], NOW) == 2
        assert uow.contacts.add_many(SOURCE, [person("491512"), person("491513")], NOW) == 1
        assert uow.contacts.add_many(SOURCE, [], NOW) == 0
        uow.commit()
    with store() as uow:
        assert sorted(uow.contacts.snapshot(SOURCE)) == [
            "491511@c.us",
            "491512@c.us",
            "491513@c.us",
        ]


def test_add_many_counts_a_wa_id_repeated_in_one_batch_once(store: Store) -> None:
    with store() as uow:
        assert uow.contacts.add_many(SOURCE, [person("4915"), person("4915")], NOW) == 1


def test_the_same_wa_id_in_another_source_is_another_contact(store: Store) -> None:
    with store() as uow:
        uow.contacts.add_many("a", [person("4915", "A")], NOW)
        assert uow.contacts.add_many("b", [person("4915", "B")], NOW) == 1
        assert uow.contacts.snapshot("a") == {"4915@c.us": StoredContactState("A", False)}
        assert uow.contacts.snapshot("b") == {"4915@c.us": StoredContactState("B", False)}


def test_new_contacts_keep_every_field_and_aware_times(store: Store) -> None:
    group = NewContact("120363000000000001@g.us", "Team", None, "group")
    (person_id, group_id) = add_contacts(store, person("4915112345678", "Anna"), group)
    with store() as uow:
        anna = uow.contacts.get(person_id)
        team = uow.contacts.get(group_id)
    assert anna is not None
    assert team is not None
    assert (anna.source, anna.wa_id, anna.name, anna.phone, anna.kind) == (
        SOURCE,
        "4915112345678@c.us",
        "Anna",
        "+4915112345678",
        "person",
    )
    assert (team.kind, team.phone) == ("group", None)
    assert anna.created_at == NOW
    assert anna.created_at.tzinfo is not None
    assert anna.last_seen_at == NOW
    assert anna.vanished_at is None
    assert anna.user_ids == ()


@pytest.mark.parametrize(
    "name",
    [
        "Zoë 👩‍👩‍👧‍👦 🇩🇪",
        "שלום עולם \u200f(RTL)",
        "مرحبا بالعالم",
        "x" * 2000 + "✓",
        "  spaces kept  ",
        "e\u0301 combining, not normalised",
    ],
)
def test_names_come_back_byte_for_byte(store: Store, name: str) -> None:
    (contact_id,) = add_contacts(store, person("4915", name))
    with store() as uow:
        contact = uow.contacts.get(contact_id)
        assert contact is not None
        assert contact.name == name
        assert uow.contacts.snapshot(SOURCE)["4915@c.us"].name == name


HOSTILE_NAMES = [
    None,
    "",
    'quote " backslash \\ slash /',
    "controls \x01\x1f\x7f tab\t newline\n",
    "Max 👨\u200d👩\u200d👧 \u2028\u2029 محمد 田中",
]


def test_sync_state_is_the_snapshot_as_columns(store: Store) -> None:
    """The sync's read: the same contacts as ``snapshot``, ids and names as parallel
    columns that compare equal to the same lists (and unequal to a changed one)."""
    contacts = [person(f"4915{n}", name) for n, name in enumerate(HOSTILE_NAMES)]
    add_contacts(store, *contacts)
    add_contacts(store, person("4915", "other source"), source="elsewhere")
    with store() as uow:
        uow.contacts.set_vanished(SOURCE, ["49151@c.us", "49153@c.us"], LATER)
        uow.commit()
    with store(read_only=True) as uow:
        snapshot = uow.contacts.snapshot(SOURCE)
        stored = uow.contacts.sync_state(SOURCE)
        empty = uow.contacts.sync_state("nobody")
    assert len(stored.wa_ids) == len(stored.names) == len(contacts)
    assert stored.vanished == {"49151@c.us", "49153@c.us"}
    ids, names = list(stored.wa_ids), list(stored.names)
    assert {
        wa_id: (name, wa_id in stored.vanished) for wa_id, name in zip(ids, names, strict=True)
    } == {wa_id: tuple(state) for wa_id, state in snapshot.items()}
    assert (len(empty.wa_ids), len(empty.names), empty.vanished) == (0, 0, set())
    with store(read_only=True) as uow:  # compared whole before being read item by item
        fresh = uow.contacts.sync_state(SOURCE)
        assert fresh.wa_ids == ids
        assert fresh.names == names
        assert fresh.names != [*names[:-1], "changed"]
        assert fresh.wa_ids != ids[::-1]
        assert list(fresh.names) == names


def test_rename_many_counts_only_names_that_changed(store: Store) -> None:
    add_contacts(store, person("1", "A"), person("2", "B"), person("3", None))
    with store() as uow:
        renames = [("1@c.us", "A2"), ("2@c.us", "B"), ("3@c.us", "C"), ("9@c.us", "nobody")]
        assert uow.contacts.rename_many(SOURCE, renames) == 2
        assert uow.contacts.rename_many(SOURCE, [("1@c.us", None)]) == 1
        uow.commit()
    with store() as uow:
        snapshot = uow.contacts.snapshot(SOURCE)
    assert {wa_id: state.name for wa_id, state in snapshot.items()} == {
        "1@c.us": None,
        "2@c.us": "B",
        "3@c.us": "C",
    }


def test_set_vanished_marks_and_clears(store: Store) -> None:
    (one, _) = add_contacts(store, person("1"), person("2"))
    with store() as uow:
        assert uow.contacts.set_vanished(SOURCE, ["1@c.us", "9@c.us"], LATER) == 1
        uow.commit()
    with store() as uow:
        assert uow.contacts.snapshot(SOURCE) == {
            "1@c.us": StoredContactState(None, True),
            "2@c.us": StoredContactState(None, False),
        }
        contact = uow.contacts.get(one)
        assert contact is not None
        assert contact.vanished_at == LATER
        assert uow.contacts.set_vanished(SOURCE, ["1@c.us", "2@c.us"], None) == 1
        assert uow.contacts.set_vanished(SOURCE, ["1@c.us"], None) == 0
        assert not any(state.vanished for state in uow.contacts.snapshot(SOURCE).values())


def test_set_vanished_handles_more_keys_than_one_statement_takes(store: Store) -> None:
    many = [person(str(1000 + n)) for n in range(2500)]
    add_contacts(store, *many[:3])
    with store() as uow:
        uow.contacts.add_many(SOURCE, many, NOW)
        assert uow.contacts.set_vanished(SOURCE, [c.wa_id for c in many], LATER) == 2500
        assert sum(state.vanished for state in uow.contacts.snapshot(SOURCE).values()) == 2500


def test_touch_notes_activity_and_brings_a_vanished_contact_back(store: Store) -> None:
    (contact_id,) = add_contacts(store, person("1"))
    with store() as uow:
        uow.contacts.set_vanished(SOURCE, ["1@c.us"], NOW)
        uow.contacts.touch(SOURCE, "1@c.us", LATER)
        uow.contacts.touch(SOURCE, "404@c.us", LATER)  # unknown: nothing happens
        uow.commit()
    with store() as uow:
        contact = uow.contacts.get(contact_id)
        assert contact is not None
        assert (contact.last_seen_at, contact.vanished_at) == (LATER, None)
        assert len(uow.contacts.snapshot(SOURCE)) == 1


def test_seen_creates_a_contact_once_then_notes_its_activity(store: Store) -> None:
    with store() as uow:
        assert uow.contacts.seen(SOURCE, person("1", "Ann"), NOW) is True
        assert uow.contacts.seen(SOURCE, person("1", "Other name"), NOW) is False  # same time
        uow.contacts.set_vanished(SOURCE, ["1@c.us"], NOW)
        uow.commit()
    with store() as uow:
        assert uow.contacts.seen(SOURCE, person("1", "Other name"), LATER) is False
        assert uow.contacts.seen("instance999", person("1"), LATER) is True
        uow.commit()
    with store() as uow:
        contact = uow.contacts.find(SOURCE, wa_id="1@c.us")
        assert contact is not None
        assert (contact.name, contact.phone, contact.kind) == ("Ann", "+1", "person")
        assert (contact.created_at, contact.last_seen_at, contact.vanished_at) == (NOW, LATER, None)
        assert len(uow.contacts.snapshot(SOURCE)) == 1


# -- contacts: reads ---------------------------------------------------------------------


def test_get_and_find(store: Store) -> None:
    (anna_id,) = add_contacts(store, person("4915112345678", "Anna"))
    add_contacts(store, person("4915112345678", "Other"), source="other-instance")
    with store() as uow:
        assert uow.contacts.get(anna_id + 1000) is None
        by_wa_id = uow.contacts.find(SOURCE, wa_id="4915112345678@c.us")
        by_phone = uow.contacts.find(None, phone="+4915112345678")
        assert by_wa_id is not None
        assert by_wa_id.id == anna_id
        assert by_phone is not None
        assert by_phone.id == anna_id
        other = uow.contacts.find("other-instance", phone="+4915112345678")
        assert other is not None
        assert other.name == "Other"
        assert uow.contacts.find(SOURCE, wa_id="1@c.us") is None
        assert uow.contacts.find(None) is None


def test_contact_page_walks_every_contact_once_newest_first(store: Store) -> None:
    ids = add_contacts(store, *(person(str(100 + n)) for n in range(23)))
    for limit in (1, 5, 23, 200):
        seen: list[int] = []
        before_id: int | None = None
        while True:
            with store() as uow:
                page = uow.contacts.page(search=None, limit=limit, before_id=before_id)
            seen.extend(contact.id for contact in page.items)
            assert len(page.items) <= limit
            if page.next_before_id is None:
                break
            before_id = page.next_before_id
        assert seen == sorted(ids, reverse=True)


def test_contact_page_search_is_a_case_insensitive_substring_of_name_phone_or_wa_id(
    store: Store,
) -> None:
    add_contacts(
        store,
        person("4915111", "Anna Schmidt"),
        person("4915222", "ÄRZTE Notdienst"),
        person("4477333", "Bob"),
    )

    def names(search: str) -> set[str | None]:
        with store() as uow:
            page = uow.contacts.page(search=search, limit=50, before_id=None)
        return {contact.name for contact in page.items}

    assert names("schMIDT") == {"Anna Schmidt"}
    assert names("ärzte") == {"ÄRZTE Notdienst"}
    assert names("+4915") == {"Anna Schmidt", "ÄRZTE Notdienst"}
    assert names("77333@c.us") == {"Bob"}
    assert names("nobody") == set()


def test_search_takes_percent_and_underscore_literally(store: Store) -> None:
    add_contacts(
        store,
        person("1", "100% sure"),
        person("2", "100 sure"),
        person("3", "a_b"),
        person("4", "axb"),
        person("5", "back\\slash"),
    )

    def names(search: str) -> set[str | None]:
        with store() as uow:
            return {
                c.name for c in uow.contacts.page(search=search, limit=50, before_id=None).items
            }

    assert names("0%") == {"100% sure"}
    assert names("%") == {"100% sure"}
    assert names("a_b") == {"a_b"}
    assert names("_") == {"a_b"}
    assert names("k\\s") == {"back\\slash"}


def test_contact_page_filters_on_vanished(store: Store) -> None:
    add_contacts(store, person("1", "here"), person("2", "gone"))
    with store() as uow:
        uow.contacts.set_vanished(SOURCE, ["2@c.us"], NOW)
        uow.commit()
    with store() as uow:
        gone = uow.contacts.page(search=None, limit=10, before_id=None, vanished=True)
        here = uow.contacts.page(search=None, limit=10, before_id=None, vanished=False)
        both = uow.contacts.page(search=None, limit=10, before_id=None)
    assert [c.name for c in gone.items] == ["gone"]
    assert [c.name for c in here.items] == ["here"]
    assert len(both.items) == 2


def test_contacts_carry_their_linked_user_ids(store: Store) -> None:
    (linked, lonely) = add_contacts(store, person("1"), person("2"))
    maria, tom = add_user(store, "maria"), add_user(store, "tom")
    with store() as uow:
        uow.links.add(linked, tom.id, None, NOW)
        uow.links.add(linked, maria.id, None, NOW)
        uow.commit()
    with store() as uow:
        page = uow.contacts.page(search=None, limit=10, before_id=None)
        by_id = {c.id: c.user_ids for c in page.items}
        got = uow.contacts.get(linked)
    assert by_id == {linked: tuple(sorted((maria.id, tom.id))), lonely: ()}
    assert got is not None
    assert got.user_ids == tuple(sorted((maria.id, tom.id)))


class ContactModel:
    """What the contacts of one source should be after a sequence of writes."""

    def __init__(self) -> None:
        self.names: dict[str, str | None] = {}
        self.vanished: set[str] = set()


wa_ids = st.sampled_from([f"{n}@c.us" for n in range(1, 9)])
names = st.none() | st.sampled_from(["Anna", "anna", "Zoë 👩‍👧", "שלום", ""])
operations = st.lists(
    st.one_of(
        # a batch of new contacts has each wa_id once (the sync dedupes before it writes)
        st.tuples(
            st.just("add"),
            st.dictionaries(wa_ids, names, max_size=5).map(lambda d: list(d.items())),
        ),
        st.tuples(st.just("rename"), st.lists(st.tuples(wa_ids, names), max_size=5)),
        st.tuples(st.just("vanish"), st.lists(wa_ids, max_size=5)),
        st.tuples(st.just("return"), st.lists(wa_ids, max_size=5)),
    ),
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
def test_any_sequence_of_bulk_writes_matches_a_model(store: Store, steps: list) -> None:  # type: ignore[type-arg]
    source = f"s-{uuid.uuid4().hex}"  # a fresh source per example: the store is shared
    model = ContactModel()
    with store() as uow:
        for kind, args in steps:
            if kind == "add":
                fresh = {wa_id for wa_id, _ in args} - set(model.names)
                new = [NewContact(wa_id, name, None, "person") for wa_id, name in args]
                assert uow.contacts.add_many(source, new, NOW) == len(fresh)
                for wa_id, name in args:
                    model.names.setdefault(wa_id, name)
            elif kind == "rename":
                final = dict(args)
                changed = {w for w, n in final.items() if w in model.names and model.names[w] != n}
                assert uow.contacts.rename_many(source, list(final.items())) == len(changed)
                model.names.update({w: n for w, n in final.items() if w in model.names})
            else:
                known = set(args) & set(model.names)
                at = LATER if kind == "vanish" else None
                expected = known - model.vanished if at else known & model.vanished
                assert uow.contacts.set_vanished(source, args, at) == len(expected)
                model.vanished = model.vanished | known if at else model.vanished - known
        uow.commit()
    with store() as uow:
        assert uow.contacts.snapshot(source) == {
            wa_id: StoredContactState(name, wa_id in model.vanished)
            for wa_id, name in model.names.items()
        }


# -- conversations -------------------------------------------------------------------------


def test_add_missing_gives_each_contact_one_conversation(store: Store) -> None:
    add_contacts(store, person("1"), person("2"))
    add_contacts(store, person("3"), source="other-instance")
    with store() as uow:
        assert uow.conversations.count_missing(SOURCE) == 2
        assert uow.conversations.add_missing(SOURCE, NOW) == 2
        assert uow.conversations.add_missing(SOURCE, NOW) == 0
        assert uow.conversations.count_missing(SOURCE) == 0
        assert uow.conversations.count_missing("other-instance") == 1
        uow.commit()
    add_contacts(store, person("4"))
    with store() as uow:
        assert uow.conversations.count_missing(SOURCE) == 1
        assert uow.conversations.add_missing(SOURCE, NOW) == 1


def test_add_for_gives_only_the_named_contacts_a_conversation(store: Store) -> None:
    add_contacts(store, person("1"), person("2"), person("3"))
    with store() as uow:
        assert uow.conversations.add_for(SOURCE, ["1@c.us", "2@c.us", "404@c.us"], NOW) == 2
        assert uow.conversations.add_for(SOURCE, ["1@c.us"], NOW) == 0
        assert uow.conversations.count_missing(SOURCE) == 1


def test_add_for_of_one_contact_and_lock_for_find_its_conversation(store: Store) -> None:
    add_contacts(store, person("1"), person("2"))
    add_contacts(store, person("1"), source="instance999")
    with store() as uow:
        assert uow.conversations.lock_for(SOURCE, "1@c.us") is None  # no conversation yet
        assert uow.conversations.add_for(SOURCE, ["1@c.us"], NOW) == 1
        assert uow.conversations.add_for(SOURCE, ["1@c.us"], NOW) == 0
        assert uow.conversations.add_for(SOURCE, ["404@c.us"], NOW) == 0
        locked = uow.conversations.lock_for(SOURCE, "1@c.us")
        assert locked is not None
        assert (locked.contact.wa_id, locked.source) == ("1@c.us", "whatsapp")
        assert locked.id == uow.conversations.id_for(SOURCE, "1@c.us")
        assert uow.conversations.lock_for("instance999", "1@c.us") is None
        assert uow.conversations.lock_for(SOURCE, "2@c.us") is None
        uow.commit()


def test_conversations_show_their_contact(store: Store) -> None:
    (conversation_id,) = with_conversations(store, person("4915112345678", "Anna"))
    admin = add_user(store, "boss", "admin")
    with store() as uow:
        conversation = uow.conversations.get(admin, conversation_id)
    assert conversation is not None
    assert (conversation.contact.wa_id, conversation.contact.name) == ("4915112345678@c.us", "Anna")
    assert conversation.contact.phone == "+4915112345678"
    assert (conversation.status, conversation.source) == ("active", "whatsapp")
    assert conversation.assigned_user_id is None
    assert conversation.created_at == NOW


def test_a_user_sees_exactly_the_conversations_of_contacts_linked_to_them(store: Store) -> None:
    ids = with_conversations(store, person("1", "one"), person("2", "two"), person("3", "three"))
    admin, maria, tom = (
        add_user(store, "boss", "admin"),
        add_user(store, "maria"),
        add_user(store, "tom"),
    )
    with store() as uow:
        one = uow.contacts.find(SOURCE, wa_id="1@c.us")
        three = uow.contacts.find(SOURCE, wa_id="3@c.us")
        assert one is not None
        assert three is not None
        uow.links.add(one.id, maria.id, admin.id, NOW)
        uow.links.add(three.id, maria.id, admin.id, NOW)
        uow.links.add(three.id, tom.id, admin.id, NOW)
        uow.commit()

    def visible(viewer: User) -> list[str | None]:
        with store() as uow:
            page = uow.conversations.page(viewer, limit=50, before=None)
        return [c.contact.name for c in page.items]

    assert visible(admin) == ["three", "two", "one"]
    assert visible(maria) == ["three", "one"]
    assert visible(tom) == ["three"]
    assert visible(add_user(store, "nobody")) == []
    inactive_maria = User(id=maria.id, username="maria", role=Role.USER, active=False)
    inactive_admin = User(id=admin.id, username="boss", role=Role.ADMIN, active=False)
    assert visible(inactive_maria) == []
    assert visible(inactive_admin) == []
    with store() as uow:
        two_id = ids[1]
        assert uow.conversations.get(maria, two_id) is None  # exists, but not hers
        assert uow.conversations.get(maria, ids[-1] + 1000) is None  # absent: the same answer
        assert uow.conversations.get(tom, ids[2]) is not None
        assert uow.conversations.get(inactive_maria, ids[0]) is None


def test_conversation_pages_have_no_gaps_or_repeats(store: Store) -> None:
    ids = with_conversations(store, *(person(str(500 + n)) for n in range(17)))
    maria = add_user(store, "maria")
    with store() as uow:
        for n in range(0, 17, 2):
            contact = uow.contacts.find(SOURCE, wa_id=f"{500 + n}@c.us")
            assert contact is not None
            uow.links.add(contact.id, maria.id, None, NOW)
        uow.commit()
    admin = User(id=0, username="system", role=Role.ADMIN)
    for viewer, expected in ((admin, 17), (maria, 9)):
        seen: list[int] = []
        before: ActivityKey | None = None
        while True:
            with store() as uow:
                page = uow.conversations.page(viewer, limit=4, before=before)
            seen.extend(c.id for c in page.items)
            if page.next_before_id is None:
                break
            before = page.items[-1].activity_key
        assert len(seen) == expected == len(set(seen))
        assert seen == sorted(seen, reverse=True)
        assert set(seen) <= set(ids)


# -- users and tokens ---------------------------------------------------------------------


def test_users_are_unique_by_username(store: Store) -> None:
    maria = add_user(store, "maria")
    with store() as uow, pytest.raises(AlreadyExists, match="maria"):
        uow.users.add("maria", "admin", None, NOW)
    with store() as uow:
        assert uow.users.by_username("maria") == maria
        assert uow.users.get(maria.id) == maria
        assert uow.users.by_username("Maria") == maria  # in any case (hardening round)
        assert uow.users.by_username("maria2") is None
        assert uow.users.get(maria.id + 1000) is None
    assert (maria.role, maria.active, maria.created_at) == (Role.USER, True, NOW)


def test_users_list_by_id_and_keep_password_hashes(store: Store) -> None:
    with store() as uow:
        tom = uow.users.add("tom", "admin", "$argon2id$hash-1", NOW)
        ann = uow.users.add("ann", "user", None, NOW)
        uow.commit()
    with store() as uow:
        assert [u.username for u in uow.users.list()] == ["tom", "ann"]
        assert uow.users.password_hash(tom.id) == "$argon2id$hash-1"
        assert uow.users.password_hash(ann.id) is None
        uow.users.set_password_hash(ann.id, "$argon2id$hash-2")
        uow.commit()
    with store() as uow:
        assert uow.users.password_hash(ann.id) == "$argon2id$hash-2"


def test_tokens_find_their_user_until_revoked(store: Store) -> None:
    maria = add_user(store, "maria")
    with store() as uow:
        token = uow.tokens.add(maria.id, "hash-1", "cli", NOW)
        uow.commit()
    assert (token.user_id, token.name, token.created_at, token.revoked_at) == (
        maria.id,
        "cli",
        NOW,
        None,
    )
    with store() as uow:
        assert uow.tokens.user_for("hash-1", LATER) == maria
        assert uow.tokens.user_for("unknown", LATER) is None
        uow.commit()
    with store() as uow:
        (listed,) = uow.tokens.list_for(maria.id)
        assert listed.last_used_at == LATER
        assert uow.tokens.revoke(token.id, LATER) is True
        assert uow.tokens.revoke(token.id, LATER) is False
        uow.commit()
    with store() as uow:
        assert uow.tokens.user_for("hash-1", LATER) is None
        assert uow.tokens.list_for(maria.id)[0].revoked_at == LATER


# -- links ---------------------------------------------------------------------------------


def test_links_are_idempotent_and_audited(store: Store) -> None:
    (contact_id,) = add_contacts(store, person("1"))
    admin, maria = add_user(store, "boss", "admin"), add_user(store, "maria")
    with store() as uow:
        assert uow.links.add(contact_id, maria.id, admin.id, NOW) is True
        assert uow.links.add(contact_id, maria.id, admin.id, NOW) is False
        assert uow.links.user_ids(contact_id) == [maria.id]
        assert uow.links.remove(contact_id, maria.id, None, LATER) is True
        assert uow.links.remove(contact_id, maria.id, None, LATER) is False
        assert uow.links.user_ids(contact_id) == []
        uow.links.add(contact_id, admin.id, admin.id, LATER)
        uow.commit()
    with store() as uow:
        history = [(e.action, e.user_id, e.actor_id, e.at) for e in uow.links.history(contact_id)]
        (link,) = uow.links.list()
    assert history == [
        ("link", maria.id, admin.id, NOW),
        ("unlink", maria.id, None, LATER),
        ("link", admin.id, admin.id, LATER),
    ]
    assert (link.contact_id, link.user_id, link.created_by, link.created_at) == (
        contact_id,
        admin.id,
        admin.id,
        LATER,
    )


def test_links_list_by_contact_then_user(store: Store) -> None:
    (c1, c2) = add_contacts(store, person("1"), person("2"))
    u1, u2 = add_user(store, "u1"), add_user(store, "u2")
    with store() as uow:
        for contact_id, user_id in ((c2, u1.id), (c1, u2.id), (c1, u1.id)):
            uow.links.add(contact_id, user_id, None, NOW)
        uow.commit()
    with store() as uow:
        assert [(x.contact_id, x.user_id) for x in uow.links.list()] == [
            (c1, u1.id),
            (c1, u2.id),
            (c2, u1.id),
        ]


def test_linking_an_unknown_contact_or_user_is_not_found(store: Store) -> None:
    (contact_id,) = add_contacts(store, person("1"))
    maria = add_user(store, "maria")
    with store() as uow, pytest.raises(NotFound):
        uow.links.add(contact_id + 1000, maria.id, None, NOW)
    with store() as uow, pytest.raises(NotFound):
        uow.links.add(contact_id, maria.id + 1000, None, NOW)


# -- sync runs -----------------------------------------------------------------------------


def test_sync_runs_record_reports_and_errors(store: Store) -> None:
    report = SyncReport(SOURCE, 5, 3, 3, 1, 1, 42, dry_run=False)
    with store() as uow:
        assert uow.sync_runs.latest() is None
        first = uow.sync_runs.start(SOURCE, "cli", None, NOW)
        uow.sync_runs.finish(first, LATER, report, None)
        second = uow.sync_runs.start(SOURCE, "api", None, LATER)
        uow.sync_runs.finish(second, LATER, None, "UltraMsg is unreachable")
        uow.commit()
    with store() as uow:
        latest = uow.sync_runs.latest()
        page = uow.sync_runs.page(limit=1, before_id=None)
        rest = uow.sync_runs.page(limit=1, before_id=page.next_before_id)
    assert latest is not None
    assert latest.id == second
    assert (latest.error, latest.report, latest.trigger) == ("UltraMsg is unreachable", None, "api")
    assert [run.id for run in page.items] == [second]
    (older,) = rest.items
    assert (older.id, older.report, older.finished_at, rest.next_before_id) == (
        first,
        report,
        LATER,
        None,
    )


# -- the unit of work ----------------------------------------------------------------------


def test_nothing_is_kept_without_commit(store: Store) -> None:
    with store() as uow:
        uow.contacts.add_many(SOURCE, [person("1")], NOW)
        uow.users.add("maria", "user", None, NOW)
    with store() as uow:
        uow.contacts.add_many(SOURCE, [person("3")], NOW)
        uow.commit()
    with pytest.raises(RuntimeError), store() as uow:  # noqa: PT012
        uow.contacts.add_many(SOURCE, [person("4")], NOW)
        raise RuntimeError("an error on the way out rolls back")
    with store() as uow:
        assert list(uow.contacts.snapshot(SOURCE)) == ["3@c.us"]
        assert uow.users.by_username("maria") is None


def test_a_second_sync_lock_is_refused_until_the_first_ends(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("wa_manager.adapters.sql.unit_of_work.SQLITE_SYNC_LOCK_WAIT_MS", 50)
    with store() as first:
        first.lock_sync(SOURCE)
        with store() as second, pytest.raises(SyncAlreadyRunning, match="already running"):
            second.lock_sync(SOURCE)
        first.commit()
    with store() as third:
        third.lock_sync(SOURCE)  # free again
        third.contacts.add_many(SOURCE, [person("1")], NOW)
        third.commit()
    with store() as uow:
        assert list(uow.contacts.snapshot(SOURCE)) == ["1@c.us"]


def test_a_store_answers_ping(store: Store) -> None:
    store.ping()


# -- teams, team links, bulk links, user changes ------------------------------------------


def test_teams_members_and_team_links_are_idempotent_and_audited(store: Store) -> None:
    (c1, c2) = with_conversations(store, person("1"), person("2"))
    admin, maria = add_user(store, "boss", "admin"), add_user(store, "maria")
    with store() as uow:
        team = uow.teams.add("Support", NOW)
        assert uow.teams.add_member(team.id, maria.id, admin.id, NOW) is True
        assert uow.teams.add_member(team.id, maria.id, admin.id, NOW) is False
        contact_id = uow.conversations.get(admin, c1).contact.id  # type: ignore[union-attr]
        assert uow.links.add_team(contact_id, team.id, admin.id, NOW) is True
        assert uow.links.add_team(contact_id, team.id, admin.id, NOW) is False
        uow.commit()
    with store() as uow:
        assert [c.id for c in uow.conversations.page(maria, limit=10, before=None).items] == [c1]
        assert uow.conversations.get(maria, c2) is None
        assert uow.contacts.get(contact_id).team_ids == (team.id,)  # type: ignore[union-attr]
        assert uow.teams.by_name("Support") == uow.teams.get(team.id)
        assert uow.teams.get(team.id).user_ids == (maria.id,)  # type: ignore[union-attr]
        assert uow.teams.remove_member(team.id, maria.id, None, LATER) is True
        uow.commit()
    with store() as uow:
        assert uow.conversations.get(maria, c1) is None
        events = [(e.action, e.user_id, e.actor_id) for e in uow.teams.history(team.id)]
        assert events == [("join", maria.id, admin.id), ("leave", maria.id, None)]
        (link,) = uow.links.history(contact_id)
        assert (link.action, link.user_id, link.team_id) == ("link", None, team.id)
    with pytest.raises(AlreadyExists), store() as uow:
        uow.teams.add("Support", NOW)


def test_bulk_changes_count_and_audit_only_what_changed(store: Store) -> None:
    ids = add_contacts(store, person("1", "Anna"), person("2", "Bert"), person("3", "Anton"))
    maria, tom = add_user(store, "maria"), add_user(store, "tom")
    with store() as uow:
        team = uow.teams.add("Support", NOW)
        uow.links.add(ids[0], maria.id, None, NOW)
        uow.commit()
    by_name = ContactSelection(search="an")  # Anna and Anton, case-insensitive
    add = BulkLinkChange(add_user_ids=(maria.id, tom.id), add_team_ids=(team.id,))
    with store() as uow:
        assert uow.links.count_selected(by_name) == 2
        assert uow.links.bulk_change(by_name, add, None, LATER) == 5
        assert uow.links.bulk_change(by_name, add, None, LATER) == 0
        uow.commit()
    with store() as uow:
        assert uow.contacts.get(ids[2]).user_ids == (maria.id, tom.id)  # type: ignore[union-attr]
        assert uow.contacts.get(ids[1]).user_ids == ()  # type: ignore[union-attr]
        remove = BulkLinkChange(remove_user_ids=(maria.id,), remove_team_ids=(team.id,))
        chosen = ContactSelection(contact_ids=(ids[0], ids[1]))
        assert uow.links.bulk_change(chosen, remove, None, LATER) == 2
        uow.commit()
    with store() as uow:
        history = [(e.action, e.user_id, e.team_id) for e in uow.links.history(ids[0])]
        assert sorted(history, key=str) == sorted(
            [
                ("link", maria.id, None),
                ("link", tom.id, None),
                ("link", None, team.id),
                ("unlink", maria.id, None),
                ("unlink", None, team.id),
            ],
            key=str,
        )
        assert uow.contacts.get(ids[0]).user_ids == (tom.id,)  # type: ignore[union-attr]


def test_user_updates_and_the_enabled_admins(store: Store) -> None:
    boss, maria = add_user(store, "boss", "admin"), add_user(store, "maria")
    with store() as uow:
        assert uow.users.lock_enabled_admins() == [boss.id]
        changed = uow.users.update(maria.id, role="admin", active=None)
        assert changed is not None
        assert changed.is_admin
        assert changed.active
        assert uow.users.update(boss.id, role=None, active=False).disabled  # type: ignore[union-attr]
        assert uow.users.update(10**6, role="user", active=None) is None
        uow.commit()
    with store() as uow:
        assert uow.users.lock_enabled_admins() == [maria.id]
