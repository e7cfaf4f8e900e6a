"""What a sync reads of the stored contacts: one query, columns as JSON text.

A re-sync of a million contacts compares the payload with every stored wa_id,
name and vanished mark. Reading them as a million driver rows cost ~3 s on
SQLite; as JSON arrays built by the database in one aggregate pass (so the
same row order in each), it is a few strings. ``JsonColumn`` keeps such an
array as its text and decodes it (msgspec, in C) only when it is read item by
item: a re-sync whose payload lists the contacts in the stored order compares
the payload's ids and names with that text (the payload encoded the same way)
and never makes the million stored strings at all.

Both databases write a JSON string the way msgspec does (the same escapes,
UTF-8 kept as it is), and the text is only a shortcut: when it differs, the
decoded items are compared.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import msgspec

from wa_manager.adapters.sql.database import Database
from wa_manager.domain.model import StoredContacts

# ids, names, vanished ids, and how many contacts, in the order the contacts were
# created (id): a payload that lists them in that order compares as text. SQLite
# reads the table in id (rowid) order anyway, and ``+source`` keeps it off the
# (source, wa_id) index (reading the table straight through is ~2x faster than a
# rowid lookup per index entry, as long as most contacts are of this source).
# PostgreSQL needs the ORDER BY (~0.3 s at 1M): a large table's sequential scan may
# start where another scan is (synchronize_seqscans), and updates move rows. Its
# json_agg writes ", " between items; string_agg of to_json writes what msgspec does.
_SYNC_STATE_SQL = {
    "sqlite": "SELECT CAST(json_group_array(wa_id) AS BLOB), "
    "CAST(json_group_array(name) AS BLOB), "
    "json_group_array(wa_id) FILTER (WHERE vanished_at IS NOT NULL), count(*) "
    "FROM contacts WHERE +source = ?",
    "postgresql": "SELECT "
    "convert_to('[' || string_agg(to_json(wa_id)::text, ',' ORDER BY id) || ']', 'UTF8'), "
    "convert_to('[' || string_agg(coalesce(to_json(name)::text, 'null'), ',' ORDER BY id) "
    "|| ']', 'UTF8'), "
    "json_agg(wa_id) FILTER (WHERE vanished_at IS NOT NULL)::text, count(*) "
    "FROM contacts WHERE source = %s",
}
_DECODER = msgspec.json.Decoder(list[Any])
_ENCODER = msgspec.json.Encoder()
_EMPTY = b"[]"
_PREFIX = 64  # items compared first, so another order is told apart without encoding all


def read_sync_state(db: Database, source: str) -> StoredContacts:
    """Every stored contact of ``source`` as the sync compares them, in one query."""
    ((ids, names, vanished, count),) = db.driver_fetchall(_SYNC_STATE_SQL[db.dialect], (source,))
    return StoredContacts(
        JsonColumn(_bytes(ids), count),
        JsonColumn(_bytes(names), count),
        set(_DECODER.decode(vanished)) if vanished else set(),
    )


def _bytes(text: bytes | memoryview | str | None) -> bytes:
    """The driver's answer as bytes (PostgreSQL's string_agg of no rows is NULL)."""
    if text is None:
        return _EMPTY
    return text.encode() if isinstance(text, str) else bytes(text)


class JsonColumn(Sequence[Any]):
    """A list kept as the JSON text of its ``count`` items, decoded on first read.

    Equal to a list with the same items; compared with a list, it first encodes
    that list and compares the texts (one ``memcmp``), and decodes only when they
    differ."""

    __slots__ = ("_count", "_items", "_text")

    def __init__(self, text: bytes, count: int) -> None:
        self._text = text
        self._count = count
        self._items: list[Any] | None = None

    @property
    def decoded(self) -> bool:
        """Whether the text was decoded (read item by item, or found unequal)."""
        return self._items is not None

    @property
    def items(self) -> list[Any]:
        """The decoded items (decoded once; the text is dropped then)."""
        if self._items is None:
            self._items = _DECODER.decode(self._text)
            self._text = b""
        return self._items

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        return self.items[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JsonColumn):
            return self.items == other.items
        if not isinstance(other, list):
            return NotImplemented
        if len(other) != self._count:
            return False
        if self._items is None:
            try:
                head = _ENCODER.encode(other[:_PREFIX])
                if len(other) <= _PREFIX:
                    same_text = head == self._text
                else:  # the first items first: another order shows there, cheaply
                    same_text = self._text.startswith(head[:-1])
                    same_text = same_text and _ENCODER.encode(other) == self._text
                if same_text:
                    return True
            except (TypeError, msgspec.EncodeError):
                pass  # an item JSON cannot hold (no stored item is one): not equal
        return self.items == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"JsonColumn({self.items!r})"
