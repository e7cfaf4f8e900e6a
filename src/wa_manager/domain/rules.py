"""The rules of wa-manager, as pure functions.

- which chat ids are conversations, and of which kind (``classify_chat_id``);
- how a ``@c.us`` id becomes an E.164 phone (``phone_from_digits``);
- what a sync must write, given the chats and what is stored (``plan_sync``);
- who may see what (``can_see_all``, ``may_see_contact``); who may *do* what is
  decided in ``wa_manager.services.permissions``;
- what a username looks like (``validate_username``).

They are written for speed: string methods and dict look-ups, no phonenumbers
parse; ``plan_sync`` works on whole collections of a million chats at once.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import compress, filterfalse, repeat
from typing import NamedTuple, overload

import phonenumbers

from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import (
    Actor,
    ChatKind,
    ChatList,
    NewContact,
    RawChat,
    StoredContacts,
    StoredContactState,
)

MAX_WA_ID_LENGTH = 128
MAX_USERNAME_LENGTH = 64
_USERNAME_EXTRA_CHARS = frozenset("._-@")


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def classify_chat_id(wa_id: object) -> ChatKind:
    """Say what a chat id stands for; anything unusable is ``ChatKind.INVALID``."""
    if not isinstance(wa_id, str) or not wa_id or len(wa_id) > MAX_WA_ID_LENGTH:
        return ChatKind.INVALID
    local, at, domain = wa_id.rpartition("@")
    if not at or not local:
        return ChatKind.INVALID
    if domain == "c.us":
        if not _is_ascii_digits(local):
            return ChatKind.INVALID
        return ChatKind.SYSTEM if local == "0" else ChatKind.PERSON
    if domain == "g.us":
        first, dash, second = local.partition("-")
        if _is_ascii_digits(first) and (not dash or _is_ascii_digits(second)):
            return ChatKind.GROUP
        return ChatKind.INVALID
    if domain == "lid":
        return ChatKind.LID if _is_ascii_digits(local) else ChatKind.INVALID
    if domain == "broadcast":
        return ChatKind.BROADCAST
    if domain == "newsletter":
        return ChatKind.NEWSLETTER
    return ChatKind.INVALID


@functools.cache
def _possible_national_lengths() -> dict[str, frozenset[int]]:
    """Country calling code -> lengths a national number may have (phonenumbers' metadata).

    Built once, on first use, from the metadata of the code's main region (or
    non-geographic entity), as ``phonenumbers.is_possible_number`` does: that
    metadata holds the possible lengths of every region sharing the code. Lengths
    that are possible only for local dialling (7 digits after +1) are left out.
    """
    table: dict[str, frozenset[int]] = {}
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        region = phonenumbers.region_code_for_country_code(code)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is not None and metadata.general_desc is not None:
            lengths = frozenset(metadata.general_desc.possible_length or ())
            if lengths:
                table[str(code)] = lengths
    return table


def phone_from_digits(digits: str) -> str | None:
    """E.164 form (``+4915112345678``) of an international number given as digits.

    A number counts when its country calling code exists and its national part
    has a length possible for that code (phonenumbers' "possible number" rule,
    answered from a table instead of a parse: ~0.3 µs instead of ~26 µs).
    Anything else, including ``0`` and leading zeros, gives None.
    """
    if not _is_ascii_digits(digits) or digits[0] == "0" or len(digits) > 17:
        return None
    table = _possible_national_lengths()
    for code_length in (1, 2, 3):
        lengths = table.get(digits[:code_length])
        if lengths is not None:
            return "+" + digits if len(digits) - code_length in lengths else None
    return None


def phone_for_chat(wa_id: str, kind: ChatKind) -> str | None:
    """The phone of a chat: E.164 for a person's ``@c.us`` id, else None."""
    if kind is not ChatKind.PERSON:
        return None
    return phone_from_digits(wa_id[: -len("@c.us")])


def normalize_phone_query(text: str) -> str | None:
    """Turn what a person types as a phone (``+49 151 1234-5678``) into E.164, or None."""
    cleaned = "".join(ch for ch in text if ch not in " -()./")
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    elif cleaned.startswith("00"):
        cleaned = cleaned[2:]
    else:
        return None
    return phone_from_digits(cleaned)


class SyncPlan(NamedTuple):
    """What a sync writes, computed before any write.

    ``new``: contacts to create; ``renames``: (wa_id, new name) pairs;
    ``vanished``: stored contacts missing from this payload (to mark);
    ``returned``: contacts marked vanished that are back (to unmark).
    A sync with nothing to change has all four empty and writes nothing.
    """

    fetched: int
    skipped: int
    new: Sequence[NewContact]
    renames: list[tuple[str, str | None]]
    vanished: list[str]
    returned: list[str]


