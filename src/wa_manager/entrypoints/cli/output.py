"""How the CLI writes results: JSON to stdout alone, or short human tables and summaries."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click
import msgspec

from wa_manager.domain.model import SyncReport

MAX_CELL_WIDTH = 40
ELLIPSIS = "…"
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufe0e\ufe0f")


def echo_json(data: Any) -> None:
    """``data`` (``shapes`` Structs, lists of them, plain values) as JSON on stdout, indented;
    names are written as they are (no \\u escapes)."""
    click.echo(json.dumps(msgspec.to_builtins(data), ensure_ascii=False, indent=2))


def _cell(value: object) -> str:
    """A value as one short line: None as '-', control characters as spaces."""
    if value is None:
        return "-"
    text = "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in str(value)
    )
    if len(text) > MAX_CELL_WIDTH:
        text = text[: MAX_CELL_WIDTH - 1] + ELLIPSIS
    return text


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, empty: str) -> str:
    """A plain-text table with a header line, or ``empty`` when there are no rows."""
    cells = [[_cell(value) for value in row] for row in rows]
    if not cells:
        return empty
    widths = [
        max(display_width(header), *(display_width(row[i]) for row in cells))
        for i, header in enumerate(headers)
    ]
    lines = [
        "  ".join(
            text + " " * (width - display_width(text))
            for text, width in zip(line, widths, strict=True)
        ).rstrip()
        for line in [list(headers), *cells]
    ]
    return "\n".join(lines)


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (CJK, emoji) count 2, combining marks 0."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or char in _ZERO_WIDTH:
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def user_names(user_ids: Iterable[int], names: Mapping[int, str]) -> str | None:
    """Linked users as ``maria,tom`` (ids for unknown users), or None for nobody."""
    return ",".join(names.get(user_id, str(user_id)) for user_id in user_ids) or None


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, empty: str) -> None:
    """Print ``format_table`` to stdout."""
    click.echo(format_table(headers, rows, empty=empty))


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def sync_summary(report: SyncReport) -> str:
    """One line: what a sync fetched, created, renamed and skipped, and how long it took."""
    counts = (
        f"{report.fetched} fetched, "
        f"{_plural(report.created_contacts, 'new contact')}, "
        f"{_plural(report.created_conversations, 'new conversation')}, "
        f"{report.updated_contacts} renamed, "
        f"{report.skipped} skipped in {report.duration_ms} ms"
    )
    if report.dry_run:
        return f"Dry run of {report.instance_id}, nothing written: {counts}"
    return f"Synced {report.instance_id}: {counts}"
