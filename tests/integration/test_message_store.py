"""The store contract for messages, held against memory, SQLite and PostgreSQL alike.

Unique by (source, WhatsApp id) whatever the order or the concurrency; statuses
that never go backwards; idempotent replies; threads read newest first by the
messages' own time, page after page.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import backend_params, migrated_url
from tests.integration.test_store_contract import (
    NOW,
    SOURCE,
    add_contacts,
    add_user,
    person,
    with_conversations,
)

from wa_manager.adapters.sql import SqlStore
from wa_manager.domain.model import Direction, Message, MessageStatus, NewMessage
from wa_manager.domain.ports import Store

S = MessageStatus


def inbound(conversation_id: int, wa_id: str, minutes: int = 0, body: str = "hi") -> NewMessage:
    """An inbound message ``minutes`` after NOW."""
    return NewMessage(
        conversation_id=conversation_id,
        wa_message_id=wa_id,
        direction=Direction.IN,
        type="chat",
        body=body,
        media_url=None,
        author=None,
        sender_name="Anna",
        status=S.RECEIVED,
        created_at=NOW + timedelta(minutes=minutes),
    )


def conversation_of(store: Store, number: str) -> int:
    """A new contact with this number and its conversation; the conversation's id."""
    add_contacts(store, person(number))
    with store() as uow:
        uow.conversations.add_for(SOURCE, [f"{number}@c.us"], NOW)
        conversation_id = uow.conversations.id_for(SOURCE, f"{number}@c.us")
        uow.commit()
    assert conversation_id is not None
    return conversation_id


def add(store: Store, *messages: NewMessage, source: str = SOURCE) -> int:
    with store() as uow:
        created = uow.messages.add_many(source, messages)
        uow.commit()
    return created


def reply(
    store: Store, conversation_id: int, key: str | None = None, user_id: int | None = None
) -> tuple[Message, bool]:
    """Store a queued reply (``key``: its idempotency key)."""
    with store() as uow:
        result = uow.messages.add_outbound(
            SOURCE,
            conversation_id,
            "Hello Anna",
            sent_by_user_id=user_id,
            reference_id=f"wam-{uuid.uuid4().hex}",
            idempotency_key=key,
            now=NOW,
        )
        uow.commit()
    return result


def thread(store: Store, conversation_id: int, limit: int = 200) -> list[str | None]:
    """Every message's WhatsApp id (or body), newest first, page by page."""
    seen: list[str | None] = []
    before_id = None
    while True:
        with store() as uow:
            page = uow.messages.page(conversation_id, limit=limit, before_id=before_id)
        seen += [m.wa_message_id or m.body for m in page.items]
        if page.next_before_id is None:
            return seen
        before_id = page.next_before_id


def test_a_message_is_stored_once_however_often_it_arrives(store: Store) -> None:
    (cid,) = with_conversations(store, person("4915100000001"))
    assert add(store, inbound(cid, "false_a"), inbound(cid, "false_a")) == 1
    assert add(store, inbound(cid, "false_a"), inbound(cid, "false_b")) == 1
    assert sorted(x or "" for x in thread(store, cid)) == ["false_a", "false_b"]


def test_the_same_whatsapp_id_of_another_source_is_another_message(store: Store) -> None:
    (cid,) = with_conversations(store, person("4915100000001"))
    assert add(store, inbound(cid, "false_a")) == 1
    assert add(store, inbound(cid, "false_a"), source="instance999") == 1


