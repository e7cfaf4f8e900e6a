"""hypothesis on the chat-list parser: any bytes give chats or ``UpstreamBadResponse``, never
another exception; any JSON array gives one chat per item, ids and names kept exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.figures import PARSER, Recorder
from wa_manager.adapters.ultramsg.parsing import error_in_body, parse_chats
from wa_manager.domain.errors import UpstreamBadResponse
from wa_manager.domain.model import RawChat

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
chat_items = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"id": json_values | st.text(), "name": json_values | st.text()},
        optional={"unread": json_values, "last_time": json_values},
    ),
)


def expected_chat(item: Any) -> RawChat:
    if not isinstance(item, dict):
        return RawChat(None, None)
    wa_id, name = item.get("id"), item.get("name")
    return RawChat(
        wa_id if isinstance(wa_id, str) else None, name if isinstance(name, str) else None
    )


def parse_or_message(body: bytes) -> list[RawChat] | str:
    """The chats, or the message of our error; any other exception fails the test."""
    try:
        return parse_chats(bytearray(body), release=True)
    except UpstreamBadResponse as error:
        return str(error)


def fuzz_bytes(figures: Recorder, examples: int) -> None:
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode()))
    def check(body: bytes) -> None:
        outcome = parse_or_message(body)
        if isinstance(outcome, str):
            assert "\n" not in outcome
        else:
            assert all(isinstance(chat, RawChat) for chat in outcome)
        error_in_body(body)  # never raises
        figures.add(PARSER, cases=1)

    check()


def fuzz_arrays(figures: Recorder, examples: int) -> None:
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(chat_items, max_size=12), st.booleans())
    def check(items: list[Any], cut: bool) -> None:
        body = json.dumps(items, ensure_ascii=False).encode()
        if cut and len(body) > 2:
            with pytest.raises(UpstreamBadResponse):
                parse_chats(body[:-1])
        else:
            assert parse_chats(body) == [expected_chat(item) for item in items]
        figures.add(PARSER, cases=1)

    check()


def test_any_bytes_give_chats_or_our_error(figures: Recorder) -> None:
    fuzz_bytes(figures, examples=300)


def test_any_array_gives_one_chat_per_item(figures: Recorder) -> None:
    fuzz_arrays(figures, examples=300)


@pytest.mark.slow
def test_many_bytes_and_arrays(figures: Recorder) -> None:
    fuzz_bytes(figures, examples=5_000)
    fuzz_arrays(figures, examples=5_000)
