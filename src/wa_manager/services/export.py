"""CSV export of contacts, streamed page by page and safe to open in a spreadsheet.

``contacts_csv`` yields the CSV as text chunks (one per page of contacts), so a
large export never sits in memory whole. The format is RFC 4180 (``\\r\\n``
between rows, fields with commas, quotes or line breaks quoted), UTF-8, with an
optional byte order mark so that Excel reads it as UTF-8.

Formula injection (OWASP, "CSV Injection"): a cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return would be run as a formula by a
spreadsheet, and so would one whose first character after spaces, tabs and line
breaks is one of those four (spreadsheets trim the blanks), or one that starts
with their fullwidth forms ``＝＋－＠`` (some spreadsheets read them as the ASCII
ones). Such a cell gets a leading ``'`` which makes it text. A cell that starts
with ``'`` gets one more, so the escaping can be undone exactly
(``unescape_cell``). Phones (``+49...``) are escaped too: a spreadsheet would
otherwise turn them into numbers and drop the ``+``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator

from wa_manager.domain.model import Contact, Page
from wa_manager.domain.times import iso_time

COLUMNS = (
    "id",
    "wa_id",
    "name",
    "phone",
    "kind",
    "source",
    "user_ids",
    "created_at",
    "last_seen_at",
    "vanished_at",
)
BYTE_ORDER_MARK = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_STARTS = ("=", "+", "-", "@", "＝", "＋", "－", "＠")  # after any leading BLANKS
BLANKS = " \t\r\n"
ESCAPE_PREFIX = "'"
EXPORT_PAGE_SIZE = 200

PageReader = Callable[[int | None], Page[Contact]]
"""Reads one page of contacts, newest first, before the given id (None: the first page)."""


def _needs_escape(value: str) -> bool:
    """True for a cell a spreadsheet could evaluate, and for one that starts with ``'``."""
    if value.startswith((*FORMULA_TRIGGERS, ESCAPE_PREFIX)):
        return True
    return value.lstrip(BLANKS).startswith(FORMULA_STARTS)


def escape_cell(value: str) -> str:
    """The cell as text a spreadsheet will not evaluate (see the module docstring)."""
    return ESCAPE_PREFIX + value if _needs_escape(value) else value


def unescape_cell(value: str) -> str:
    """The value ``escape_cell`` was given: for tools that read the export back."""
    if value.startswith(ESCAPE_PREFIX) and _needs_escape(value[1:]):
        return value[1:]
    return value


def contact_row(contact: Contact) -> list[str]:
    """One contact as escaped cells, in the order of ``COLUMNS``; absent values are empty."""
    cells = (
        str(contact.id),
        contact.wa_id,
        contact.name,
        contact.phone,
        contact.kind,
        contact.source,
        " ".join(str(user_id) for user_id in contact.user_ids),
        iso_time(contact.created_at),
        iso_time(contact.last_seen_at),
        iso_time(contact.vanished_at),
    )
    return [escape_cell(cell) if cell is not None else "" for cell in cells]


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def contacts_csv(read_page: PageReader, *, bom: bool = False) -> Iterator[str]:
    """The CSV of every contact ``read_page`` gives: the header, then one chunk per page."""
    yield (BYTE_ORDER_MARK if bom else "") + _csv_text([list(COLUMNS)])
    before_id: int | None = None
    while True:
        page = read_page(before_id)
        if page.items:
            yield _csv_text([contact_row(contact) for contact in page.items])
        if page.next_before_id is None:
            return
        before_id = page.next_before_id