# The ids ``classify_chat_id`` calls PERSON, LID or GROUP (the conversations), as one
# pattern that ``map`` can run over a million ids without a Python frame per id:
# ``<digits>@c.us`` but not ``0@c.us``; ``<digits>@lid``; ``<digits>@g.us`` or
# ``<digits>-<digits>@g.us``; ASCII digits only, as ``_is_ascii_digits``. The length
# limit (``MAX_WA_ID_LENGTH``) is checked apart, by ``max`` over the lengths: with it
# in the pattern (a lookahead) and backtracking digits, matching took twice as long.
# The property tests hold it to ``classify_chat_id``.
_PERSON_OR_LID = r"(?!0@c\.us\Z)[0-9]++(?:@c\.us|@lid"
_CONVERSATION_IDS = {
    True: re.compile(rf"{_PERSON_OR_LID}|(?:-[0-9]++)?@g\.us)", re.ASCII),
    False: re.compile(rf"{_PERSON_OR_LID})", re.ASCII),
}
_GROUP_SUFFIX = "@g.us"
_PERSON_SUFFIX = "@c.us"


class PayloadConversations(NamedTuple):
    """The conversations a payload asks for, before any stored state is read, as two
    columns: each chat with a conversation id, in the payload's order (repeats kept:
    the last name wins when they are merged), an empty name as None; ``fetched`` and
    ``skipped`` count the chats; ``include_groups`` is the setting they were picked
    with. ``conversations_in`` makes it."""

    wa_ids: list[str]
    names: list[str | None]
    fetched: int
    skipped: int
    include_groups: bool


def conversations_in(
    chats: Iterable[RawChat], *, include_groups: bool = True
) -> PayloadConversations:
    """The first half of ``plan_sync``: the chats with a conversation id.

    Non-conversations and unusable ids are skipped and each such chat counted;
    groups are skipped when ``include_groups`` is false; a repeated id is not counted
    as skipped (it is one contact). ``chats``: best a ``ChatList`` (its two columns
    are read whole; it may be dropped once this returns). One compiled pattern is
    mapped over the ids in C; ids that are not strings take a slower loop."""
    columns = ChatList.of(chats)
    wa_ids, names = columns.wa_ids, columns.names
    fullmatch = _CONVERSATION_IDS[include_groups].fullmatch
    try:
        usable = list(map(bool, map(fullmatch, wa_ids)))  # type: ignore[arg-type]
    except TypeError:  # an id that is no string: None for an unusable item, or any object
        usable = [isinstance(wa_id, str) and fullmatch(wa_id) is not None for wa_id in wa_ids]
    kept_ids: list[str] = list(compress(wa_ids, usable))  # type: ignore[arg-type]
    kept_names = list(compress(names, usable))
    del usable
    if kept_ids and max(map(len, kept_ids)) > MAX_WA_ID_LENGTH:
        short = [len(wa_id) <= MAX_WA_ID_LENGTH for wa_id in kept_ids]
        kept_ids, kept_names = list(compress(kept_ids, short)), list(compress(kept_names, short))
    if "" in kept_names:
        kept_names = [name or None for name in kept_names]
    fetched = len(wa_ids)
    return PayloadConversations(
        kept_ids, kept_names, fetched, fetched - len(kept_ids), include_groups
    )


def plan_sync(
    chats: Iterable[RawChat] | PayloadConversations,
    existing: StoredContacts | Mapping[str, StoredContactState],
    *,
    include_groups: bool = True,
) -> SyncPlan:
    """Decide what a sync must write (``docs/interface.md#what-a-sync-does``).

    ``chats``: the payload's chats (read by ``conversations_in`` with
    ``include_groups``), or what ``conversations_in`` made of them (which carries its
    own ``include_groups``); ``existing``: the stored contacts (``StoredContacts``,
    or a map of wa_id -> (name, is vanished)). A repeated id is one contact, with its
    last name.

    Written over whole collections (a million chats): lists and dicts are built and
    compared in C, kind and phone are worked out for the new contacts only (as the
    INSERT reads them), and a no-change re-sync is found without hashing a million
    ids when the payload lists the stored contacts in their stored order (two list
    comparisons; the stored ids are distinct, so the payload has no repeats), and
    otherwise by looking the stored ids up in the payload's dict.
    """
    if isinstance(chats, PayloadConversations):
        payload = chats
    else:
        payload = conversations_in(chats, include_groups=include_groups)
    stored = existing if isinstance(existing, StoredContacts) else StoredContacts.of(existing)
    gone = stored.vanished
    if stored.wa_ids and payload.wa_ids == stored.wa_ids and payload.names == stored.names:
        returned = list(gone)  # every stored contact is in the payload
        return SyncPlan(payload.fetched, payload.skipped, NewContacts([], []), [], [], returned)
    wanted = dict(zip(payload.wa_ids, payload.names, strict=True))  # the last name wins
    if not stored.wa_ids:  # the first sync: every conversation is new
        if len(wanted) == len(payload.wa_ids):  # no repeats: the columns are the rows
            new = NewContacts(payload.wa_ids, payload.names)
        else:
            new = NewContacts(list(wanted), list(wanted.values()))
        renames: list[tuple[str, str | None]] = []
        vanished: list[str] = []
    elif _unchanged(wanted, stored):  # the no-change re-sync, in another order
        new, renames, vanished = NewContacts([], []), [], []
    else:
        names = dict(zip(stored.wa_ids, stored.names, strict=True))
        new_ids = list(filterfalse(names.__contains__, wanted))
        new = NewContacts(new_ids, list(map(wanted.__getitem__, new_ids)))
        renames = _renames(wanted, names) if len(new_ids) < len(wanted) else []
        vanished = [
            wa_id
            for wa_id in filterfalse(wanted.__contains__, names)
            if wa_id not in gone and (payload.include_groups or not wa_id.endswith(_GROUP_SUFFIX))
        ]
    returned = [wa_id for wa_id in gone if wa_id in wanted] if gone else []
    return SyncPlan(payload.fetched, payload.skipped, new, renames, vanished, returned)