def test_a_thread_is_newest_first_by_the_messages_own_time(store: Store) -> None:
    (cid,) = with_conversations(store, person("4915100000001"))
    add(store, inbound(cid, "late", minutes=30))
    add(store, inbound(cid, "early", minutes=1), inbound(cid, "middle", minutes=10))
    assert thread(store, cid) == ["late", "middle", "early"]
    assert thread(store, cid, limit=1) == ["late", "middle", "early"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(minutes=st.lists(st.integers(0, 5), min_size=1, max_size=12), limit=st.integers(1, 4))
def test_paging_visits_every_message_once_in_order(
    store: Store, minutes: list[int], limit: int
) -> None:
    prefix = uuid.uuid4().hex
    cid = conversation_of(store, f"49151{uuid.uuid4().int % 10**8:08d}")
    for n, minute in enumerate(minutes):
        add(store, inbound(cid, f"{prefix}-{n}", minutes=minute))
    with store() as uow:
        ids = {
            m.wa_message_id: m.id for m in uow.messages.page(cid, limit=200, before_id=None).items
        }
    expected = sorted(
        (f"{prefix}-{n}" for n in range(len(minutes))),
        key=lambda wa: (minutes[int(wa.rsplit("-", 1)[1])], ids[wa]),
        reverse=True,
    )
    assert [
        wa for wa in thread(store, cid, limit=limit) if wa and wa.startswith(prefix)
    ] == expected


def test_a_cursor_of_another_conversation_gives_an_empty_page(store: Store) -> None:
    first, second = with_conversations(store, person("4915100000001"), person("4915100000002"))
    add(store, inbound(first, "a"), inbound(second, "b"))
    with store() as uow:
        (message,) = uow.messages.page(first, limit=10, before_id=None).items
        assert uow.messages.page(second, limit=10, before_id=message.id).items == ()


def test_a_reply_is_queued_and_an_idempotency_key_gives_back_the_first(store: Store) -> None:
    (cid,) = with_conversations(store, person("4915100000001"))
    maria = add_user(store, "maria")
    first, created = reply(store, cid, key="k1", user_id=maria.id)
    again, created_again = reply(store, cid, key="k1", user_id=maria.id)
    other, other_created = reply(store, cid, key="k2", user_id=maria.id)
    assert (created, created_again, other_created) == (True, False, True)
    assert again == first
    assert first.status is S.QUEUED
    assert first.direction is Direction.OUT
    assert other.id != first.id
    with store() as uow:
        assert uow.messages.by_reference(first.reference_id or "") == first


def test_statuses_never_go_backwards(store: Store) -> None:
    (cid,) = with_conversations(store, person("4915100000001"))
    message, _ = reply(store, cid)
    steps = [
        (S.SENT, True),
        (S.QUEUED, False),
        (S.FAILED, False),
        (S.READ, True),
        (S.DELIVERED, False),
        (S.SENT, False),
    ]
    with store() as uow:
        for status, moves in steps:
            assert uow.messages.advance(message.id, status) is moves, status
        assert uow.messages.get(message.id).status is S.READ  # type: ignore[union-attr]
        uow.commit()


def test_a_failed_reply_can_be_queued_again_and_keeps_its_error_until_then(store: Store) -> None:
    (cid,) = with_conversations(store, person("4915100000001"))
    message, _ = reply(store, cid)
    with store() as uow:
        assert uow.messages.advance(message.id, S.FAILED, error="UltraMsg says: Wrong token")
        assert uow.messages.get(message.id).error == "UltraMsg says: Wrong token"  # type: ignore[union-attr]
        assert uow.messages.advance(message.id, S.QUEUED)
        assert uow.messages.get(message.id).error is None  # type: ignore[union-attr]
        uow.commit()


def test_tie_names_a_reply_once_and_acks_find_it_by_that_name(store: Store) -> None:
    (cid,) = with_conversations(store, person("4915100000001"))
    message, _ = reply(store, cid)
    add(store, inbound(cid, "false_taken"))
    with store() as uow:
        assert not uow.messages.tie(message.id, "false_taken")
        assert uow.messages.tie(message.id, "true_ours")
        assert not uow.messages.tie(message.id, "true_other")
        assert uow.messages.advance_by_wa_id(SOURCE, "true_ours", S.DELIVERED)
        assert not uow.messages.advance_by_wa_id(SOURCE, "true_ours", S.SENT)
        assert not uow.messages.advance_by_wa_id(SOURCE, "false_taken", S.READ)  # inbound
        assert not uow.messages.advance_by_wa_id("instance999", "true_ours", S.READ)
        uow.commit()
    with store() as uow:
        stored = uow.messages.get(message.id)
    assert stored is not None
    assert (stored.wa_message_id, stored.status) == ("true_ours", S.DELIVERED)


POSTGRES = backend_params("postgres")


@pytest.mark.parametrize("backend", POSTGRES)
def test_concurrent_inserts_of_one_message_store_it_once(
    backend: str, request: pytest.FixtureRequest
) -> None:
    sql_store = SqlStore.open(migrated_url(backend, request))
    try:
        (cid,) = with_conversations(sql_store, person("4915100000001"))
        start = threading.Barrier(8)
        created: list[int] = []

        def deliver() -> None:
            start.wait()
            created.append(add(sql_store, inbound(cid, "false_race"), inbound(cid, "false_other")))

        workers = [threading.Thread(target=deliver) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert sum(created) == 2
        assert sorted(x or "" for x in thread(sql_store, cid)) == ["false_other", "false_race"]
    finally:
        sql_store.close()


@pytest.mark.parametrize("backend", POSTGRES)
def test_concurrent_replies_with_one_idempotency_key_store_one(
    backend: str, request: pytest.FixtureRequest
) -> None:
    sql_store = SqlStore.open(migrated_url(backend, request))
    try:
        (cid,) = with_conversations(sql_store, person("4915100000001"))
        maria = add_user(sql_store, "maria")
        start = threading.Barrier(6)
        results: list[tuple[int, bool]] = []

        def send() -> None:
            start.wait()
            message, created = reply(sql_store, cid, key="same", user_id=maria.id)
            results.append((message.id, created))

        workers = [threading.Thread(target=send) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert len({message_id for message_id, _ in results}) == 1
        assert sum(created for _, created in results) == 1
    finally:
        sql_store.close()
