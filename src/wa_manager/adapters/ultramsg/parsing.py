"""Reading UltraMsg's answers: the chat list, error bodies and the instance status.

Pure functions over bytes, no I/O. ``parse_chats`` is the hot path of a sync: a
million chats (about 80 MB) are decoded by msgspec straight into small structs
that keep only ``id`` and ``name``, then into the two columns of a ``ChatList``;
only when that strict decode fails (an item that is not an object, an id or name
of the wrong type) does a lenient path look at each item on its own. Anything
that is not a JSON array (or is nested too deeply to decode) is an
``UpstreamBadResponse``. (``chat_stream`` decodes the same list while it arrives.)

JSON may escape a lone UTF-16 surrogate (``"\\ud83d"``: a name cut in the middle
of an emoji), which msgspec refuses and no database could store; when msgspec
says so, those escapes are rewritten to U+FFFD and the body is decoded again,
so one such name costs the sync nothing.
"""

from __future__ import annotations

import re
from operator import attrgetter
from typing import Any, NoReturn, TypeVar

import msgspec

from wa_manager.domain.bulk import collector_paused
from wa_manager.domain.errors import UpstreamBadResponse
from wa_manager.domain.messages import raw_message
from wa_manager.domain.model import ChatList, RawMessage, SendReceipt
from wa_manager.redaction import redact


class _Chat(msgspec.Struct, gc=False):
    """One chat as msgspec decodes it: the two fields we keep, the rest ignored."""

    id: str | None = None
    name: str | None = None


class _LooseChat(msgspec.Struct, gc=False):
    """One chat object whose id and name may be of any JSON type (the lenient path)."""

    id: Any = None
    name: Any = None


_CHATS = msgspec.json.Decoder(list[_Chat])
# Any JSON value per item: objects become _LooseChat, everything else stays as it is.
_LOOSE_ITEMS = msgspec.json.Decoder(list[_LooseChat | str | int | float | bool | list[Any] | None])
_ANY = msgspec.json.Decoder()
_T = TypeVar("_T")
_ID = attrgetter("id")
_NAME = attrgetter("name")
_PREVIEW_CHARS = 40
HEAD_BYTES = _PREVIEW_CHARS * 4  # what an error message may show of a body, at most
# What "this is not JSON we can read" looks like: msgspec's own error, nesting too deep,
# or (older msgspec releases) invalid UTF-8 in a string raised as a UnicodeDecodeError.
UNDECODABLE = (msgspec.DecodeError, RecursionError, UnicodeDecodeError)
Undecodable = msgspec.DecodeError | RecursionError | UnicodeDecodeError
# A run of backslashes, then "u" and a UTF-16 surrogate's hex: a high one with
# perhaps its low one after it, or a low one. An odd run makes it an escape. (The
# literal first backslash lets the regex engine skip ahead fast: 0.05 s for 100 MB
# without escapes; no re.IGNORECASE for the same reason.)
_SURROGATE_ESCAPE = re.compile(
    rb"\\(\\*)u(?:([dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
    rb"|[dD][c-fC-F][0-9a-fA-F]{2})"
)
_REPLACEMENT_ESCAPE = b"\\ufffd"
_LOW_ESCAPE_LENGTH = 6


class _Undecodable(Exception):
    """Internal: msgspec refused the body; lone surrogate escapes may be why."""

    def __init__(self, error: msgspec.DecodeError) -> None:
        super().__init__(str(error))
        self.error = error


def parse_chats(body: bytes | bytearray | memoryview, *, release: bool = False) -> ChatList:
    """The chats in UltraMsg's answer, one ``RawChat`` per array item, in order.

    An item that is not an object, or whose id is not a string, gives a
    ``RawChat`` with ``wa_id`` None (the sync skips it); a name that is not a
    string gives ``name`` None. Raises ``UpstreamBadResponse`` when the body is
    not JSON, is cut off, or is not an array.

    A lone surrogate in a string becomes U+FFFD (see the module docstring).

    ``release=True`` with a ``bytearray`` body empties it as soon as it is decoded,
    so the raw bytes and the finished tuples are never in memory at once.
    """
    try:
        return _parse(body, release=release, repairable=True)
    except _Undecodable as undecodable:
        error = undecodable.error
    repaired = replace_lone_surrogates(body)
    if repaired == body:
        raise UpstreamBadResponse(describe_decode_error(len(body), body[:HEAD_BYTES], error))
    head = bytes(body[:HEAD_BYTES])  # errors show what UltraMsg sent, not the repair
    if release and isinstance(body, bytearray):
        body.clear()
    return _parse(repaired, release=False, repairable=False, shown=head)


