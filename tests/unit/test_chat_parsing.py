"""parse_chats: UltraMsg's chat list bytes to RawChat tuples, and nothing else gets out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wa_manager.adapters.fake_ultramsg import encode_chats, generate_chats, sample_chats
from wa_manager.adapters.ultramsg import error_in_body, parse_chats
from wa_manager.domain.errors import UpstreamBadResponse
from wa_manager.domain.model import RawChat
from wa_manager.redaction import redact


def body_of(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def test_ids_and_names_are_read_in_order_and_other_fields_ignored() -> None:
    body = body_of(
        [
            {"id": "4915112345678@c.us", "name": "Anna Schmidt", "unread": 0, "last_time": 1},
            {"id": "120363041234567890@g.us", "name": "Family", "pic": {"url": "x"}},
            {"name": "no id", "id": "140000000000001@lid", "extra": [1, 2, {"a": None}]},
        ]
    )
    assert parse_chats(body) == [
        RawChat("4915112345678@c.us", "Anna Schmidt"),
        RawChat("120363041234567890@g.us", "Family"),
        RawChat("140000000000001@lid", "no id"),
    ]


def test_missing_null_and_empty_names() -> None:
    body = body_of([{"id": "1@c.us"}, {"id": "2@c.us", "name": None}, {"id": "3@c.us", "name": ""}])
    assert parse_chats(body) == [
        RawChat("1@c.us", None),
        RawChat("2@c.us", None),
        RawChat("3@c.us", ""),
    ]


@pytest.mark.parametrize(
    "name",
    [
        "🎉🎂 Party Planner 🎈",
        "Max 👨‍👩‍👧‍👦 Family Dad",
        "محمد العتيبي",
        "נועה כהן",
        "<script>alert(1)</script>",
        "Long name " + "x" * 1990,
        "  Spaces around  ",
        'quote " backslash \\ newline \n tab \t nul \u0000',
    ],
)
def test_names_are_kept_byte_for_byte(name: str) -> None:
    for body in (
        body_of([{"id": "1@c.us", "name": name}]),
        json.dumps([{"id": "1@c.us", "name": name}]).encode(),
    ):
        [chat] = parse_chats(body)
        assert chat.name is not None
        assert chat.name.encode() == name.encode()


def test_empty_array_is_no_chats() -> None:
    assert parse_chats(b"[]") == []
    assert parse_chats(b" \n[ ]\n") == []


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (1, RawChat(None, None)),
        ("4915112345678@c.us", RawChat(None, None)),
        (None, RawChat(None, None)),
        ([1, 2], RawChat(None, None)),
        (True, RawChat(None, None)),
        ({"id": 4915112345678, "name": "Numeric id"}, RawChat(None, "Numeric id")),
        ({"id": "4915112345678@c.us", "name": 42}, RawChat("4915112345678@c.us", None)),
        ({"id": "4915112345678@c.us", "name": ["a"]}, RawChat("4915112345678@c.us", None)),
        ({"id": None, "name": None}, RawChat(None, None)),
        ({}, RawChat(None, None)),
    ],
)
def test_items_of_wrong_types_keep_their_place_without_spoiling_the_others(
    item: object, expected: RawChat
) -> None:
    body = body_of([{"id": "first@c.us", "name": "First"}, item, {"id": "last@c.us"}])
    assert parse_chats(body) == [
        RawChat("first@c.us", "First"),
        expected,
        RawChat("last@c.us", None),
    ]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (b'[{"id": "1@c.us", "name": "An', "cut off"),
        (b'[{"id": "1@c.us"},', "cut off"),
        (b"<html><body>502 Bad Gateway</body></html>", "not JSON"),
        (b"OK", "not JSON"),
        (b'{"chats": []}', "a JSON object"),
        (b'"4915112345678@c.us"', "a JSON string"),
        (b"42", "a JSON number"),
        (b"null", "JSON null"),
        (b"true", "a JSON boolean"),
    ],
)
def test_anything_but_an_array_is_a_bad_response_that_says_why(body: bytes, words: str) -> None:
    with pytest.raises(UpstreamBadResponse) as raised:
        parse_chats(body)
    message = str(raised.value)
    assert words in message
    assert "\n" not in message


def test_a_bad_body_preview_never_shows_a_token() -> None:
    with pytest.raises(UpstreamBadResponse) as raised:
        parse_chats(b"GET /x?token=tok-SECRET-123 failed")
    assert "tok-SECRET-123" not in str(raised.value)
    assert "token=***" in str(raised.value)


def test_a_bytearray_body_can_be_released_once_decoded() -> None:
    body = bytearray(encode_chats(sample_chats()))
    chats = parse_chats(body, release=True)
    assert len(chats) == len(sample_chats())
    assert body == bytearray()


def test_a_bytearray_body_is_kept_when_the_lenient_path_needs_it() -> None:
    body = bytearray(b'[1, {"id": "1@c.us"}]')
    assert parse_chats(body, release=True) == [RawChat(None, None), RawChat("1@c.us", None)]


def test_generated_chats_round_trip() -> None:
    chats = generate_chats(2_000, seed=7)
    assert parse_chats(encode_chats(chats)) == [RawChat(c["id"], c["name"]) for c in chats]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (
            b'{"error": "Wrong token. Please provide token as a GET parameter."}',
            "Wrong token. Please provide token as a GET parameter.",
        ),
        (b'{"error": "Instance not found"}', "Instance not found"),
        (b' {"error": [{"token": "is required"}]}', "token is required"),
        (b'{"error": {"instance": "is invalid"}}', "instance is invalid"),
        (b'{"error": 5}', "5"),
    ],
)
def test_error_bodies_are_read_in_every_form(body: bytes, text: str) -> None:
    assert error_in_body(body) == text


@pytest.mark.parametrize("body", [b"[]", b'{"status": "ok"}', b"{not json", b"", b'"error"'])
def test_bodies_without_an_error_object_have_no_error(body: bytes) -> None:
    assert error_in_body(body) is None


@pytest.mark.parametrize(
    "text",
    [
        "GET https://api.ultramsg.com/instance1/chats?token=abc123",
        "https://x/y?a=1&token=abc123&b=2",
        "https://x/y?TOKEN=abc123#frag",
    ],
)
def test_redact_hides_token_values(text: str) -> None:
    redacted = redact(text)
    assert "abc123" not in redacted
    assert "token=***" in redacted.lower()


def test_redact_hides_a_known_secret_anywhere() -> None:
    assert redact("the server said abc123 back", "abc123") == "the server said *** back"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=5) | st.sampled_from(["id", "name"]), children, max_size=4
        )
    ),
    max_leaves=12,
)


@given(json_values)
def test_any_json_value_gives_chats_or_a_bad_response(value: object) -> None:
    body = body_of(value)
    try:
        chats = parse_chats(body)
    except UpstreamBadResponse:
        assert not isinstance(value, list)
        return
    assert isinstance(value, list)
    assert len(chats) == len(value)
    for item, chat in zip(value, chats, strict=True):
        assert isinstance(chat, RawChat)
        wa_id = item.get("id") if isinstance(item, dict) else None
        name = item.get("name") if isinstance(item, dict) else None
        assert chat.wa_id == (wa_id if isinstance(wa_id, str) else None)
        assert chat.name == (name if isinstance(name, str) else None)


@given(st.binary(max_size=64))
def test_any_bytes_give_chats_or_a_bad_response(body: bytes) -> None:
    problem = ""
    chats: list[RawChat] = []
    try:
        chats = parse_chats(body)
    except UpstreamBadResponse as error:
        problem = str(error)
    assert "\n" not in problem
    assert all(isinstance(chat, RawChat) for chat in chats)


# -- lone UTF-16 surrogates (a name cut in the middle of an emoji) ---------------------


def utf16_repaired(text: str) -> str:
    """What a lone surrogate in ``text`` must become: U+FFFD; pairs stay one character."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


