"""Contact identity rules: which contacts are likely one person, and how two become one.

- ``duplicate_pairs``: the suggestions, as pure Python over contacts (the in-memory
  store and the tests' model; the SQL store asks its database the same questions):
  two contacts of one source with the same E.164 phone (``same_phone``); a Brazilian
  mobile with and without the ninth digit, ``+55 DD 9XXXXXXXX`` beside
  ``+55 DD XXXXXXXX`` whose first digit is 6-9 (``brazil_ninth_digit``); a ``@lid``
  contact named exactly (non-empty) like a ``@c.us`` contact (``same_name_lid``).
- ``merged_status``: the two conversations of a merge become one whose status is the
  more active of the two: ``active`` beats ``pending`` beats ``resolved``.
- ``check_merge``: a merge joins two different contacts of one source.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime

import attrs

from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import Contact, ConversationStatus, DuplicatePair, DuplicateReason

BRAZIL = "+55"
# "+55" + DDD (2) + 9 + 8 digits, and "+55" + DDD + 8 digits: the two forms' lengths.
BRAZIL_WITH_NINTH = 14
BRAZIL_WITHOUT_NINTH = 13
MOBILE_FIRST_DIGITS = frozenset("6789")
LID_SUFFIX = "@lid"
PERSON_SUFFIX = "@c.us"

# The more active a status, the higher: open work wins over closed work.
STATUS_ACTIVITY = {
    ConversationStatus.RESOLVED: 0,
    ConversationStatus.PENDING: 1,
    ConversationStatus.ACTIVE: 2,
}


def merged_status(first: str, second: str) -> str:
    """The status of the one conversation two become: the more active of the two."""
    return max(first, second, key=lambda status: STATUS_ACTIVITY[ConversationStatus(status)])


def latest(first: datetime | None, second: datetime | None) -> datetime | None:
    """The later of two optional times (None when both are): a merged contact's last
    sighting, a merged conversation's last message."""
    known = [moment for moment in (first, second) if moment is not None]
    return max(known) if known else None


def joined(survivor: Contact, merged: Contact) -> Contact:
    """The survivor as a merge leaves it: its own name and phone, else the merged
    contact's; the earlier ``created_at``, the later ``last_seen_at``; vanished only
    when both were (then since the later)."""
    both_vanished = survivor.vanished_at is not None and merged.vanished_at is not None
    return attrs.evolve(
        survivor,
        name=survivor.name if survivor.name is not None else merged.name,
        phone=survivor.phone if survivor.phone is not None else merged.phone,
        created_at=min(survivor.created_at, merged.created_at),
        last_seen_at=latest(survivor.last_seen_at, merged.last_seen_at),
        vanished_at=latest(survivor.vanished_at, merged.vanished_at) if both_vanished else None,
    )


def check_merge(merged: Contact, survivor: Contact) -> None:
    """``InvalidInput`` unless ``merged`` and ``survivor`` are two contacts of one source."""
    if merged.id == survivor.id:
        raise InvalidInput(
            f"contact {merged.id} cannot be merged into itself; give two different contacts"
        )
    if merged.source != survivor.source:
        raise InvalidInput(
            f"contacts {merged.id} ({merged.source}) and {survivor.id} ({survivor.source}) "
            "belong to different WhatsApp numbers; only contacts of one number can be merged"
        )


def brazil_without_ninth(phone: str) -> str | None:
    """``+55DD9XXXXXXXX`` (a mobile with its ninth digit) -> ``+55DDXXXXXXXX``; else None."""
    if (
        len(phone) == BRAZIL_WITH_NINTH
        and phone.startswith(BRAZIL)
        and phone[5] == "9"
        and phone[6] in MOBILE_FIRST_DIGITS
    ):
        return phone[:5] + phone[6:]
    return None


def duplicate_pairs(contacts: Iterable[Contact]) -> list[DuplicatePair]:
    """Every suggestion among ``contacts``, sorted (by first id, second id, reason)."""
    contacts = list(contacts)
    return sorted(set(_same_phone(contacts)) | set(_brazil(contacts)) | set(_same_name(contacts)))


def _pairs(ids: list[int], reason: DuplicateReason) -> Iterator[DuplicatePair]:
    ids = sorted(ids)
    for index, first in enumerate(ids):
        for second in ids[index + 1 :]:
            yield DuplicatePair(first, second, reason)


def _same_phone(contacts: list[Contact]) -> Iterator[DuplicatePair]:
    by_phone: dict[tuple[str, str], list[int]] = defaultdict(list)
    for contact in contacts:
        if contact.phone is not None:
            by_phone[contact.source, contact.phone].append(contact.id)
    for ids in by_phone.values():
        yield from _pairs(ids, DuplicateReason.SAME_PHONE)


def _brazil(contacts: list[Contact]) -> Iterator[DuplicatePair]:
    by_phone: dict[tuple[str, str], list[int]] = defaultdict(list)
    for contact in contacts:
        if contact.phone is not None:
            by_phone[contact.source, contact.phone].append(contact.id)
    for (source, phone), ids in list(by_phone.items()):
        shorter = brazil_without_ninth(phone)
        if shorter is None:
            continue
        for first in ids:
            for second in by_phone.get((source, shorter), ()):
                low, high = sorted((first, second))
                yield DuplicatePair(low, high, DuplicateReason.BRAZIL_NINTH_DIGIT)


def _same_name(contacts: list[Contact]) -> Iterator[DuplicatePair]:
    people: dict[tuple[str, str], list[int]] = defaultdict(list)
    for contact in contacts:
        if contact.name and contact.wa_id.endswith(PERSON_SUFFIX):
            people[contact.source, contact.name].append(contact.id)
    for contact in contacts:
        if contact.name and contact.wa_id.endswith(LID_SUFFIX):
            for other in people.get((contact.source, contact.name), ()):
                low, high = sorted((contact.id, other))
                yield DuplicatePair(low, high, DuplicateReason.SAME_NAME_LID)


def one_reason_each(pairs: Iterable[DuplicatePair]) -> list[DuplicatePair]:
    """One suggestion per pair of contacts (the first reason in ``DuplicateReason``'s
    order when several apply), sorted by the pair."""
    order = list(DuplicateReason)
    best: dict[tuple[int, int], DuplicatePair] = {}
    for pair in pairs:
        key = (pair.first_id, pair.second_id)
        known = best.get(key)
        if known is None or order.index(pair.reason) < order.index(known.reason):
            best[key] = pair
    return [best[key] for key in sorted(best)]