def _parse(
    body: bytes | bytearray | memoryview,
    *,
    release: bool,
    repairable: bool,
    shown: bytes | None = None,
) -> ChatList:
    chats = _decode(_CHATS, body, repairable=repairable, shown=shown)
    if chats is None:
        return _parse_leniently(body, repairable=repairable, shown=shown)
    if release and isinstance(body, bytearray):
        body.clear()
    return _as_columns(chats)


def _decode(
    decoder: msgspec.json.Decoder[list[_T]],
    body: bytes | bytearray | memoryview,
    *,
    repairable: bool,
    shown: bytes | None = None,
) -> list[_T] | None:
    """``body`` decoded, or None when it is JSON but not the list ``decoder`` wants;
    raises (``_not_json``) when it is not JSON at all."""
    try:
        return decoder.decode(body)
    except msgspec.ValidationError:
        return None
    except UNDECODABLE as error:
        _not_json(body, error, repairable=repairable, shown=shown)


def _not_json(
    body: bytes | bytearray | memoryview,
    error: Undecodable,
    *,
    repairable: bool = False,
    shown: bytes | None = None,
) -> NoReturn:
    """Raise ``_Undecodable`` when repairing the body may help, else our error (whose
    preview is of ``shown``, the start of the body as it came, when given).

    (msgspec's message does not always say "surrogate": a lone high one just before
    the end of the body reads as "truncated".)
    """
    if repairable and isinstance(error, msgspec.DecodeError):
        raise _Undecodable(error) from None
    head = body[:HEAD_BYTES] if shown is None else shown
    raise UpstreamBadResponse(describe_decode_error(len(body), head, error)) from None


def replace_lone_surrogates(body: bytes | bytearray | memoryview) -> bytes:
    """``body`` with every JSON escape of a lone UTF-16 surrogate as ``\\ufffd``; pairs
    (an emoji), escaped backslashes and everything else as they were."""
    return _SURROGATE_ESCAPE.sub(_replace_if_lone, bytes(body))


def _replace_if_lone(match: re.Match[bytes]) -> bytes:
    more_backslashes, high, low = match.group(1, 2, 3)
    backslashes = match.group(0)[: 1 + len(more_backslashes)]
    escape = match.group(0)[len(backslashes) :]
    if len(backslashes) % 2 == 0:  # escaped backslashes, then a plain "u…"
        # ... and after a plain "udXXX" a low surrogate's escape is a lone one
        return backslashes + (escape[:-_LOW_ESCAPE_LENGTH] + _REPLACEMENT_ESCAPE if low else escape)
    if high and low:
        return match.group(0)
    return backslashes[:-1] + _REPLACEMENT_ESCAPE


def _as_columns(chats: list[_Chat]) -> ChatList:
    """Structs to the two columns of a ``ChatList``, iterated in C."""
    return ChatList(list(map(_ID, chats)), list(map(_NAME, chats)))


def extend_columns(columns: ChatList, chats: list[_Chat]) -> None:
    """``columns`` with these structs' ids and names appended (a chunk of a stream)."""
    columns.wa_ids.extend(map(_ID, chats))
    columns.names.extend(map(_NAME, chats))


def decode_strict(body: bytes | bytearray | memoryview) -> list[_Chat]:
    """The fast path alone: msgspec's decode of a list of chat objects whose ids and
    names are strings or null; raises msgspec's errors (``RecursionError`` too)."""
    return _CHATS.decode(body)


def _parse_leniently(
    body: bytes | bytearray | memoryview, *, repairable: bool = False, shown: bytes | None = None
) -> ChatList:
    """Item by item: whatever is not a usable chat becomes (None, None) or loses its name."""
    items = _decode(_LOOSE_ITEMS, body, repairable=repairable, shown=shown)
    if items is None:
        value = _decode_any(body, shown)
        raise UpstreamBadResponse(
            f"UltraMsg answered {describe_json_value(value)} instead of the list "
            "of chats; check ULTRAMSG_BASE_URL points at the UltraMsg API"
        )
    with collector_paused():
        return ChatList.of([_lenient_chat(item) for item in items])


def _decode_any(body: bytes | bytearray | memoryview, shown: bytes | None = None) -> Any:
    try:
        return _ANY.decode(body)
    except UNDECODABLE as error:
        _not_json(body, error, shown=shown)


def _lenient_chat(item: object) -> tuple[str | None, str | None]:
    if not isinstance(item, _LooseChat):
        return (None, None)
    return (
        item.id if isinstance(item.id, str) else None,
        item.name if isinstance(item.name, str) else None,
    )


