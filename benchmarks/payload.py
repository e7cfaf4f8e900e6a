"""The chat lists the benchmarks sync, as the bytes UltraMsg would send.

The chats come from the fake UltraMsg's own generator (``generate_chats``:
realistic mix of people, ``@lid``s, groups and broadcast lists, names in many
scripts), so benchmarks and tests sync the same kind of data. ``changed`` makes
the "1% new and 1% renamed" payload of a re-sync. Only bytes leave this module:
a benchmark process never keeps a million dicts alive while it measures.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from wa_manager.adapters.fake_ultramsg.chats import Chat, encode_chats, generate_chats

SEED = 42


class Payloads(NamedTuple):
    """The answers of one size: the first sync's, the one with 1% new and 1% renamed,
    and the first one's chats in another order (as UltraMsg lists them by activity)."""

    initial: bytes
    changed: bytes
    reordered: bytes


def changed(chats: list[Chat], *, share: float = 0.01) -> list[Chat]:
    """``chats`` with ``share`` of them renamed and ``share`` as many new ones appended."""
    step = max(1, round(1 / share))
    result = [
        {**chat, "name": f"{chat.get('name') or 'Unnamed'} (renamed)"}
        if index % step == 0
        else chat
        for index, chat in enumerate(chats)
    ]
    extra = max(1, round(len(chats) * share))
    result.extend(
        {"id": f"97{index:013d}@lid", "name": f"New contact {index}", "unread": 1, "last_time": 0}
        for index in range(extra)
    )
    return result


def reordered(chats: list[Chat]) -> list[Chat]:
    """The same chats in a shuffled order (seeded): a re-sync with nothing to change
    whose payload does not list the contacts in the order they were stored."""
    shuffled = list(chats)
    random.Random(SEED).shuffle(shuffled)
    return shuffled


def payloads(n: int) -> Payloads:
    """The encoded answers for a sync of ``n`` chats."""
    chats = generate_chats(n, SEED)
    return Payloads(
        encode_chats(chats), encode_chats(changed(chats)), encode_chats(reordered(chats))
    )
