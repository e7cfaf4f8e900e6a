"""The SQL store's sync read: JSON columns compared whole, decoded only when needed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wa_manager.adapters.sql import SqlStore
from wa_manager.adapters.sql.sync_state import JsonColumn
from wa_manager.domain.model import NewContact
from wa_manager.domain.rules import plan_sync

NOW = datetime(2024, 11, 24, 12, 0, tzinfo=UTC)
SOURCE = "instance12345"
NAMES = [None, 'q " \\ /', "ctl \x01\x1f\x7f\t\n", "👨\u200d👩 \u2028 محمد 田中", "Anna"]


def _store_people(store: SqlStore) -> list[str]:
    ids = [f"4915{n:04d}@c.us" for n in range(len(NAMES))]
    with store() as uow:
        rows = [NewContact(i, name, None, "person") for i, name in zip(ids, NAMES, strict=True)]
        uow.contacts.add_many(SOURCE, rows, NOW)
        uow.commit()
    return ids


def test_equal_columns_are_compared_as_text_without_decoding(sql_store: SqlStore) -> None:
    ids = _store_people(sql_store)
    with sql_store(read_only=True) as uow:
        stored = uow.contacts.sync_state(SOURCE)
    assert isinstance(stored.wa_ids, JsonColumn)
    assert isinstance(stored.names, JsonColumn)
    assert stored.wa_ids == ids
    assert stored.names == NAMES
    assert not stored.wa_ids.decoded
    assert not stored.names.decoded  # the database wrote the JSON as msgspec does


def test_a_no_change_plan_reads_no_stored_item(sql_store: SqlStore) -> None:
    ids = _store_people(sql_store)
    chats = list(zip(ids, NAMES, strict=True))
    with sql_store(read_only=True) as uow:
        stored = uow.contacts.sync_state(SOURCE)
    plan = plan_sync(chats, stored)
    assert (len(plan.new), plan.renames, plan.vanished, plan.returned) == (0, [], [], [])
    assert isinstance(stored.wa_ids, JsonColumn)
    assert not stored.wa_ids.decoded


@pytest.mark.parametrize("change", ["reordered", "renamed", "one less"])
def test_other_payloads_decode_and_plan_as_before(sql_store: SqlStore, change: str) -> None:
    ids = _store_people(sql_store)
    chats = list(zip(ids, NAMES, strict=True))
    if change == "reordered":
        chats.reverse()
    elif change == "renamed":
        chats[-1] = (chats[-1][0], "Anna S.")
    else:
        del chats[0]
    with sql_store(read_only=True) as uow:
        stored = uow.contacts.sync_state(SOURCE)
    plan = plan_sync(chats, stored)
    assert len(plan.new) == 0
    assert plan.renames == ([(ids[-1], "Anna S.")] if change == "renamed" else [])
    assert plan.vanished == ([ids[0]] if change == "one less" else [])


def test_json_column_behaves_as_the_list_it_holds() -> None:
    column = JsonColumn(b'["a","b",null]', 3)
    assert len(column) == 3
    assert not column.decoded
    assert column == ["a", "b", None]
    assert not column.decoded
    assert column != ["a", "b"]
    assert column != ["a", "b", object()]  # not JSON: compared item by item
    assert column.decoded
    assert list(column) == ["a", "b", None]
    assert (column[1], column[-1], column[:2]) == ("b", None, ["a", "b"])
    assert column == JsonColumn(b'[ "a", "b", null ]', 3)  # other spacing: decoded, equal
    assert column != ("a", "b", None)  # a list only, like a list
    assert JsonColumn(b'["ab"]', 1) != ["a"]
    long = [f"{n}@lid" for n in range(200)]
    text = b"[" + b",".join(b'"%s"' % item.encode() for item in long) + b"]"
    assert JsonColumn(text, 200) == long
    assert JsonColumn(text, 200) != [*long[:199], "x@lid"]
    assert JsonColumn(text, 200) != long[::-1]


def test_the_columns_keep_the_order_contacts_were_created_in(sql_store: SqlStore) -> None:
    ids = _store_people(sql_store)
    with sql_store() as uow:  # updates move rows on PostgreSQL; the order is by id
        uow.contacts.rename_many(SOURCE, [(ids[0], "Renamed"), (ids[2], "Renamed too")])
        uow.contacts.set_vanished(SOURCE, [ids[1]], NOW)
        uow.commit()
    with sql_store(read_only=True) as uow:
        stored = uow.contacts.sync_state(SOURCE)
    assert list(stored.wa_ids) == ids
    assert stored.vanished == {ids[1]}
