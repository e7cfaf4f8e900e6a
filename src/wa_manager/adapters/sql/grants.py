"""Grant-style pair tables (a contact's linked users or teams, a team's members):
reading them for many contacts in one query, and adding or removing one pair."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Table, delete, select

from wa_manager.adapters.sql.database import Database
from wa_manager.domain.errors import WaManagerError


def grantees_by_contact(
    db: Database, contact: Column[Any], grantee: Column[Any], contact_ids: Sequence[int]
) -> dict[int, list[int]]:
    """contact id -> grantee ids (ascending) from one grant table, in one query."""
    if not contact_ids:
        return {}
    rows = db.execute(
        select(contact, grantee).where(contact.in_(contact_ids)).order_by(contact, grantee)
    )
    result: dict[int, list[int]] = {}
    for contact_id, grantee_id in rows:
        result.setdefault(contact_id, []).append(grantee_id)
    return result


def add_pair(
    db: Database,
    table: Table,
    pair: Mapping[str, int | str],
    extra: Mapping[str, Any],
    unknown: WaManagerError,
) -> bool:
    """Insert the row ``pair`` (its unique key) with ``extra`` unless that pair is there
    already; True when a row was added. ``unknown``: raised when a foreign key rejects it."""
    statement = (
        db.insert(table).values({**pair, **extra}).on_conflict_do_nothing(index_elements=list(pair))
    )
    return db.execute(statement, integrity_error=unknown).rowcount > 0


def remove_pair(db: Database, table: Table, pair: Mapping[str, int | str]) -> bool:
    """Delete the row keyed by ``pair``; True when there was one."""
    statement = delete(table).where(*(table.c[name] == value for name, value in pair.items()))
    return db.execute(statement).rowcount > 0
