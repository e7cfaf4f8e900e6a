"""``ChatStream``: UltraMsg's chat list decoded while its body arrives.

A million chats are ~80 MB of JSON; read whole, the body, msgspec's structs and
the decoded strings are all in memory at once. Fed chunk by chunk instead, the
stream decodes every megabyte or so the complete items that have arrived and
keeps only their ids and names (a ``ChatList``), so at most a megabyte of body
waits at any time.

Where one item ends is found without a JSON scanner in Python: a candidate is a
``}`` followed by ``,`` and ``{`` (the next object), searched backwards in C, and
the bytes before it are decoded as ``[`` + items + ``]``. That text is valid
JSON only if the cut fell between two items of the top-level array (inside a
string it is unterminated; inside a nested value a bracket stays open), so a
successful decode proves the cut right; a failed one just tries an earlier
candidate, or waits for more bytes. After a few windows without a good cut (an
odd or broken body) the stream stops cutting and keeps the rest, and
``finish`` decodes it whole with ``parse_chats``: the same chats, the same
lenient reading of odd items and the same one-line errors as for the whole body.

A body that does not start with ``[`` (an error object, HTML) is kept whole, as
before, for the client to explain.
"""

from __future__ import annotations

import re

import msgspec

from wa_manager.adapters.ultramsg.parsing import (
    HEAD_BYTES,
    UNDECODABLE,
    decode_strict,
    describe_decode_error,
    extend_columns,
    parse_chats,
    replace_lone_surrogates,
)
from wa_manager.domain.bulk import collector_paused
from wa_manager.domain.errors import UpstreamBadResponse
from wa_manager.domain.model import ChatList

STEP_BYTES = 1 << 20  # decode once about this much more has arrived
_CUT_TRIES = 4  # candidates tried per window, from the end
_WINDOWS_WITHOUT_CUT = 3  # then the rest is kept and decoded whole
_ITEM_BOUNDARY = re.compile(rb"\}\s*,\s*\{")
_ANY = msgspec.json.Decoder()


class BodyBuffer:
    """A body read whole: ``feed`` appends to ``pending``; ``size`` counts the bytes."""

    def __init__(self) -> None:
        self.pending = bytearray()
        self.size = 0

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Take the next bytes of the body."""
        self.size += len(chunk)
        self.pending += chunk


class ChatStream(BodyBuffer):
    """Decodes a chat-list body fed in chunks (``feed``), then ``finish`` gives the
    ``ChatList`` or raises ``UpstreamBadResponse``. ``pending`` is what has not been
    decoded yet: the whole body when it does not start with ``[``."""

    def __init__(self, *, step: int = STEP_BYTES) -> None:
        super().__init__()
        self._head = b""
        self._step = step
        self._array: bool | None = None  # None until the first byte that is not whitespace
        self._cutting = True
        self._next_try = step
        self._windows_without_cut = 0
        self._decoded = ChatList()
        self._any_decoded = False

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Take the next bytes of the body; decode the complete items once enough wait."""
        self.size += len(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += bytes(chunk[: HEAD_BYTES - len(self._head)])
        self.pending += chunk
        if self._array is None:
            start = len(self.pending) - len(self.pending.lstrip())
            if start == len(self.pending):
                return
            self._array = self.pending[start] == ord("[")
            if self._array:
                del self.pending[:start]  # pending starts with the array's "["
        if self._array and self._cutting and len(self.pending) >= self._next_try:
            self._decode_complete_items()
            self._next_try = len(self.pending) + self._step

    def finish(self) -> ChatList:
        """The chats of the whole body (``parse_chats``' answer, whatever the chunks)."""
        if not self._any_decoded:
            return parse_chats(self.pending, release=True)
        problem: str | None = None
        try:
            rest = parse_chats(self.pending)
        except UpstreamBadResponse as error:
            problem = self._describe_rest(error.message)
        if problem is not None:
            raise UpstreamBadResponse(problem)
        self.pending.clear()
        self._decoded.wa_ids.extend(rest.wa_ids)
        self._decoded.names.extend(rest.names)
        return self._decoded

    def _decode_complete_items(self) -> None:
        end = len(self.pending)
        for _ in range(_CUT_TRIES):
            cut = self._candidate_before(end)
            if cut is None:
                break
            brace, comma = cut
            if self._decode_prefix(brace):
                del self.pending[1 : comma + 1]  # "[" and the items not decoded yet
                self._any_decoded = True
                self._windows_without_cut = 0
                return
            end = brace
        self._windows_without_cut += 1
        if self._windows_without_cut >= _WINDOWS_WITHOUT_CUT:
            self._cutting = False

    def _candidate_before(self, end: int) -> tuple[int, int] | None:
        """(index of ``}``, index of ``,``) of the last ``}``, ``{`` pair before ``end``."""
        brace = self.pending.rfind(b"}", 1, end)
        while brace > 0:
            match = _ITEM_BOUNDARY.match(self.pending, brace)
            if match is not None:
                return brace, self.pending.index(b",", brace)
            brace = self.pending.rfind(b"}", 1, brace)
        return None

    def _decode_prefix(self, brace: int) -> bool:
        """Decode ``pending[:brace + 1]`` + ``]`` into the columns, if it is valid JSON."""
        prefix = self.pending[: brace + 1] + b"]"
        with collector_paused():
            try:
                extend_columns(self._decoded, decode_strict(prefix))
                return True
            except UNDECODABLE:
                pass  # not a cut between items, or an item for the lenient path
            try:
                chats = parse_chats(prefix)
            except UpstreamBadResponse:
                return False
        self._decoded.wa_ids.extend(chats.wa_ids)
        self._decoded.names.extend(chats.names)
        return True

    def _describe_rest(self, said_of_the_rest: str) -> str:
        """Why the body is not a chat list, said of the whole body (its size and start)
        as ``parse_chats`` would have said it (the rest starts with ``[``, so it is
        never "not an array": it is not JSON, cut off, or nested too deeply)."""
        try:
            _ANY.decode(replace_lone_surrogates(self.pending))
        except UNDECODABLE as error:
            return describe_decode_error(self.size, self._head, error)
        return said_of_the_rest
