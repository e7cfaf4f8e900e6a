"""ChatStream: the chat list decoded while it arrives gives what ``parse_chats`` gives for
the whole body (the same chats, or the same one-line error), however it is cut into
chunks, and keeps only about a window of undecoded bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wa_manager.adapters.fake_ultramsg import encode_chats, generate_chats, sample_chats
from wa_manager.adapters.ultramsg.chat_stream import ChatStream
from wa_manager.adapters.ultramsg.parsing import parse_chats
from wa_manager.domain.errors import UpstreamBadResponse
from wa_manager.domain.model import ChatList, RawChat


def whole(body: bytes) -> ChatList | str:
    """``parse_chats``' answer: the chats, or its error's message."""
    try:
        return parse_chats(body)
    except UpstreamBadResponse as error:
        return error.message


def streamed(body: bytes, cuts: list[int], step: int) -> ChatList | str:
    """The stream's answer for ``body`` fed in pieces cut at ``cuts``."""
    stream = ChatStream(step=step)
    start = 0
    for cut in [*sorted(cuts), len(body)]:
        stream.feed(body[start:cut])
        start = max(start, cut)
    try:
        return stream.finish()
    except UpstreamBadResponse as error:
        return error.message


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.text(st.sampled_from(['"', "\\", "}", "{", ",", "]", "[", " ", "a", "é", "\ud83d"])),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "name", "x"]), children, max_size=3)
    ),
    max_leaves=8,
)
chat_items = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"id": st.text(max_size=8) | json_values, "name": st.text(max_size=8) | json_values}
    ),
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """Chat lists with awkward items (braces and commas in strings, nested objects,
    lone surrogate escapes), sometimes spaced out, cut short or spoiled."""
    items = draw(st.lists(chat_items, max_size=12))
    body = json.dumps(
        items, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1]))
    )
    encoded = body.encode("utf-8", "surrogatepass")
    damage = draw(st.sampled_from(["none", "none", "cut", "garbage", "junk-after"]))
    if damage == "cut" and len(encoded) > 1:
        encoded = encoded[: draw(st.integers(1, len(encoded) - 1))]
    elif damage == "garbage":
        at = draw(st.integers(0, len(encoded)))
        encoded = (
            encoded[:at] + draw(st.sampled_from([b"}", b",{", b'"', b"\xff", b"]"])) + encoded[at:]
        )
    elif damage == "junk-after":
        encoded += b" x"
    return encoded


@given(bodies(), st.lists(st.integers(0, 400), max_size=8), st.integers(1, 64))
# A lone surrogate written as UTF-8 bytes: msgspec 0.18.0 raised UnicodeDecodeError.
@example(body=b'["\xed\xa0\xbd"]', cuts=[], step=1)
def test_any_chunks_give_what_the_whole_body_gives(body: bytes, cuts: list[int], step: int) -> None:
    assert streamed(body, cuts, step) == whole(body)


@given(st.binary(max_size=80), st.lists(st.integers(0, 80), max_size=4), st.integers(1, 16))
def test_any_bytes_give_what_the_whole_body_gives(body: bytes, cuts: list[int], step: int) -> None:
    assert streamed(body, cuts, step) == whole(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"  \n ",
        b'{"error": "Wrong token"}',
        b"<html>502 Bad Gateway</html>",
        b"[" + b'{"id": "1@c.us", "name": "x"},' * 50 + b'{"id": "2@c.us", "name": "cut',
        b"[" + b'{"id": "1@c.us"},' * 50 + b"{oops}]",
        b"[" + b'{"id": "1@c.us"},' * 50 + b'{"id": "2@c.us"}] trailing',
        b"[" + b"[" * 5000 + b"]" * 5000 + b"]",
    ],
)
def test_bad_bodies_are_explained_as_for_the_whole_body(body: bytes) -> None:
    assert streamed(body, list(range(0, len(body), 7)), 16) == whole(body)


def test_a_large_list_is_decoded_as_it_arrives() -> None:
    chats = generate_chats(20_000, seed=3)
    body = encode_chats(chats)
    stream = ChatStream(step=16_384)
    most_waiting = 0
    for start in range(0, len(body), 4096):
        stream.feed(body[start : start + 4096])
        most_waiting = max(most_waiting, len(stream.pending))
    assert stream.finish() == [RawChat(c["id"], c["name"]) for c in chats]
    assert most_waiting < 16_384 + 2 * 4096 + 200  # a window, not the ~1.6 MB body
    assert stream.pending == bytearray()


def test_a_body_that_is_not_a_list_is_kept_whole_for_the_error_check() -> None:
    stream = ChatStream(step=4)
    stream.feed(b' {"error": ')
    stream.feed(b'"Wrong token"}')
    assert stream.pending == bytearray(b' {"error": "Wrong token"}')
    assert stream.size == len(stream.pending)


@pytest.mark.parametrize("step", [1, 3, 50, 1 << 20])
def test_the_sample_chats_stream_in_any_window(step: int) -> None:
    body = encode_chats(sample_chats())
    assert streamed(body, list(range(0, len(body), 11)), step) == whole(body)


def test_items_of_odd_types_in_one_window_take_the_lenient_path() -> None:
    items: list[Any] = (
        [{"id": "1@c.us"}] * 20 + [7, {"id": 5, "name": "n"}] + [{"id": "2@c.us"}] * 20
    )
    body = json.dumps(items).encode()
    assert streamed(body, list(range(0, len(body), 5)), 32) == whole(body)
