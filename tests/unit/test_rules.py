"""The pure rules: chat id classification, phone numbers, the sync plan, who may do what."""

from __future__ import annotations

from collections import Counter

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.strategies import (
    chat_ids,
    chat_lists,
    conversation_ids,
    international_digits,
    labelled_chat_ids,
    quick_chat_ids,
    quick_chat_names,
    quick_conversation_ids,
)
from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import (
    ChatKind,
    NewContact,
    RawChat,
    Role,
    StoredContacts,
    StoredContactState,
    User,
)
from wa_manager.domain.rules import (
    SyncPlan,
    classify_chat_id,
    may_see_contact,
    normalize_phone_query,
    phone_for_chat,
    phone_from_digits,
    plan_sync,
    validate_username,
)

# -- chat ids -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wa_id", "kind"),
    [
        ("4915112345678@c.us", ChatKind.PERSON),
        ("140000000000001@lid", ChatKind.LID),
        ("120363041234567890@g.us", ChatKind.GROUP),
        ("4915198765432-1600000000@g.us", ChatKind.GROUP),
        ("status@broadcast", ChatKind.BROADCAST),
        ("1600000000@broadcast", ChatKind.BROADCAST),
        ("120363000000000000@newsletter", ChatKind.NEWSLETTER),
        ("0@c.us", ChatKind.SYSTEM),
        (None, ChatKind.INVALID),
        ("", ChatKind.INVALID),
        (4915112345678, ChatKind.INVALID),
        ("4915112345678", ChatKind.INVALID),
        ("anna@c.us", ChatKind.INVALID),
        ("4915112345678@s.whatsapp.net", ChatKind.INVALID),
    ],
)
def test_classify_chat_id_knows_every_kind_of_ultramsg_id(wa_id: object, kind: ChatKind) -> None:
    assert classify_chat_id(wa_id) is kind


@given(labelled_chat_ids())
def test_classify_chat_id_agrees_with_how_the_id_was_made(
    labelled: tuple[str | None, ChatKind],
) -> None:
    wa_id, kind = labelled
    assert classify_chat_id(wa_id) is kind


@given(st.one_of(st.text(), chat_ids(), st.integers(), st.binary(), st.none()))
def test_classify_chat_id_never_raises(value: object) -> None:
    assert isinstance(classify_chat_id(value), ChatKind)


@pytest.mark.parametrize(
    ("kind", "is_conversation", "contact_kind"),
    [
        (ChatKind.PERSON, True, "person"),
        (ChatKind.LID, True, "person"),
        (ChatKind.GROUP, True, "group"),
        (ChatKind.BROADCAST, False, None),
        (ChatKind.NEWSLETTER, False, None),
        (ChatKind.SYSTEM, False, None),
        (ChatKind.INVALID, False, None),
    ],
)
def test_only_persons_linked_ids_and_groups_are_conversations(
    kind: ChatKind, is_conversation: bool, contact_kind: str | None
) -> None:
    assert kind.is_conversation is is_conversation
    if is_conversation:
        assert kind.contact_kind == contact_kind


# -- phone numbers ----------------------------------------------------------------


def _parsed_possible(phone: str) -> bool:
    try:
        return bool(phonenumbers.is_possible_number(phonenumbers.parse(phone)))
    except phonenumbers.NumberParseException:
        return False


@given(international_digits())
@example("4915112345678")
@example("12345678")  # 7 digits after +1 are only possible for local dialling
def test_phone_from_digits_is_sound(digits: str) -> None:
    phone = phone_from_digits(digits)
    if phone is not None:
        assert phone == "+" + digits
        assert _parsed_possible(phone)


@given(international_digits())
@example("4915112345678")
@example("12125550123")
@example("447911123456")
def test_phone_from_digits_is_complete_for_valid_numbers(digits: str) -> None:
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number(number) and e164 == "+" + digits:
        assert phone_from_digits(digits) == e164