@pytest.mark.parametrize("strict", [True, False], ids=["fast-path", "lenient-path"])
def test_a_lone_surrogate_becomes_a_replacement_character_and_the_rest_is_read(
    strict: bool,
) -> None:
    items: list[Any] = [
        {"id": "4915100000001@c.us", "name": "Bad \ud83d name"},
        {"id": "4915100000002@c.us", "name": "Anna \U0001f600"},
        {"id": "4915100000003@c.us", "name": "\ude00 low first"},
    ]
    if not strict:
        items.insert(0, 7)  # not an object: the lenient path reads the rest
    body = json.dumps(items).encode()  # ASCII: the surrogates are \ud83d, \ude00 escapes
    chats = parse_chats(bytearray(body), release=True)
    assert chats[-3:] == [
        RawChat("4915100000001@c.us", "Bad \ufffd name"),
        RawChat("4915100000002@c.us", "Anna \U0001f600"),
        RawChat("4915100000003@c.us", "\ufffd low first"),
    ]


@given(
    st.lists(
        st.text(
            st.sampled_from(["\\", "u", "d", "8", "3", "c", "0", "\ud83d", "\udc00", "😀", "a"])
            | st.characters(),
            max_size=12,
        ),
        max_size=5,
    )
)
@example(["Bad \ud83d name", "\\ud83d", "\\\ud83d", "\ud83d\udc00", "\udc00\ud83d"])
def test_any_string_with_surrogates_reads_as_its_utf16_repair(names: list[str]) -> None:
    body = json.dumps([{"id": f"{n}@c.us", "name": name} for n, name in enumerate(names)])
    chats = parse_chats(body.encode())
    assert [chat.name for chat in chats] == [utf16_repaired(name) for name in names]


@pytest.mark.parametrize(
    "body",
    [b"[" * 3000 + b"]" * 3000, b'[{"id": ' + b"[" * 3000 + b"]" * 3000 + b"}]", b'{"a":' * 3000],
)
def test_json_nested_too_deeply_is_a_bad_response(body: bytes) -> None:
    with pytest.raises(UpstreamBadResponse, match="nested too deeply"):
        parse_chats(body)
