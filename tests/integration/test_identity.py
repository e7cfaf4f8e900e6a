"""Duplicate suggestions and merges, held against every store (memory, SQLite, PostgreSQL).

- the suggestions the database computes are exactly ``domain.identity.duplicate_pairs``
  of the stored contacts (hypothesis), one source at a time, never a merged contact;
- a merge keeps the union of links and team links and the multiset of messages
  (hypothesis), folds the two conversations (earlier ``created_at``, the more active
  status, the survivor's assignee else the merged one's), records ``merge`` in the
  survivor's history, and the merged id then answers not found;
- a merge is refused for the same contact twice, across sources, for an absent one;
- the merged chat id is an alias: later syncs and webhooks land on the survivor and
  never create a contact again; the survivor stays present while its alias is;
- a failure midway (a trigger refusing the last statement) leaves both as they were.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from tests.identity_support import (
    BASE_TIME,
    SOURCE,
    by_wa_id,
    contacts,
    conversation_of,
    messages_of,
    post,
)

from wa_manager.adapters.sql import SqlStore
from wa_manager.bootstrap import App
from wa_manager.domain.errors import InvalidInput, NotFound, StorageError
from wa_manager.domain.identity import duplicate_pairs
from wa_manager.domain.model import CLI, Contact, DuplicateReason, NewContact, RawChat, User
from wa_manager.domain.ports import Store
from wa_manager.testing import StaticChats, memory_app

NOW = datetime(2024, 11, 24, 12, 0, tzinfo=UTC)
SLOW_STORE = settings(
    max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)

LID = "140000000000001@lid"
PERSON = "4915112345678@c.us"
BR_LONG = "5511987654321@c.us"
BR_SHORT = "551187654321@c.us"


def _empty(store: Store) -> None:
    """Delete every contact (for hypothesis examples sharing one store)."""
    if isinstance(store, SqlStore):
        with store() as uow:
            connection = uow.connection
            for table in ("contact_aliases", "messages", "conversations", "contact_links"):
                connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (our names)
            connection.execute(text("DELETE FROM contacts"))
            uow.commit()
    else:
        from wa_manager.adapters.memory import _Tables

        store.published = _Tables()  # type: ignore[attr-defined]


# -- suggestions ------------------------------------------------------------------------

digits = st.sampled_from(["5511987654321", "551187654321", "4915112345678", "5521912345678"])
wa_ids = st.one_of(
    digits.map(lambda d: f"{d}@c.us"),
    st.sampled_from(["1400001@lid", "1400002@lid", "1400003@lid"]),
    st.sampled_from(["120363041234567890@g.us"]),
)
new_contacts = st.builds(
    NewContact,
    wa_ids,
    st.sampled_from([None, "", "Ana", "Bob"]),
    st.one_of(st.none(), digits.map(lambda d: f"+{d}")),
    st.just("person"),
)


@given(rows=st.lists(st.tuples(st.sampled_from([SOURCE, "instance2"]), new_contacts), max_size=10))
@SLOW_STORE
def test_the_suggestions_are_the_rule_applied_to_the_stored_contacts(
    store: Store, rows: list[tuple[str, NewContact]]
) -> None:
    _empty(store)
    with store() as uow:
        for source, row in rows:
            uow.contacts.add_many(source, [row], NOW)
        uow.commit()
    app = memory_app(store=store)
    everyone = contacts(app)
    expected = duplicate_pairs(everyone)
    with store(read_only=True) as uow:
        assert uow.identities.duplicates() == expected
    source_of = {contact.id: contact.source for contact in everyone}
    for pair in expected:  # never across sources
        assert source_of[pair.first_id] == source_of[pair.second_id]


def test_each_reason_is_found_and_a_merged_pair_is_no_longer_suggested(store: Store) -> None:
    with store() as uow:
        uow.contacts.add_many(
            SOURCE,
            [
                NewContact(BR_LONG, "Ana", "+5511987654321", "person"),
                NewContact(BR_SHORT, "Ana B", "+551187654321", "person"),
                NewContact(PERSON, "Bob", "+4915112345678", "person"),
                NewContact(LID, "Bob", None, "person"),
                NewContact("1400009@lid", "Zed", "+4915112345678", "person"),
                NewContact("1400010@lid", "", None, "person"),
                NewContact("4915100000000@c.us", "", "+4915100000000", "person"),
            ],
            NOW,
        )
        uow.commit()
    app = memory_app(store=store)
    ids = {c.wa_id: c.id for c in contacts(app)}
    found = {
        (d.pair.first_id, d.pair.second_id): d.pair.reason for d in app.identities.duplicates(CLI)
    }
    assert found == {
        (ids[BR_LONG], ids[BR_SHORT]): DuplicateReason.BRAZIL_NINTH_DIGIT,
        (ids[PERSON], ids[LID]): DuplicateReason.SAME_NAME_LID,
        (ids[PERSON], ids["1400009@lid"]): DuplicateReason.SAME_PHONE,
    }
    app.identities.merge(CLI, ids[LID], ids[PERSON])
    remaining = {(d.pair.first_id, d.pair.second_id) for d in app.identities.duplicates(CLI)}
    assert remaining == {(ids[BR_LONG], ids[BR_SHORT]), (ids[PERSON], ids["1400009@lid"])}


# -- merging ----------------------------------------------------------------------------

CHATS = [{"id": wa_id, "name": name} for wa_id, name in ((PERSON, "Bob"), (LID, "Bob"))]


@given(
    links=st.lists(st.tuples(st.booleans(), st.integers(0, 2)), max_size=6),
    team_links=st.lists(st.tuples(st.booleans(), st.integers(0, 1)), max_size=4),
    messages=st.lists(st.tuples(st.booleans(), st.integers(0, 5)), max_size=8),
    keep_person=st.booleans(),
)
@SLOW_STORE
def test_a_merge_keeps_the_union_of_links_and_the_multiset_of_messages(
    store: Store,
    links: list[tuple[bool, int]],
    team_links: list[tuple[bool, int]],
    messages: list[tuple[bool, int]],
    keep_person: bool,
) -> None:
    _empty(store)
    app = memory_app(CHATS, store=store)
    app.sync()
    people = [app.accounts.user(CLI, u.username) for u in _users(app, 3)]
    teams = [_team(app, f"t{n}") for n in range(2)]
    ids = {c.wa_id: c.id for c in contacts(app)}
    for on_person, who in links:
        app.contacts.link(CLI, str(ids[PERSON if on_person else LID]), people[who].username)
    for on_person, which in team_links:
        app.contacts.link_team(CLI, str(ids[PERSON if on_person else LID]), teams[which])
    for number, (on_person, second) in enumerate(messages):
        post(app, PERSON if on_person else LID, f"m{number}", BASE_TIME + second)
    before = {wa_id: app.contacts.get(CLI, cid) for wa_id, cid in ids.items()}
    all_messages = messages_of(app, ids[PERSON]) + messages_of(app, ids[LID])
    survivor_wa_id, merged_wa_id = (PERSON, LID) if keep_person else (LID, PERSON)

    survivor = app.identities.merge(CLI, ids[merged_wa_id], ids[survivor_wa_id])

    assert survivor.id == ids[survivor_wa_id]
    assert set(survivor.user_ids) == set(before[PERSON].user_ids) | set(before[LID].user_ids)
    assert set(survivor.team_ids) == set(before[PERSON].team_ids) | set(before[LID].team_ids)
    assert messages_of(app, survivor.id) == all_messages
    assert [c.id for c in contacts(app)] == [survivor.id]
    with pytest.raises(NotFound):
        app.contacts.get(CLI, ids[merged_wa_id])
    history = app.contacts.link_history(CLI, survivor.id)
    assert history[-1].action == "merge"
    assert history[-1].merged_contact_id == ids[merged_wa_id]
    for person in people:  # whoever could see either sees the survivor
        could = person.id in before[PERSON].user_ids or person.id in before[LID].user_ids
        sees = [c.contact.id for c in app.conversations.all(person)]
        assert (survivor.id in sees) == (could or _in_linked_team(app, person.id, survivor))
    # the thread reads oldest to newest by the messages' own time, whichever chat
    conversation_id = conversation_of(app, survivor.id)
    assert conversation_id is not None
    thread = app.messages(CLI, conversation_id, limit=200).items
    assert [m.created_at for m in thread] == sorted((m.created_at for m in thread), reverse=True)


def _users(app: App, how_many: int) -> list[User]:
    """Users u0, u1, ... (made once per store)."""
    existing = {user.username for user in app.accounts.users(CLI)}
    for number in range(how_many):
        if f"u{number}" not in existing:
            app.add_user(f"u{number}", "user")
    return [user for user in app.accounts.users(CLI) if user.username.startswith("u")]


def _team(app: App, name: str) -> str:
    """A team called ``name`` (made once per store)."""
    if name not in {team.name for team in app.teams.list(CLI)}:
        app.teams.add(CLI, name)
    return name


def _in_linked_team(app: App, user_id: int, contact: Contact) -> bool:
    """Whether ``user_id`` is a member of a team linked to ``contact``."""
    return any(
        user_id in team.user_ids for team in app.teams.list(CLI) if team.id in contact.team_ids
    )


def test_the_conversations_fold_into_one(store: Store) -> None:
    app = memory_app(CHATS, store=store)
    app.sync()
    maria = app.add_user("maria", "user")
    ids = {c.wa_id: c.id for c in contacts(app)}
    app.link(str(ids[LID]), "maria")
    post(app, PERSON, "early", BASE_TIME)
    post(app, LID, "late", BASE_TIME + 60)
    person_conv, lid_conv = conversation_of(app, ids[PERSON]), conversation_of(app, ids[LID])
    assert person_conv is not None
    assert lid_conv is not None
    app.conversations.set_status(CLI, person_conv, "resolved")
    app.conversations.set_status(CLI, lid_conv, "pending")
    app.conversations.assign(CLI, lid_conv, maria.id)
    created = {c.id: c.created_at for c in app.conversations.all(CLI) if c.created_at}

    app.identities.merge(CLI, ids[LID], ids[PERSON])

    (only,) = app.conversations.all(CLI)
    assert only.id == person_conv
    assert only.status == "pending"  # pending beats resolved
    assert only.assigned_user_id == maria.id  # the survivor had nobody: the merged one's
    assert only.created_at == min(created.values())
    assert only.last_message is not None
    assert only.last_message.body == "hi"
    assert only.last_message_at == datetime.fromtimestamp(BASE_TIME + 60, UTC)
    trail = app.conversations.events(CLI, person_conv).items
    assert [event.type for event in trail][-2:] == ["status", "assigned"]


@pytest.mark.parametrize("target", ["self", "other source", "absent"])
def test_a_merge_is_refused_for_itself_across_sources_and_for_an_absent_contact(
    store: Store, target: str
) -> None:
    with store() as uow:
        uow.contacts.add_many(SOURCE, [NewContact(PERSON, "Bob", None, "person")], NOW)
        uow.contacts.add_many("instance2", [NewContact(LID, "Bob", None, "person")], NOW)
        uow.commit()
    app = memory_app(store=store)
    ids = {(c.source, c.wa_id): c.id for c in contacts(app)}
    mine, theirs = ids[SOURCE, PERSON], ids["instance2", LID]
    into = {"self": mine, "other source": theirs, "absent": 999_999}[target]
    expected = NotFound if target == "absent" else InvalidInput
    with pytest.raises(expected) as refused:
        app.identities.merge(CLI, mine, into)
    assert ("different WhatsApp numbers" in str(refused.value)) == (target == "other source")
    assert ("into itself" in str(refused.value)) == (target == "self")
    assert sorted(ids.values()) == [c.id for c in contacts(app)]


# -- the alias ----------------------------------------------------------------------------


def test_the_merged_chat_id_lands_on_the_survivor_in_syncs_and_webhooks(store: Store) -> None:
    chats = StaticChats(CHATS)
    app = memory_app(chats, store=store)
    app.sync()
    ids = {c.wa_id: c.id for c in contacts(app)}
    app.identities.merge(CLI, ids[LID], ids[PERSON])

    report = app.sync()  # the alias is still in the chat list
    assert (report.created_contacts, report.updated_contacts) == (0, 0)
    assert list(by_wa_id(app)) == [PERSON]

    result = post(app, LID, "after-merge")
    assert result.outcome == "touched"
    assert messages_of(app, ids[PERSON]) == Counter({("after-merge", "hi"): 1})
    assert list(by_wa_id(app)) == [PERSON]

    chats.chats = [RawChat(LID, "Robert")]  # only the alias, renamed: the survivor stays, unrenamed
    report = app.sync()
    assert (report.created_contacts, report.updated_contacts) == (0, 0)
    (survivor,) = contacts(app)
    assert (survivor.wa_id, survivor.name, survivor.vanished_at) == (PERSON, "Bob", None)
    assert app.sync(dry_run=True).updated_contacts == 0  # the alias remembers its name

    chats.chats = []  # every chat id of it gone: it vanishes; the alias back: it returns
    app.sync()
    assert contacts(app)[0].vanished_at is not None
    chats.chats = [RawChat(LID, "Robert")]
    app.sync()
    assert contacts(app)[0].vanished_at is None


def test_a_chain_of_merges_keeps_every_alias_on_the_last_survivor(store: Store) -> None:
    third = "4915199999999@c.us"
    app = memory_app([*CHATS, {"id": third, "name": "B."}], store=store)
    app.sync()
    ids = {c.wa_id: c.id for c in contacts(app)}
    app.identities.merge(CLI, ids[LID], ids[PERSON])
    app.identities.merge(CLI, ids[PERSON], ids[third])
    assert app.sync().created_contacts == 0
    post(app, LID, "to-the-last")
    assert list(by_wa_id(app)) == [third]
    assert ("to-the-last", "hi") in messages_of(app, ids[third])


# -- all or nothing -----------------------------------------------------------------------

_REFUSE_DELETE = {
    "sqlite": [
        "CREATE TRIGGER refuse_contact_delete BEFORE DELETE ON contacts "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_contact_delete() RETURNS trigger AS "
        "$$ BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_contact_delete BEFORE DELETE ON contacts "
        "FOR EACH ROW EXECUTE FUNCTION refuse_contact_delete()",
    ],
}


def _state(store: SqlStore) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table a merge touches."""
    with store(read_only=True) as uow:
        connection = uow.connection
        every_row = "SELECT * FROM {} ORDER BY 1, 2"
        return {
            table: [tuple(row) for row in connection.execute(text(every_row.format(table)))]
            for table in (
                "contacts", "conversations", "messages", "contact_links", "contact_teams",
                "link_events", "conversation_events", "contact_aliases",
            )
        }  # fmt: skip


