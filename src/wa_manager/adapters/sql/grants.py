"""Reading grants (a contact's linked users or teams) for many contacts in one query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, select

from wa_manager.adapters.sql.database import Database


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
