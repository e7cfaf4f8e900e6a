"""``FakeUltraMsg``: a small real HTTP server that answers like UltraMsg, on loopback only.

For the demo, integration and end-to-end tests, and benchmarks. It serves
``GET /{instance}/chats``, ``GET /{instance}/instance/status``, a chat's history
(``GET /{instance}/chats/messages``) and sending (``POST /{instance}/messages/chat``),
answers a wrong token and an unknown instance the way UltraMsg does, and can be
told to fail (``fail``), stall (``delay``) or send garbage (``set_body``), on every
route alike. The chat list is encoded once per change of ``chats`` (list
operations and assignment are noticed; after editing a chat's dict in place of a
list above ``ALWAYS_ENCODE_BELOW`` chats, assign the list again), so a million
chats are served at disk speed.

Given a ``webhook_url`` it posts back like UltraMsg, from a background thread (a
request never waits for a webhook): after a send, ``message_create`` (with our
``referenceId``) and then ``message_ack`` ``server``, ``device`` and ``read``, at
``webhook_delays``; ``receive`` (or, every ``inbound_every`` seconds, a random
chat) posts an incoming ``message_received``. See docs/ultramsg.md.
"""

from __future__ import annotations

import ipaddress
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, SupportsIndex
from urllib.parse import parse_qs, urlsplit

import attrs
import msgspec

from wa_manager.adapters.fake_ultramsg.chats import Chat, encode_chats, sample_chats
from wa_manager.adapters.fake_ultramsg.demo import INBOUND_LINES, TEAM_MEMBER
from wa_manager.adapters.fake_ultramsg.messages import (
    MAX_HISTORY,
    Message,
    MessageBook,
    make_message,
    webhook_event,
)
from wa_manager.adapters.fake_ultramsg.webhooks import Delivery, Timeline, WebhookPoster

WRONG_TOKEN = b'{"error":"Wrong token. Please provide token as a GET parameter."}'
TOKEN_REQUIRED = b'{"error":[{"token":"is required"}]}'
INSTANCE_NOT_FOUND = b'{"error":"Instance not found"}'
NOT_FOUND = b'{"error":"Not found"}'
ALWAYS_ENCODE_BELOW = 10_000
MAX_SEND_LENGTH = 4096
MAX_REQUEST_BYTES = 1 << 20
DEFAULT_HISTORY_LIMIT = 100
DEFAULT_WEBHOOK_DELAYS = (0.3, 0.8, 1.5, 3.0)
"""Seconds after a send: ``message_create``, then the acks ``server``, ``device``, ``read``."""
ACKS = ("server", "device", "read")
ROUTES = frozenset(
    {
        ("GET", "chats"),
        ("GET", "instance/status"),
        ("GET", "chats/messages"),
        ("POST", "messages/chat"),
    }
)
_NUMBER = re.compile(r"\+?[0-9]{7,15}")
_CHAT_ID = re.compile(r"[0-9-]{1,64}@(?:c\.us|g\.us|lid)")
CONVERSATION_SUFFIXES = ("@c.us", "@lid", "@g.us")


def _error(field: str, problem: str) -> bytes:
    """UltraMsg's error body for a bad form field: ``{"error": [{"to": "is required"}]}``."""
    return msgspec.json.encode({"error": [{field: problem}]})


@attrs.frozen
class _Failure:
    status: int
    body: bytes
    retry_after: float | None


class _WatchedList(list[Chat]):
    """A list that counts its changes, so the server knows when to encode again."""

    version = 0

    def _changed(self) -> None:
        self.version += 1

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._changed()

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        super().__delitem__(index)
        self._changed()

    def __iadd__(self, other: Iterable[Chat]) -> Self:  # type: ignore[override, misc]
        result = super().__iadd__(other)
        self._changed()
        return result

    def append(self, chat: Chat) -> None:
        super().append(chat)
        self._changed()

    def extend(self, chats: Iterable[Chat]) -> None:
        super().extend(chats)
        self._changed()

    def insert(self, index: SupportsIndex, chat: Chat) -> None:
        super().insert(index, chat)
        self._changed()

    def pop(self, index: SupportsIndex = -1) -> Chat:
        chat = super().pop(index)
        self._changed()
        return chat

    def remove(self, chat: Chat) -> None:
        super().remove(chat)
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        super().sort(*args, **kwargs)
        self._changed()

    def reverse(self) -> None:
        super().reverse()
        self._changed()


