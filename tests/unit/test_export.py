"""CSV export: spreadsheet-safe cells, streaming by page, and an exact round trip."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wa_manager.domain.model import Contact, Page
from wa_manager.services.export import (
    BYTE_ORDER_MARK,
    COLUMNS,
    PageReader,
    contacts_csv,
    escape_cell,
    unescape_cell,
)

CREATED = datetime(2024, 11, 24, 12, 0, tzinfo=UTC)
HOSTILE_NAMES = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    " =1+1",
    "\n\n@SUM(A1)",
    " \t\r\n-2",
    '＝HYPERLINK("http://evil.example")',
    "＋1",
    "－1",
    "＠SUM(A1)",
    " ＝1",
    'Anna "the boss" Schmidt',
    "line one\nline two",
    "comma, separated",
    "Family 👨‍👩‍👧‍👦🎉",
    "مرحبا بالعالم",
    "שלום \u202eevil\u202c",
    "x" * 2000,
    "",
]


def contact(contact_id: int, name: str | None, **extra: object) -> Contact:
    values: dict[str, object] = {
        "id": contact_id,
        "source": "instance1",
        "wa_id": f"49151{contact_id:08d}@c.us",
        "name": name,
        "phone": f"+49151{contact_id:08d}",
        "kind": "person",
        "created_at": CREATED,
    }
    values.update(extra)
    return Contact(**values)  # type: ignore[arg-type]


def pages_of(contacts: list[Contact], size: int) -> tuple[list[int | None], PageReader]:
    """A page reader over ``contacts`` (newest first) that records what it was asked."""
    asked: list[int | None] = []
    ordered = sorted(contacts, key=lambda c: c.id, reverse=True)

    def read_page(before_id: int | None) -> Page:
        asked.append(before_id)
        rest = [c for c in ordered if before_id is None or c.id < before_id]
        items = rest[:size]
        more = len(rest) > size
        return Page(tuple(items), items[-1].id if more and items else None)

    return asked, read_page


def read_back(text: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text.removeprefix(BYTE_ORDER_MARK), newline="")))
    return [{key: unescape_cell(value) for key, value in row.items()} for row in rows]


def test_round_trip_of_hostile_names() -> None:
    contacts = [contact(i + 1, name) for i, name in enumerate(HOSTILE_NAMES)]
    _, read_page = pages_of(contacts, size=4)

    text = "".join(contacts_csv(read_page))

    rows = read_back(text)
    assert [row["name"] for row in rows] == [c.name for c in reversed(contacts)]
    assert [row["phone"] for row in rows] == [c.phone for c in reversed(contacts)]


def test_no_cell_starts_like_a_formula() -> None:
    contacts = [contact(i + 1, name) for i, name in enumerate(HOSTILE_NAMES)]
    _, read_page = pages_of(contacts, size=100)

    text = "".join(contacts_csv(read_page))

    for row in csv.reader(io.StringIO(text, newline="")):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
            assert not cell.lstrip(" \t\r\n").startswith(tuple("=+-@＝＋－＠")), cell


def test_header_bom_and_empty_values() -> None:
    vanished = datetime(2024, 12, 1, tzinfo=UTC)
    naive = datetime(2024, 11, 24, 12, 0)  # as SQLite gives it back
    items = [contact(7, None, phone=None, user_ids=(2, 5), vanished_at=vanished, created_at=naive)]
    _, read_page = pages_of(items, size=10)

    chunks = list(contacts_csv(read_page, bom=True))

    assert chunks[0] == BYTE_ORDER_MARK + ",".join(COLUMNS) + "\r\n"
    row = read_back("".join(chunks))[0]
    assert row["name"] == ""
    assert row["phone"] == ""
    assert row["user_ids"] == "2 5"
    assert row["created_at"] == "2024-11-24T12:00:00+00:00"
    assert row["vanished_at"] == "2024-12-01T00:00:00+00:00"
    assert row["last_seen_at"] == ""


def test_without_bom_the_file_starts_with_the_header() -> None:
    _, read_page = pages_of([], size=10)
    assert "".join(contacts_csv(read_page)) == ",".join(COLUMNS) + "\r\n"


def test_streams_one_chunk_per_page_and_reads_pages_lazily() -> None:
    contacts = [contact(i, f"n{i}") for i in range(1, 11)]
    asked, read_page = pages_of(contacts, size=4)

    stream = contacts_csv(read_page)
    next(stream)  # the header costs no query
    assert asked == []
    rest = list(stream)

    assert asked == [None, 7, 3]
    assert len(rest) == 3
    assert len(read_back("".join([",".join(COLUMNS) + "\r\n", *rest]))) == 10


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1", "'=1"),
        ("+49", "'+49"),
        ("-", "'-"),
        ("@x", "'@x"),
        ("'", "''"),
        ("a=1", "a=1"),
        ("  =1", "'  =1"),
        ("\n+1", "'\n+1"),
        (" \t@x", "' \t@x"),
        ("＝1", "'＝1"),
        ("＋49", "'＋49"),
        ("－", "'－"),
        ("＠x", "'＠x"),
        ("  ＝1", "'  ＝1"),
        ("  a", "  a"),
        (" ' =1", " ' =1"),  # a quote after blanks is text, and no formula
        ("a ＝1", "a ＝1"),
    ],
)
def test_escape_cell(value: str, escaped: str) -> None:
    assert escape_cell(value) == escaped


CELL_CHARACTERS = st.sampled_from([" ", "\t", "\r", "\n", "'", *"=+-@＝＋－＠", "a"])


@given(st.text() | st.text(CELL_CHARACTERS | st.characters(), max_size=8))
def test_escaping_is_undone_exactly(value: str) -> None:
    assert unescape_cell(escape_cell(value)) == value
    assert unescape_cell(value) == value or value.startswith("'")  # only escapes are undone


@given(st.lists(st.one_of(st.none(), st.text()), max_size=30))
def test_any_names_survive_the_round_trip(names: list[str | None]) -> None:
    contacts = [contact(i + 1, name) for i, name in enumerate(names)]
    _, read_page = pages_of(contacts, size=7)
    rows = read_back("".join(contacts_csv(read_page)))
    assert [row["name"] or None for row in rows] == [c.name or None for c in reversed(contacts)]
