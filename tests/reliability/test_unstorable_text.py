"""Text from UltraMsg that no database can store costs one character, never a whole sync.

A chat name with a lone UTF-16 surrogate (``"Bad \\ud83d name"``: valid JSON, seen
when UltraMsg cuts a name in the middle of an emoji) made every sync a 502 that
wrote nothing. Through the real client (respx) into SQLite and PostgreSQL, the
name is stored with U+FFFD in its place and every other chat is synced.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import respx

from tests.reliability.figures import UPSTREAM, Recorder
from tests.reliability.support import INSTANCE, FakeTime, sql_app, ultramsg_client
from wa_manager.domain.model import LIBRARY

BASE = "https://ultramsg.test"
BAD = "Bad \ud83d name"


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def chat_list(count: int) -> bytes:
    """``count`` people, the middle one named with a lone surrogate (JSON-escaped)."""
    chats = [
        {"id": f"49151{n:08d}@c.us", "name": BAD if n == count // 2 else f"Person {n} 😀"}
        for n in range(count)
    ]
    return json.dumps(chats).encode()  # ASCII: the emoji as a pair of escapes, BAD as one


def test_a_lone_surrogate_in_a_name_is_stored_as_a_replacement_character(
    database_url: str, mock: respx.MockRouter, figures: Recorder
) -> None:
    mock.get(f"{BASE}/{INSTANCE}/chats").mock(
        return_value=httpx.Response(200, content=chat_list(50))
    )
    app = sql_app(database_url, ultramsg_client(BASE, FakeTime()))
    try:
        report = app.sync()
        names = {
            contact.wa_id: contact.name for contact in app.contacts.page(LIBRARY, limit=100).items
        }
        again = app.sync()
    finally:
        app.close()

    assert report.created_contacts == 50
    assert names["4915100000025@c.us"] == "Bad \ufffd name"
    assert names["4915100000024@c.us"] == "Person 24 😀"
    assert len(names) == 50
    assert (again.created_contacts, again.updated_contacts) == (0, 0)  # stable: no rename loop
    figures.add(UPSTREAM, cases=1, faults=1)
    if database_url.startswith("sqlite"):  # one fix, whichever backends run
        figures.fixed(UPSTREAM, "one chat name with a lone UTF-16 surrogate made the sync a 502")
