"""Hypothesis strategies for wa-manager's tests: chat ids, names, chat lists, users, links.

Chat ids come labelled with the kind they are meant to be (``labelled_chat_ids``),
so tests can check the classifier against the generator. Names include what
breaks naive code: None, empty, emoji, right-to-left text, 2,000 characters.
"""

from __future__ import annotations

from typing import NamedTuple

import phonenumbers
from hypothesis import strategies as st

from wa_manager.domain.model import ChatKind, RawChat, Role

COUNTRY_CODES = sorted(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
NUMBER_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.VOIP,
)
USERNAME_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@"


def ascii_digits(min_size: int = 1, max_size: int = 20) -> st.SearchStrategy[str]:
    """Strings of ASCII digits."""
    return st.text(alphabet="0123456789", min_size=min_size, max_size=max_size)


def _example_national_numbers() -> list[tuple[str, str]]:
    """(country code, national number) of phonenumbers' example numbers, one per region and type."""
    examples = []
    for region in REGIONS:
        for number_type in NUMBER_TYPES:
            number = phonenumbers.example_number_for_type(region, number_type)
            if number is not None:
                examples.append(
                    (str(number.country_code), phonenumbers.national_significant_number(number))
                )
    return sorted(set(examples))


EXAMPLE_NUMBERS = _example_national_numbers()


@st.composite
def _varied_example_number(draw: st.DrawFn) -> str:
    """A real example number with some of its last digits replaced: often valid too."""
    code, national = draw(st.sampled_from(EXAMPLE_NUMBERS))
    keep = draw(st.integers(min_value=max(len(national) - 4, 0), max_value=len(national)))
    tail = draw(ascii_digits(min_size=len(national) - keep, max_size=len(national) - keep))
    return code + national[:keep] + tail


def international_digits() -> st.SearchStrategy[str]:
    """Digits of an international number (no ``+``): real country codes, any national part."""
    random_national = st.builds(
        str.__add__, st.sampled_from(COUNTRY_CODES), ascii_digits(min_size=0, max_size=15)
    )
    return st.one_of(random_national, _varied_example_number(), ascii_digits(max_size=18))


def _with_domain(local: st.SearchStrategy[str], domain: str) -> st.SearchStrategy[str]:
    return local.map(lambda text: f"{text}@{domain}")


def person_ids() -> st.SearchStrategy[str]:
    """``<digits>@c.us``: a person (never ``0@c.us``)."""
    return _with_domain(international_digits().filter(lambda d: d != "0"), "c.us")


def lid_ids() -> st.SearchStrategy[str]:
    """``<digits>@lid``: a person whose number is hidden."""
    return _with_domain(ascii_digits(max_size=20), "lid")


def group_ids() -> st.SearchStrategy[str]:
    """Groups, new form (``120363<digits>@g.us``) and old (``<digits>-<digits>@g.us``)."""
    new_form = _with_domain(ascii_digits(min_size=10, max_size=14).map("120363".__add__), "g.us")
    old_form = _with_domain(
        st.builds(lambda a, b: f"{a}-{b}", ascii_digits(max_size=15), ascii_digits(max_size=12)),
        "g.us",
    )
    return st.one_of(new_form, old_form)


def conversation_ids() -> st.SearchStrategy[str]:
    """Ids that become a contact with a conversation: persons, linked ids, groups."""
    return st.one_of(person_ids(), lid_ids(), group_ids())


HOSTILE_IDS = (
    "",
    "@c.us",
    "c.us",
    "4915112345678",
    "4915112345678@",
    "4915112345678@C.US",
    " 4915112345678@c.us",
    "4915112345678@c.us ",
    "+4915112345678@c.us",
    "49151 12345678@c.us",
    "٤٩١٥١١٢٣٤٥٦٧٨@c.us",  # Arabic-Indic digits
    "４９１５１@c.us",  # full-width digits
    "49151@c.us@c.us",
    "abc@c.us",
    "abc@lid",
    "-123@g.us",
    "123-@g.us",
    "1-2-3@g.us",
    "family@g.us",
    "4915112345678@s.whatsapp.net",
    "'; DROP TABLE contacts; --@c.us",
    "<script>alert(1)</script>@c.us",
    "1" * 200 + "@c.us",
    "4915112345678@c.us\x00",
    "\u202e4915112345678@c.us",
)