@pytest.mark.parametrize("digits", ["", "0", "0049151123456", "49 151", "٤٩١٥١١٢٣٤٥٦٧٨", "1" * 18])
def test_phone_from_digits_refuses_what_is_no_international_number(digits: str) -> None:
    assert phone_from_digits(digits) is None


@given(conversation_ids())
def test_only_a_persons_cus_id_has_a_phone(wa_id: str) -> None:
    kind = classify_chat_id(wa_id)
    phone = phone_for_chat(wa_id, kind)
    if kind is not ChatKind.PERSON:
        assert phone is None
    elif phone is not None:
        assert wa_id == phone[1:] + "@c.us"


@pytest.mark.parametrize(
    ("typed", "phone"),
    [
        ("+4915112345678", "+4915112345678"),
        ("+49 151 1234-5678", "+4915112345678"),
        ("+49 (151) 12345678", "+4915112345678"),
        ("004915112345678", "+4915112345678"),
        ("015112345678", None),
        ("4915112345678", None),
        ("+49", None),
        ("anna", None),
    ],
)
def test_normalize_phone_query_reads_what_people_type(typed: str, phone: str | None) -> None:
    assert normalize_phone_query(typed) == phone


# -- the sync plan ----------------------------------------------------------------


def _conversation_ids_in(chats: list[RawChat], include_groups: bool = True) -> set[str]:
    ids = set()
    for wa_id, _ in chats:
        kind = classify_chat_id(wa_id)
        if kind.is_conversation and (include_groups or kind is not ChatKind.GROUP):
            assert wa_id is not None
            ids.add(wa_id)
    return ids


@given(chat_lists(), st.booleans())
def test_plan_on_an_empty_store_creates_one_contact_per_distinct_conversation(
    chats: list[RawChat], include_groups: bool
) -> None:
    plan = plan_sync(chats, {}, include_groups=include_groups)
    wanted = _conversation_ids_in(chats, include_groups)
    assert Counter(new.wa_id for new in plan.new) == Counter(wanted)
    assert plan.fetched == len(chats)
    skipped = sum(1 for wa_id, _ in chats if wa_id is None or wa_id not in wanted)
    assert plan.skipped == skipped
    assert plan.renames == []
    assert plan.vanished == plan.returned == []


@given(chat_lists(conversation_ids()))
def test_new_contacts_carry_the_last_name_kind_and_phone(chats: list[RawChat]) -> None:
    plan = plan_sync(chats, {})
    last_names = {wa_id: name or None for wa_id, name in chats}
    for new in plan.new:
        kind = classify_chat_id(new.wa_id)
        assert new.name == last_names[new.wa_id]
        assert new.kind == kind.contact_kind
        assert new.phone == phone_for_chat(new.wa_id, kind)


@given(chat_lists(quick_conversation_ids()), st.data())
def test_plan_against_stored_contacts_renames_only_changed_names(
    chats: list[RawChat], data: st.DataObject
) -> None:
    last_names = {wa_id: name or None for wa_id, name in chats if wa_id is not None}
    stored_ids = data.draw(
        st.sets(st.sampled_from(sorted(last_names))) if last_names else st.just(set())
    )
    existing = {
        wa_id: StoredContactState(
            data.draw(st.sampled_from([last_names[wa_id], "Old name"])), False
        )
        for wa_id in stored_ids
    }
    plan = plan_sync(chats, existing)
    assert {new.wa_id for new in plan.new} == set(last_names) - stored_ids
    expected_renames = {
        wa_id: last_names[wa_id]
        for wa_id in stored_ids
        if existing[wa_id].name != last_names[wa_id]
    }
    assert dict(plan.renames) == expected_renames
    assert len(plan.renames) == len(expected_renames)