_ABSENT = object()  # what a stored id that is not in the payload maps to


def _unchanged(wanted: dict[str, str | None], stored: StoredContacts) -> bool:
    """Whether the payload's conversations are exactly the stored contacts, names
    included: as many, and each stored id (distinct) found in ``wanted`` with its
    stored name. The lookups and the name comparison run in C."""
    if len(wanted) != len(stored.wa_ids):
        return False
    return list(map(wanted.get, stored.wa_ids, repeat(_ABSENT))) == stored.names


def _renames(
    wanted: dict[str, str | None], names: dict[str, str | None]
) -> list[tuple[str, str | None]]:
    """(wa_id, new name) of the stored contacts whose name differs; compared in C, and
    only the differing pairs (plus new contacts with a name) reach Python."""
    differs = map(operator.ne, map(names.get, wanted), wanted.values())
    return [pair for pair in compress(wanted.items(), differs) if pair[0] in names]


class NewContacts(Sequence[NewContact]):
    """The contacts a sync creates, as two columns (ids, names); each row (with its
    kind and phone) is made when it is read, by the INSERT's batches: a million
    ``NewContact`` tuples and phone strings are never in memory at once (~140 MB
    less at the peak of a 1M-chat initial sync), nor the payload's dict once the
    plan is made."""

    def __init__(self, wa_ids: list[str], names: list[str | None]) -> None:
        self._wa_ids = wa_ids
        self._names = names

    def __len__(self) -> int:
        return len(self._wa_ids)

    def __iter__(self) -> Iterator[NewContact]:
        return map(_new_contact, self._wa_ids, self._names)

    @overload
    def __getitem__(self, index: int) -> NewContact: ...
    @overload
    def __getitem__(self, index: slice) -> list[NewContact]: ...
    def __getitem__(self, index: int | slice) -> NewContact | list[NewContact]:
        if isinstance(index, slice):
            return list(map(_new_contact, self._wa_ids[index], self._names[index]))
        return _new_contact(self._wa_ids[index], self._names[index])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"NewContacts({list(self)!r})"


def _new_contact(wa_id: str, name: str | None) -> NewContact:
    """The row of a new contact whose id is a conversation's (checked before)."""
    if wa_id.endswith(_GROUP_SUFFIX):
        return NewContact(wa_id, name, None, "group")
    phone = phone_from_digits(wa_id[: -len(_PERSON_SUFFIX)]) if wa_id.endswith("@c.us") else None
    return NewContact(wa_id, name, phone, "person")


def can_see_all(viewer: Actor) -> bool:
    """Admins see every conversation; users only those of contacts linked to them."""
    return viewer.is_admin and viewer.active


def may_see_contact(viewer: Actor, linked_user_ids: Iterable[int]) -> bool:
    """Whether ``viewer`` may see the conversations of a contact with these links."""
    if not viewer.active:
        return False
    return can_see_all(viewer) or viewer.id in set(linked_user_ids)


def validate_username(username: str) -> str:
    """Return the username if it is 1-64 letters, digits or ``. _ - @``; else raise."""
    if not username or len(username) > MAX_USERNAME_LENGTH:
        raise InvalidInput(f"a username needs 1 to {MAX_USERNAME_LENGTH} characters")
    if not all(ch.isascii() and (ch.isalnum() or ch in _USERNAME_EXTRA_CHARS) for ch in username):
        raise InvalidInput(
            f"username {username!r} may only contain letters, digits and . _ - @; choose another"
        )
    return username


def validate_label(text: str, what: str, max_length: int) -> str:
    """A name people give something (a team, a token): trimmed, 1 to ``max_length``
    characters, no control characters; else ``InvalidInput`` naming ``what``."""
    text = text.strip()
    if not text or len(text) > max_length:
        raise InvalidInput(f"a {what} has 1 to {max_length} characters")
    if any(ord(char) < 32 or 127 <= ord(char) < 160 for char in text):
        raise InvalidInput(f"a {what} cannot hold control characters")
    return text