def invalid_ids() -> st.SearchStrategy[str | None]:
    """Ids that are no usable chat id at all."""
    return st.one_of(st.none(), st.sampled_from(HOSTILE_IDS))


def labelled_chat_ids() -> st.SearchStrategy[tuple[str | None, ChatKind]]:
    """(chat id, the kind it is) for every kind ``docs/ultramsg.md#chat-ids`` names,
    hostile ones included."""
    return st.one_of(
        person_ids().map(lambda i: (i, ChatKind.PERSON)),
        lid_ids().map(lambda i: (i, ChatKind.LID)),
        group_ids().map(lambda i: (i, ChatKind.GROUP)),
        st.one_of(st.just("status"), ascii_digits()).map(
            lambda local: (f"{local}@broadcast", ChatKind.BROADCAST)
        ),
        _with_domain(ascii_digits(), "newsletter").map(lambda i: (i, ChatKind.NEWSLETTER)),
        st.just(("0@c.us", ChatKind.SYSTEM)),
        invalid_ids().map(lambda i: (i, ChatKind.INVALID)),
    )


def chat_ids() -> st.SearchStrategy[str | None]:
    """Any chat id UltraMsg might send, hostile and arbitrary ones included."""
    return st.one_of(labelled_chat_ids().map(lambda pair: pair[0]), st.text(max_size=40))


SAMPLE_IDS = (
    "4915112345678@c.us",
    "4915198765432@c.us",
    "447911123456@c.us",
    "12125550123@c.us",
    "00@c.us",
    "140000000000001@lid",
    "120363041234567890@g.us",
    "4915198765432-1600000000@g.us",
    "status@broadcast",
    "1600000000@broadcast",
    "120363000000000000@newsletter",
    "0@c.us",
    "anna@c.us",
    "",
)


def quick_conversation_ids() -> st.SearchStrategy[str]:
    """Persons, linked ids and groups, cheap to generate."""
    return st.one_of(
        st.integers(10**9, 10**14).map(lambda n: f"{n}@c.us"),
        st.integers(10**14, 10**15).map(lambda n: f"{n}@lid"),
        st.integers(0, 10**12).map(lambda n: f"120363{n}@g.us"),
    )


def quick_chat_ids() -> st.SearchStrategy[str | None]:
    """Chat ids of every kind, cheap to generate: for tests where volume matters more."""
    return st.one_of(st.sampled_from(SAMPLE_IDS), quick_conversation_ids(), st.none())


def quick_chat_names() -> st.SearchStrategy[str | None]:
    """Names that matter (None, empty, emoji, right-to-left, 2,000 characters), cheaply."""
    return st.sampled_from(NAMED_EXAMPLES) | st.none() | st.text("ab🌻 ", max_size=4)


NAMED_EXAMPLES = (
    "",
    "Anna Schmidt",
    "Family 👨‍👩‍👧‍👦",
    "🌻",
    "محمد العتيبي",
    "שלום",
    "さくら",
    "Zoë  O'Brien",
    "x" * 2000,
    "🎉" * 2000,
)


def chat_names() -> st.SearchStrategy[str | None]:
    """Chat names: none, empty, emoji, right-to-left, very long, and arbitrary text."""
    return st.one_of(
        st.none(),
        st.sampled_from(NAMED_EXAMPLES),
        st.text(max_size=60),
    )


def quick_chat_lists() -> st.SearchStrategy[list[RawChat]]:
    """``chat_lists`` over ``quick_chat_ids`` and ``quick_chat_names``."""
    return chat_lists(quick_chat_ids(), quick_chat_names())


@st.composite
def chat_lists(
    draw: st.DrawFn,
    ids: st.SearchStrategy[str | None] | None = None,
    names: st.SearchStrategy[str | None] | None = None,
    max_distinct: int = 10,
    max_size: int = 20,
) -> list[RawChat]:
    """Chat lists as UltraMsg sends them, where the same id may come more than once."""
    pool = draw(st.lists(ids if ids is not None else chat_ids(), max_size=max_distinct))
    if not pool:
        return []
    picks = st.tuples(st.integers(0, len(pool) - 1), names if names is not None else chat_names())
    return [RawChat(pool[i], name) for i, name in draw(st.lists(picks, max_size=max_size))]