@given(
    chat_lists(quick_conversation_ids()),
    st.dictionaries(
        quick_conversation_ids(), st.tuples(quick_chat_names(), st.booleans()), max_size=8
    ),
    st.booleans(),
)
def test_plan_marks_vanished_and_returned_contacts(
    chats: list[RawChat],
    stored: dict[str, tuple[str | None, bool]],
    include_groups: bool,
) -> None:
    existing = {wa_id: StoredContactState(name, gone) for wa_id, (name, gone) in stored.items()}
    plan = plan_sync(chats, existing, include_groups=include_groups)
    present = _conversation_ids_in(chats, include_groups)
    assert sorted(plan.returned) == sorted(w for w in present & existing.keys() if existing[w][1])
    expected_vanished = {
        wa_id
        for wa_id, state in existing.items()
        if not state.vanished
        and wa_id not in present
        and (include_groups or classify_chat_id(wa_id) is not ChatKind.GROUP)
    }
    assert sorted(plan.vanished) == sorted(expected_vanished)


def test_plan_counts_a_repeated_id_once_and_never_as_skipped() -> None:
    chats = [
        RawChat("4915112345678@c.us", "Anna"),
        RawChat("4915112345678@c.us", "Anna S."),
        RawChat("status@broadcast", ""),
        RawChat(None, "no id"),
    ]
    plan = plan_sync(chats, {})
    assert [(new.wa_id, new.name) for new in plan.new] == [("4915112345678@c.us", "Anna S.")]
    assert (plan.fetched, plan.skipped) == (4, 2)


# -- who may do what ----------------------------------------------------------------


def _user(role: Role = Role.USER, *, active: bool = True, user_id: int = 7) -> User:
    return User(id=user_id, username="someone", role=role, active=active)


@given(st.sampled_from(Role), st.booleans(), st.sets(st.integers(1, 20), max_size=5))
def test_may_see_contact(role: Role, active: bool, linked: set[int]) -> None:
    viewer = _user(role, active=active)
    expected = active and (role is Role.ADMIN or viewer.id in linked)
    assert may_see_contact(viewer, linked) is expected


@pytest.mark.parametrize("username", ["maria", "m.ruiz-2", "ops@example.org", "a" * 64])
def test_validate_username_accepts_plain_names(username: str) -> None:
    assert validate_username(username) == username