def describe_decode_error(
    size: int, head: bytes | bytearray | memoryview, error: Undecodable
) -> str:
    """One line on why a body of ``size`` bytes that starts with ``head`` (its first
    ``HEAD_BYTES``) is not JSON, with a short redacted preview."""
    body = head
    if size == 0 or not bytes(body[:64]).strip():
        return "UltraMsg answered with an empty body instead of the list of chats; try again"
    if isinstance(error, RecursionError):
        return (
            f"UltraMsg's answer is nested too deeply to be the list of chats ({size} bytes, "
            f"starting {preview(body)}); check ULTRAMSG_BASE_URL points at the UltraMsg API"
        )
    if "truncated" in str(error):
        return (
            f"UltraMsg's answer was cut off ({size} bytes of incomplete JSON); "
            "try again, and check the network if it keeps happening"
        )
    return (
        f"UltraMsg answered something that is not JSON ({size} bytes, starting "
        f"{preview(body)}); check ULTRAMSG_BASE_URL points at the UltraMsg API"
    )


def preview(body: bytes | bytearray | memoryview) -> str:
    """The first characters of a body, quoted, on one line, with any token redacted."""
    text = bytes(body[: _PREVIEW_CHARS * 4]).decode("utf-8", "replace")[:_PREVIEW_CHARS]
    return repr(redact(" ".join(text.split())))


def describe_json_value(value: object) -> str:
    """'a JSON object', 'a JSON string', ... for messages."""
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, bool):
        return "a JSON boolean"
    if isinstance(value, int | float):
        return "a JSON number"
    if value is None:
        return "JSON null"
    return "a JSON value"


def error_in_body(body: bytes | bytearray | memoryview) -> str | None:
    """UltraMsg's error text when ``body`` is an error object (``{"error": ...}``), else None.

    The list form ``{"error": [{"token": "is required"}]}`` reads "token is required".
    """
    if not bytes(body[:64]).lstrip().startswith(b"{"):
        return None
    try:
        value = _ANY.decode(body)
    except msgspec.DecodeError:
        return None
    if not isinstance(value, dict) or "error" not in value:
        return None
    return _error_text(value["error"])


def _error_text(error: object) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, list):
        return "; ".join(_error_text(item) for item in error) or "unknown error"
    if isinstance(error, dict):
        return "; ".join(f"{key} {_error_text(text)}" for key, text in error.items())
    return msgspec.json.encode(error).decode()


def account_status(body: bytes | bytearray | memoryview) -> str | None:
    """``status.accountStatus.status`` of an instance status answer, or None if absent."""
    try:
        value = _ANY.decode(body)
    except msgspec.DecodeError:
        return None
    for key in ("status", "accountStatus", "status"):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value if isinstance(value, str) else None


# -- messages (history and sending) ----------------------------------------------


def parse_messages(body: bytes | bytearray | memoryview, chat_id: str) -> list[RawMessage]:
    """A ``chats/messages`` answer (a JSON array of messages) read defensively: items
    that are not objects are dropped, odd fields are None (``raw_message``)."""
    value = _decode_messages_json(body)
    if not isinstance(value, list):
        raise UpstreamBadResponse(
            f"UltraMsg answered {describe_json_value(value)} instead of the list of "
            "messages; check ULTRAMSG_BASE_URL points at the UltraMsg API"
        )
    return [raw_message(item, chat_id) for item in value if isinstance(item, dict)]


def _decode_messages_json(body: bytes | bytearray | memoryview) -> Any:
    try:
        return _ANY.decode(replace_lone_surrogates(body))
    except UNDECODABLE as error:
        problem = describe_decode_error(len(body), body[:HEAD_BYTES], error).replace(
            "list of chats", "list of messages"
        )
    raise UpstreamBadResponse(problem)


def send_receipt(body: bytes | bytearray | memoryview) -> SendReceipt | str:
    """UltraMsg's answer to ``messages/chat``: the receipt of ``{"sent": "true", "id": …}``,
    or why it is not one (a short redacted description)."""
    try:
        value = _ANY.decode(body)
    except UNDECODABLE:
        return f"an answer that is not JSON ({len(body)} bytes, starting {preview(body)})"
    if not isinstance(value, dict):
        return describe_json_value(value)
    sent = value.get("sent")
    if sent is True or (isinstance(sent, str) and sent.lower() == "true"):
        queue_id = value.get("id")
        if isinstance(queue_id, bool) or not isinstance(queue_id, str | int):
            return SendReceipt(upstream_id=None)
        return SendReceipt(upstream_id=str(queue_id))
    said = value.get("message")
    if isinstance(said, str) and said:
        return f"not sent: {redact(' '.join(said.split()))[:200]}"
    return f'an answer without "sent": "true" (starting {preview(body)})'