def usernames(max_size: int = 64) -> st.SearchStrategy[str]:
    """Valid usernames: 1-64 ASCII letters, digits and ``. _ - @``."""
    return st.text(alphabet=USERNAME_ALPHABET, min_size=1, max_size=max_size)


class UserSpec(NamedTuple):
    """A user to create: name, role, and whether they may still sign in."""

    username: str
    role: Role
    active: bool


class World(NamedTuple):
    """Users, contacts (one per distinct conversation id) and who is linked to whom.

    ``links`` holds (index into ``contact_ids``, index into ``users``) pairs;
    ``teams`` the members of each team (indexes into ``users``), and ``team_links``
    (index into ``contact_ids``, index into ``teams``) pairs. ``sources`` gives each
    contact's WhatsApp number (an index into ``WORLD_SOURCES``; none given: the first),
    ``instance_users`` (number, user) and ``instance_teams`` (number, team) the
    memberships of the numbers.
    """

    users: list[UserSpec]
    contact_ids: list[str]
    links: set[tuple[int, int]]
    teams: tuple[frozenset[int], ...] = ()
    team_links: frozenset[tuple[int, int]] = frozenset()
    sources: tuple[int, ...] = ()
    instance_users: frozenset[tuple[int, int]] = frozenset()
    instance_teams: frozenset[tuple[int, int]] = frozenset()

    def source_of(self, contact: int) -> int:
        """The index into ``WORLD_SOURCES`` of a contact's number."""
        return self.sources[contact] if self.sources else 0

    def may_see(self, user: int, contact: int) -> bool:
        """The rule, by brute force: linked directly, or to a team of theirs, or a member
        of the contact's number, directly or through a team."""
        source = self.source_of(contact)
        teams = {t for t, members in enumerate(self.teams) if user in members}
        return (
            (contact, user) in self.links
            or any((contact, t) in self.team_links for t in teams)
            or (source, user) in self.instance_users
            or any((source, t) in self.instance_teams for t in teams)
        )


WORLD_SOURCES = ("instance12345", "instance67890")
"""The WhatsApp numbers (instance ids) a ``World``'s contacts belong to."""


@st.composite
def worlds(draw: st.DrawFn, max_users: int = 5, max_contacts: int = 12) -> World:
    """A small team and address book, with some links between them."""
    names = draw(st.lists(usernames(max_size=12), max_size=max_users, unique=True))
    users = [
        UserSpec(name, draw(st.sampled_from(Role)), draw(st.booleans() | st.just(True)))
        for name in names
    ]
    contact_ids = draw(st.lists(quick_conversation_ids(), max_size=max_contacts, unique=True))
    pairs = [(c, u) for c in range(len(contact_ids)) for u in range(len(users))]
    links = draw(st.sets(st.sampled_from(pairs))) if pairs else set()
    members = st.frozensets(st.sampled_from(range(len(users)))) if users else st.just(frozenset())
    teams = tuple(draw(st.lists(members, max_size=3)))
    team_pairs = [(c, t) for c in range(len(contact_ids)) for t in range(len(teams))]
    team_links = draw(st.frozensets(st.sampled_from(team_pairs))) if team_pairs else frozenset()
    numbers = range(len(WORLD_SOURCES))
    sources = tuple(draw(st.sampled_from(numbers)) for _ in contact_ids)
    user_pairs = [(s, u) for s in numbers for u in range(len(users))]
    instance_users = draw(st.frozensets(st.sampled_from(user_pairs))) if user_pairs else frozenset()
    team_numbers = [(s, t) for s in numbers for t in range(len(teams))]
    instance_teams = (
        draw(st.frozensets(st.sampled_from(team_numbers))) if team_numbers else frozenset()
    )
    return World(
        users, contact_ids, links, teams, team_links, sources, instance_users, instance_teams
    )
