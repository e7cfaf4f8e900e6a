"""A merge racing a sync and a webhook for the merged chat id, on a real database.

Each round syncs a new pair of chats (a ``@c.us`` and its ``@lid`` twin), then
releases three threads at once: the merge of the ``@lid`` into the ``@c.us``, a
sync whose chat list still holds both, and an inbound message webhook from the
``@lid``. Whatever the order the database let them through in, the round ends
with one contact (the survivor; the ``@lid`` never comes back) and the message
in the survivor's conversation, stored once.

The locking that makes it so: the merge locks both contact rows ``FOR UPDATE``
in id order, then both conversations; a webhook's upsert of the merged contact
waits for that lock and, finding the row gone when the merge commits, inserts a
fresh one, sees the alias the merge committed, rolls back and lands on the
survivor (``services.webhooks._seen``). A sync reads the contacts and their
aliases in one snapshot: before the merge the ``@lid`` is a contact, after it an
alias, so it is never new; its writes to the merged row wait for the merge and
then find nothing to change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.conftest import backend_params, fresh_sqlite_url, migrated_url
from tests.identity_support import BASE_TIME, by_wa_id, messages_of, post
from tests.reliability.support import together as _together
from wa_manager import App
from wa_manager.adapters.sql import SqlStore
from wa_manager.domain.errors import SyncAlreadyRunning
from wa_manager.domain.model import CLI, RawChat
from wa_manager.testing import StaticChats, memory_app

ROUNDS = 10

pytestmark = pytest.mark.timeout(300)


def _pair(n: int) -> tuple[str, str]:
    return f"49151000000{n:02d}@c.us", f"1400000000000{n:02d}@lid"


@pytest.fixture(params=backend_params("sqlite", "postgres"))
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[App, StaticChats]]:
    url = (
        fresh_sqlite_url(tmp_path)
        if request.param == "sqlite"
        else migrated_url("postgres", request)
    )
    chats = StaticChats([])
    built = memory_app(chats, store=SqlStore.open(url))
    yield built, chats
    built.close()


def test_a_merge_racing_a_sync_and_a_webhook_ends_with_one_contact_and_every_message(
    world: tuple[App, StaticChats],
) -> None:
    app, chats = world
    for n in range(ROUNDS):
        person, lid = _pair(n)
        chats.chats = [RawChat(wa_id, "Twin") for k in range(n + 1) for wa_id in _pair(k)]
        app.sync()
        ids = {wa_id: contact.id for wa_id, contact in by_wa_id(app).items()}
        message_id = f"race-{n}"
        merge, sync, webhook = _together(
            partial(app.identities.merge, CLI, ids[lid], ids[person]),
            app.sync,
            partial(post, app, lid, message_id, BASE_TIME + n),
        )
        assert merge is None, merge
        assert webhook is None, webhook
        # a sync may only be refused for the lock (SQLite: a writer held it too long)
        assert sync is None or isinstance(sync, SyncAlreadyRunning), sync
        stored = by_wa_id(app)
        assert lid not in stored
        assert person in stored
        assert messages_of(app, stored[person].id)[message_id, "hi"] == 1
        app.sync()  # and later syncs never bring the merged chat back
        assert lid not in by_wa_id(app)
    assert len(by_wa_id(app)) == ROUNDS


def _until_someone_waits_for_a_lock(engine: Engine) -> None:
    """Return once a PostgreSQL backend waits for a row lock (at most ~30 s)."""
    waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted"
    for _ in range(3000):
        with engine.connect() as probe:
            if probe.execute(text(waiting)).scalar():
                return
        time.sleep(0.01)
    raise AssertionError("the merge never waited for the row")


def test_a_merge_caught_in_a_deadlock_is_tried_again(request: pytest.FixtureRequest) -> None:
    """Another writer holds the merged contact's row and then asks for the survivor's
    (as a sync renaming both in the other order would) while the merge holds the
    survivor's and waits for the merged one's: PostgreSQL breaks the deadlock by
    rolling the merge back, and the merge goes through on its next try."""
    url = migrated_url("postgres", request)
    person, lid = _pair(0)
    app = memory_app([RawChat(person, "Twin"), RawChat(lid, "Twin")], store=SqlStore.open(url))
    try:
        app.sync()
        ids = {wa_id: contact.id for wa_id, contact in by_wa_id(app).items()}
        assert ids[person] < ids[lid]  # the merge locks the survivor first
        engine = create_engine(url)
        holding = threading.Event()
        touch = text("UPDATE contacts SET name = name WHERE id = :id")

        def other_writer() -> None:
            with engine.begin() as connection:
                connection.execute(touch, {"id": ids[lid]})
                holding.set()
                _until_someone_waits_for_a_lock(engine)  # the merge, holding the survivor
                connection.execute(touch, {"id": ids[person]})

        writer = threading.Thread(target=other_writer)
        writer.start()
        holding.wait(timeout=30)
        survivor = app.identities.merge(CLI, ids[lid], ids[person])
        writer.join()
        engine.dispose()
        assert survivor.id == ids[person]
        assert list(by_wa_id(app)) == [person]
    finally:
        app.close()