def test_a_failure_midway_leaves_both_contacts_as_they_were(sql_store: SqlStore) -> None:
    app = memory_app(CHATS, store=sql_store)
    app.sync()
    app.add_user("maria", "user")
    app.teams.add(CLI, "support")
    ids = {c.wa_id: c.id for c in contacts(app)}
    app.link(str(ids[LID]), "maria")
    app.contacts.link_team(CLI, str(ids[LID]), "support")
    post(app, PERSON, "one")
    post(app, LID, "two", BASE_TIME + 1)
    lid_conv = conversation_of(app, ids[LID])
    assert lid_conv is not None
    app.conversations.set_status(CLI, lid_conv, "resolved")
    before = _state(sql_store)
    url = sql_store.url
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in _REFUSE_DELETE[engine.dialect.name]:
                connection.execute(text(statement))
        with pytest.raises(StorageError, match="injected fault"):
            app.identities.merge(CLI, ids[LID], ids[PERSON])
        assert _state(sql_store) == before
    finally:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "DROP TRIGGER refuse_contact_delete"
                    + (" ON contacts" if engine.dialect.name == "postgresql" else "")
                )
            )
            if engine.dialect.name == "postgresql":
                connection.execute(text("DROP FUNCTION refuse_contact_delete()"))
        engine.dispose()
    app.identities.merge(CLI, ids[LID], ids[PERSON])  # without the fault it goes through
    assert [c.wa_id for c in contacts(app)] == [PERSON]


def test_one_number_in_both_forms_in_two_sources_makes_one_pair_in_each(store: Store) -> None:
    for source in (SOURCE, "instance2"):
        with store() as uow:
            uow.contacts.add_many(
                source,
                [
                    NewContact(BR_LONG, "Ana", "+5511987654321", "person"),
                    NewContact(BR_SHORT, "Ana", "+551187654321", "person"),
                ],
                NOW,
            )
            uow.commit()
    app = memory_app(store=store)
    by_key = {(c.source, c.wa_id): c.id for c in contacts(app)}
    with store(read_only=True) as uow:
        found = {(p.first_id, p.second_id) for p in uow.identities.duplicates()}
    assert found == {
        (by_key[source, BR_LONG], by_key[source, BR_SHORT]) for source in (SOURCE, "instance2")
    }
