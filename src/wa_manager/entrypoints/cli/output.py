"""How the CLI writes results: JSON to stdout alone, or short human tables and summaries."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import click

from wa_manager.domain.model import SyncReport

MAX_CELL_WIDTH = 40
ELLIPSIS = "…"


def echo_json(data: Any) -> None:
    """``data`` as JSON on stdout; names are written as they are (no \\u escapes)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


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
    widths = [max(len(header), *(len(row[i]) for row in cells)) for i, header in enumerate(headers)]
    lines = [
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in [list(headers), *cells]
    ]
    return "\n".join(lines)


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
