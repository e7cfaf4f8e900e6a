"""Which contacts a list or a bulk change is about: SQL conditions on ``contacts``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_

from wa_manager.adapters.sql.tables import contacts
from wa_manager.domain.model import ContactSelection


def text_matches(
    dialect: str, search: str, columns: Sequence[ColumnElement[Any]]
) -> ColumnElement[bool]:
    """Any of ``columns`` holds ``search``, ignoring case (``%`` and ``_`` literal).

    SQLite's own LIKE ignores ASCII case: only non-ASCII text needs the (Python,
    slower) Unicode lower() on every row; PostgreSQL has ILIKE.
    """
    native = dialect == "sqlite" and search.isascii()
    return or_(
        *(
            column.contains(search, autoescape=True)
            if native
            else column.icontains(search, autoescape=True)
            for column in columns
        )
    )


def contact_conditions(
    dialect: str, search: str | None, vanished: bool | None, source: str | None = None
) -> list[ColumnElement[bool]]:
    """``search``: a case-insensitive substring of name, phone or wa_id (``%`` and ``_``
    literal); ``vanished`` True/False: only contacts gone from / present in the chat list;
    ``source``: only one WhatsApp number's."""
    conditions: list[ColumnElement[bool]] = []
    if source is not None:
        conditions.append(contacts.c.source == source)
    if search:
        conditions.append(
            text_matches(dialect, search, (contacts.c.name, contacts.c.phone, contacts.c.wa_id))
        )
    if vanished is not None:
        column = contacts.c.vanished_at
        conditions.append(column.is_not(None) if vanished else column.is_(None))
    return conditions


def selected(dialect: str, selection: ContactSelection) -> list[ColumnElement[bool]]:
    """Conditions on ``contacts`` for the contacts ``selection`` names (never empty)."""
    if selection.contact_ids is not None:
        return [contacts.c.id.in_(list(selection.contact_ids))]
    return [
        contacts.c.id.is_not(None),
        *contact_conditions(dialect, selection.search, selection.vanished, selection.source),
    ]