class FakeUltraMsg:
    """A fake UltraMsg instance on a loopback port; use as a context manager."""

    def __init__(
        self,
        instance_id: str = "instance12345",
        token: str = "fake-token",  # noqa: S107 - the fake's well-known token
        chats: Iterable[Chat] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        messages: Mapping[str, Iterable[Message]] | None = None,
        phone: str = "4915000000000",
        webhook_url: str | None = None,
        webhook_delays: Sequence[float] = DEFAULT_WEBHOOK_DELAYS,
        inbound_every: tuple[float, float] | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the fake UltraMsg binds to loopback only, not {host}")
        self.instance_id = instance_id
        self.token = token
        self.host = host
        self.port = port
        self.status = "authenticated"
        self.requests = 0
        self._chats = _WatchedList(sample_chats() if chats is None else chats)
        self._encoded: tuple[int, int, bytes] | None = None
        self._failures: deque[_Failure] = deque()
        self._delay = 0.0
        self._delay_times: int | None = None
        self._raw_body: bytes | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.messages = MessageBook(messages)
        self.own_id = f"{phone}@c.us"
        self.webhook_delays = tuple(webhook_delays)
        self.inbound_lines: Sequence[str] = INBOUND_LINES
        self._clock = clock
        self._rng = random.Random(seed)
        self._queue_ids = iter(range(1001, 1 << 62))
        self._timeline = Timeline()
        self._poster = WebhookPoster(self._timeline)
        self._poster.url = webhook_url
        self._inbound_every = inbound_every
        self._inbound_round = 0
        self._siblings: dict[str, FakeUltraMsg] = {}
        self._front: FakeUltraMsg | None = None

    # -- more instances on the same port ------------------------------------------

    def add_instance(
        self, instance_id: str, token: str, chats: Iterable[Chat] | None = None, **options: Any
    ) -> FakeUltraMsg:
        """Serve another instance on this server's port (several WhatsApp numbers behind one
        ``ULTRAMSG_BASE_URL``, as UltraMsg does): its own token, chats, messages, faults and
        webhooks (``options`` as for the constructor). Returns it; it is started and stopped
        with this one."""
        if instance_id == self.instance_id or instance_id in self._siblings:
            raise ValueError(f"the fake already serves {instance_id}")
        sibling = FakeUltraMsg(instance_id, token, chats, host=self.host, **options)
        sibling._front = self
        self._siblings[instance_id] = sibling
        if self._server is not None:
            sibling._timeline.start()
        return sibling

    def _serving(self, path: str) -> FakeUltraMsg:
        """Which instance answers ``path``: the sibling it names, else this one."""
        instance_id = urlsplit(path).path.strip("/").split("/", 1)[0]
        return self._siblings.get(instance_id, self)

    # -- chats ------------------------------------------------------------------

    @property
    def chats(self) -> list[Chat]:
        """The chats served, as UltraMsg's dicts; change it freely."""
        return self._chats

    @chats.setter
    def chats(self, chats: Iterable[Chat]) -> None:
        self._chats = _WatchedList(chats)
        self._encoded = None

    def chats_body(self) -> bytes:
        """The JSON array served for ``/chats``, encoded once per change of ``chats``."""
        chats = self._chats
        if len(chats) < ALWAYS_ENCODE_BELOW:
            return encode_chats(chats)
        key = (id(chats), chats.version)
        cached = self._encoded
        if cached is None or cached[:2] != key:
            cached = (*key, encode_chats(chats))
            self._encoded = cached
        return cached[2]

    # -- faults -----------------------------------------------------------------

    def fail(
        self,
        status: int = 500,
        times: int = 1,
        body: bytes = b"Internal Server Error",
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` and ``body`` (queued after
        failures already queued); ``times=0`` clears the queue instead."""
        with self._lock:
            if times <= 0:
                self._failures.clear()
            self._failures.extend([_Failure(status, body, retry_after)] * times)

    def delay(self, seconds: float, times: int | None = None) -> None:
        """Stall the next ``times`` requests (every request when None) by ``seconds``."""
        with self._lock:
            self._delay = seconds
            self._delay_times = times

    def set_body(self, raw: bytes | None) -> None:
        """Answer ``/chats``, ``/chats/messages`` and ``/messages/chat`` with these bytes
        (nothing is sent); None: back to the real answers."""
        self._raw_body = raw

    # -- lifecycle --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: what ``ULTRAMSG_BASE_URL`` should be."""
        if self._front is not None:
            return self._front.base_url
        if self._server is None:
            raise RuntimeError("the fake UltraMsg is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.server_address[1]}"

    def start(self) -> Self:
        """Bind and serve in a background thread."""
        if self._server is not None:
            return self
        server_class = _IPv6Server if ":" in self.host else _Server
        server = server_class((self.host, self.port), _Handler)
        server.fake = self
        self._stopping.clear()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="fake-ultramsg", daemon=True
        )
        self._thread.start()
        self._timeline.start()
        for sibling in self._siblings.values():
            sibling._timeline.start()
        if self._inbound_every is not None:
            self.generate_inbound(self._inbound_every)
        return self

    def serve_forever(self) -> None:
        """Bind and serve in this thread until interrupted."""
        self.start()
        assert self._thread is not None
        try:
            self._thread.join()
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and release the port; stalled requests are let go."""
        server, self._server = self._server, None
        if server is None:
            return
        self._timeline.stop()
        for sibling in self._siblings.values():
            sibling._timeline.stop()
            sibling._stopping.set()
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- messages and webhooks ----------------------------------------------------

    @property
    def webhook_url(self) -> str | None:
        """Where webhooks go (None: nowhere); may be set while running."""
        return self._poster.url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        self._poster.url = url

    def post_webhooks_to(
        self, url: str, *, inbound_every: tuple[float, float] | None = None
    ) -> None:
        """Post webhooks to ``url`` from now on, and an incoming message every
        ``inbound_every`` = (at least, at most) seconds (None: none)."""
        self.webhook_url = url
        self.generate_inbound(inbound_every)

    def deliveries(self, event_type: str | None = None) -> list[Delivery]:
        """The webhooks posted that got a 2xx (of one event type, or all), in order."""
        return self._poster.delivered(event_type)

    def webhook_attempts(self) -> list[Delivery]:
        """Every webhook post so far, refused and failed ones included, in order."""
        return self._poster.attempts()

    def receive(
        self,
        chat_id: str,
        body: str,
        *,
        author: str = "",
        pushname: str = "",
        type: str = "chat",
        media: str = "",
    ) -> Message:
        """An incoming message in ``chat_id``: kept in its history and posted as
        ``message_received`` (when a webhook URL is set). Returns the message."""
        message = make_message(
            chat_id,
            self.own_id,
            body,
            from_me=False,
            timestamp=int(self._clock()),
            author=author,
            pushname=pushname,
            type=type,
            media=media,
        )
        self.messages.add(chat_id, message)
        self._poster.post_later(0, webhook_event("message_received", message, self.instance_id))
        return message

    def receive_random(self) -> Message | None:
        """An incoming line in a random person or group chat (None: there is none)."""
        chats = [
            chat
            for chat in self._chats
            if isinstance(chat.get("id"), str)
            and chat["id"].endswith(CONVERSATION_SUFFIXES)
            and chat["id"] != "0@c.us"
        ]
        if not chats or not self.inbound_lines:
            return None
        chat = self._rng.choice(chats)
        line = self._rng.choice(list(self.inbound_lines))
        if not chat["id"].endswith("@g.us"):
            return self.receive(chat["id"], line, pushname=chat.get("name") or "")
        author, pushname = self._group_member(chat["id"])
        return self.receive(chat["id"], line, author=author, pushname=pushname)

    def generate_inbound(self, every: tuple[float, float] | None) -> None:
        """From now on, ``receive_random`` every ``every`` = (at least, at most) seconds;
        None stops it."""
        with self._lock:
            self._inbound_every = every
            self._inbound_round += 1
            current = self._inbound_round
        if every is not None and self._server is not None:
            self._timeline.call_later(self._rng.uniform(*every), lambda: self._inbound(current))

    def _inbound(self, round_: int) -> None:
        with self._lock:
            every = self._inbound_every if round_ == self._inbound_round else None
        if every is None:
            return
        self.receive_random()
        self._timeline.call_later(self._rng.uniform(*every), lambda: self._inbound(round_))

    def _group_member(self, group_id: str) -> tuple[str, str]:
        """Someone who wrote in the group before (author, push name), or a stand-in."""
        members = {
            item["author"]: item.get("pushname") or ""
            for item in self.messages.history(group_id, MAX_HISTORY)
            if item.get("author") and not item.get("fromMe")
        }
        if not members:
            return TEAM_MEMBER
        author = self._rng.choice(sorted(members))
        return author, members[author]

    # -- answering --------------------------------------------------------------

    def answer(
        self, path: str, method: str = "GET", body: bytes = b""
    ) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and extra headers for one request of ``path`` (with its query);
        a POST's ``body`` is its form (or JSON) fields."""
        serving = self._serving(path)
        if serving is not self:
            return serving.answer(path, method, body)
        with self._lock:
            self.requests += 1
            failure = self._failures.popleft() if self._failures else None
            stall = self._delay
            if self._delay_times is not None:
                self._delay_times -= 1
                if self._delay_times <= 0:
                    self._delay, self._delay_times = 0.0, None
        if stall > 0:
            self._stopping.wait(stall)
        if failure is not None:
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = f"{failure.retry_after:g}"
            return failure.status, failure.body, headers
        url = urlsplit(path)
        parts = url.path.strip("/").split("/", 1)
        if len(parts) != 2 or (method, parts[1]) not in ROUTES:
            return 404, NOT_FOUND, {}
        if parts[0] != self.instance_id:
            return 404, INSTANCE_NOT_FOUND, {}
        fields = _fields(url.query, body if method == "POST" else b"")
        token = fields.get("token")
        if not token:
            return 200, TOKEN_REQUIRED, {}
        if token != self.token:
            return 200, WRONG_TOKEN, {}
        if parts[1] == "instance/status":
            return 200, self._status_body(), {}
        raw = self._raw_body
        if raw is not None:
            return 200, raw, {}
        if parts[1] == "chats/messages":
            return 200, self._history_body(fields), {}
        if parts[1] == "messages/chat":
            return 200, self._send(fields), {}
        return 200, self.chats_body(), {}

    def _status_body(self) -> bytes:
        substatus = "connected" if self.status == "authenticated" else self.status
        account = {"status": self.status, "substatus": substatus}
        return msgspec.json.encode({"status": {"accountStatus": account}})

    def _history_body(self, fields: Mapping[str, str]) -> bytes:
        chat_id = fields.get("chatId", "").strip()
        if not chat_id:
            return _error("chatId", "is required")
        limit_text = fields.get("limit", str(DEFAULT_HISTORY_LIMIT)).strip()
        if not limit_text.isdigit():
            return _error("limit", "must be a number")
        limit = min(max(int(limit_text), 1), MAX_HISTORY)
        return msgspec.json.encode(self.messages.history(chat_id, limit))

    def _send(self, fields: Mapping[str, str]) -> bytes:
        """Queue a text message, answer like UltraMsg, and schedule its webhooks."""
        chat_id = _chat_id(fields.get("to", ""))
        text = fields.get("body", "")
        if not fields.get("to"):
            return _error("to", "is required")
        if chat_id is None:
            return _error("to", "invalid phone number or chat id")
        if not text.strip():
            return _error("body", "is required")
        if len(text) > MAX_SEND_LENGTH:
            return _error("body", f"the maximum length is {MAX_SEND_LENGTH} characters")
        message = make_message(
            chat_id, self.own_id, text, from_me=True, timestamp=int(self._clock())
        )
        self.messages.add(chat_id, message)
        with self._lock:
            queue_id = next(self._queue_ids)
        self._schedule_delivery(chat_id, message, fields.get("referenceId", ""))
        return msgspec.json.encode({"sent": "true", "message": "ok", "id": queue_id})

    def _schedule_delivery(self, chat_id: str, message: Message, reference_id: str) -> None:
        created_after, *ack_delays = self.webhook_delays
        created = webhook_event("message_create", message, self.instance_id, reference_id)
        self._poster.post_later(created_after, created)
        for ack, delay in zip(ACKS, ack_delays, strict=False):
            self._timeline.call_later(delay, self._acknowledger(chat_id, message, ack))

    def _acknowledger(self, chat_id: str, message: Message, ack: str) -> Callable[[], None]:
        def acknowledge() -> None:
            self.messages.set_ack(chat_id, message["id"], ack)
            event = webhook_event("message_ack", {**message, "ack": ack}, self.instance_id)
            self._poster.post_later(0, event)

        return acknowledge


def _fields(query: str, body: bytes) -> dict[str, str]:
    """The request's parameters: the query's, then a POST's form or JSON fields."""
    fields = {key: values[0] for key, values in parse_qs(query).items()}
    text = body.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        try:
            decoded = msgspec.json.decode(body)
        except msgspec.DecodeError:
            decoded = None
        if isinstance(decoded, dict):
            fields.update({str(key): str(value) for key, value in decoded.items()})
        return fields
    for key, values in parse_qs(text, keep_blank_values=True).items():
        fields[key] = values[0]
    return fields


def _chat_id(to: str) -> str | None:
    """UltraMsg's ``to``: a chat id, or an international number (``+`` optional)."""
    to = to.strip()
    if _CHAT_ID.fullmatch(to):
        return to
    if _NUMBER.fullmatch(to):
        return to.removeprefix("+") + "@c.us"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeUltraMsg


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._reply(*self.server.fake.answer(self.path))

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BYTES:
            self.close_connection = True
            self._reply(413, b'{"error":"Request too large"}', {})
            return
        body = self.rfile.read(length)
        self._reply(*self.server.fake.answer(self.path, "POST", body))

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        looks_like_json = body[:1] in (b"{", b"[")
        self.send_header("Content-Type", "application/json" if looks_like_json else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: request lines would carry the token."""