@pytest.mark.parametrize("username", ["", "a" * 65, "maria ruiz", "maría", "x;drop", "ü"])
def test_validate_username_refuses_the_rest_with_one_line(username: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_username(username)
    assert "\n" not in str(caught.value)


# -- the whole-collection plan agrees with the rule one chat at a time ------------------


def _reference_plan(
    chats: list[RawChat], existing: dict[str, StoredContactState], include_groups: bool
) -> SyncPlan:
    """The sync rule as first written: each chat classified on its own, in order."""
    skipped = 0
    wanted: dict[str, str | None] = {}
    for wa_id, name in chats:
        kind = classify_chat_id(wa_id)
        if not kind.is_conversation or (kind is ChatKind.GROUP and not include_groups):
            skipped += 1
            continue
        assert wa_id is not None
        wanted[wa_id] = name or None
    new, renames, returned = [], [], []
    for wa_id, name in wanted.items():
        state = existing.get(wa_id)
        if state is None:
            kind = classify_chat_id(wa_id)
            new.append(NewContact(wa_id, name, phone_for_chat(wa_id, kind), kind.contact_kind))
            continue
        if state[0] != name:
            renames.append((wa_id, name))
        if state[1]:
            returned.append(wa_id)
    vanished = [
        wa_id
        for wa_id, (_, gone) in existing.items()
        if not gone and wa_id not in wanted and (include_groups or not wa_id.endswith("@g.us"))
    ]
    return SyncPlan(len(chats), skipped, new, renames, vanished, returned)


def _same_plan(plan: SyncPlan, expected: SyncPlan) -> None:
    assert (plan.fetched, plan.skipped) == (expected.fetched, expected.skipped)
    assert plan.new == expected.new  # the same rows, in the order the chats came
    assert len(plan.new) == len(expected.new)
    assert list(plan.new) == plan.new[:] == [plan.new[i] for i in range(len(plan.new))]
    assert plan.renames == expected.renames
    assert sorted(plan.vanished) == sorted(expected.vanished)
    assert sorted(plan.returned) == sorted(expected.returned)


def _any_ids() -> st.SearchStrategy[str | None]:
    """Hostile text, every kind of real id, and near misses of the fast pattern."""
    near_misses = st.builds(
        "".join,
        st.lists(st.sampled_from(["0", "1", "9", "-", "@", "c.us", "g.us", "lid", "١", "\n"])),
    )
    long_ids = st.integers(118, 130).map(lambda n: "1" * n + "@lid")
    return st.one_of(chat_ids(), quick_chat_ids(), near_misses, long_ids)


@given(
    chat_lists(_any_ids(), max_distinct=12, max_size=30),
    st.dictionaries(
        st.one_of(quick_chat_ids().filter(lambda i: i is not None), chat_ids().map(str)),
        st.tuples(quick_chat_names(), st.booleans()),
        max_size=8,
    ),
    st.booleans(),
    st.data(),
)
def test_whole_collection_plan_agrees_with_the_rule_one_chat_at_a_time(
    chats: list[RawChat],
    existing: dict[str, tuple[str | None, bool]],
    include_groups: bool,
    data: st.DataObject,
) -> None:
    """Arbitrary ids against arbitrary stored contacts (some of them in the payload):
    the same plan as the rule that classifies each chat on its own."""
    states = {wa_id: StoredContactState(*state) for wa_id, state in existing.items()}
    for wa_id, name in chats:  # also stored contacts that are in the payload
        if wa_id is not None and data.draw(st.booleans()):
            states[wa_id] = StoredContactState(
                data.draw(st.sampled_from([name or None, "Old"])), data.draw(st.booleans())
            )
    expected = _reference_plan(chats, states, include_groups)
    _same_plan(plan_sync(chats, states, include_groups=include_groups), expected)
    stored = StoredContacts.of(states)
    _same_plan(plan_sync(iter(chats), stored, include_groups=include_groups), expected)


@given(st.lists(st.one_of(st.integers(), st.binary(max_size=4), st.none(), st.text(max_size=6))))
def test_plan_skips_ids_that_are_not_strings(ids: list[object]) -> None:
    chats = [RawChat(wa_id, "n") for wa_id in ids]  # type: ignore[arg-type]
    _same_plan(plan_sync(chats, {}), _reference_plan(chats, {}, True))


@given(
    chat_lists(_any_ids(), max_distinct=12, max_size=30),
    st.booleans(),
    st.sampled_from(["same", "renamed", "vanished", "one more stored", "one less stored"]),
    st.data(),
)
def test_a_re_sync_of_the_stored_contacts_in_any_order_agrees_with_the_rule(
    chats: list[RawChat], include_groups: bool, change: str, data: st.DataObject
) -> None:
    """Stored contacts that are the payload's own conversations, in the payload's order
    or another, as they are or with one difference: the same plan as the rule one chat
    at a time (the no-change comparison in order, by lookup, and its fallbacks)."""
    conversations = {new.wa_id: new.name for new in _reference_plan(chats, {}, include_groups).new}
    states = {wa_id: StoredContactState(name, False) for wa_id, name in conversations.items()}
    if states and change in ("renamed", "vanished", "one less stored"):
        wa_id = data.draw(st.sampled_from(sorted(states)))
        if change == "renamed":
            states[wa_id] = StoredContactState("Old", False)
        elif change == "vanished":
            states[wa_id] = StoredContactState(states[wa_id].name, True)
        else:
            del states[wa_id]
    if change == "one more stored":
        states["1999@lid"] = StoredContactState("Gone", False)
    order = data.draw(st.sampled_from(["payload", "permuted"]))
    ids = list(states) if order == "payload" else data.draw(st.permutations(list(states)))
    stored = StoredContacts(
        ids, [states[wa_id].name for wa_id in ids], {w for w in ids if states[w].vanished}
    )
    expected = _reference_plan(chats, states, include_groups)
    _same_plan(plan_sync(chats, stored, include_groups=include_groups), expected)
