"""``FakeUltraMsg``: a small real HTTP server that answers like UltraMsg, on loopback only.

For the demo, integration and end-to-end tests, and benchmarks. It serves
``GET /{instance}/chats`` and ``GET /{instance}/instance/status``, answers a wrong
token and an unknown instance the way UltraMsg does, and can be told to fail
(``fail``), stall (``delay``) or send garbage (``set_body``). The chat list is
encoded once per change of ``chats`` (list operations and assignment are noticed;
after editing a chat's dict in place of a list above ``ALWAYS_ENCODE_BELOW``
chats, assign the list again), so a million chats are served at disk speed.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, SupportsIndex
from urllib.parse import parse_qs, urlsplit

import attrs
import msgspec

from wa_manager.adapters.fake_ultramsg.chats import Chat, encode_chats, sample_chats

WRONG_TOKEN = b'{"error":"Wrong token. Please provide token as a GET parameter."}'
TOKEN_REQUIRED = b'{"error":[{"token":"is required"}]}'
INSTANCE_NOT_FOUND = b'{"error":"Instance not found"}'
NOT_FOUND = b'{"error":"Not found"}'
ALWAYS_ENCODE_BELOW = 10_000


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
        """Serve these bytes for ``/chats`` instead of the chats (None: back to the chats)."""
        self._raw_body = raw

    # -- lifecycle --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: what ``ULTRAMSG_BASE_URL`` should be."""
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

    # -- answering --------------------------------------------------------------

    def answer(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and extra headers for one GET of ``path`` (with its query)."""
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
        if len(parts) != 2 or parts[1] not in ("chats", "instance/status"):
            return 404, NOT_FOUND, {}
        if parts[0] != self.instance_id:
            return 404, INSTANCE_NOT_FOUND, {}
        tokens = parse_qs(url.query).get("token")
        if not tokens:
            return 200, TOKEN_REQUIRED, {}
        if tokens[0] != self.token:
            return 200, WRONG_TOKEN, {}
        if parts[1] == "instance/status":
            return 200, self._status_body(), {}
        raw = self._raw_body
        return 200, (self.chats_body() if raw is None else raw), {}

    def _status_body(self) -> bytes:
        substatus = "connected" if self.status == "authenticated" else self.status
        account = {"status": self.status, "substatus": substatus}
        return msgspec.json.encode({"status": {"accountStatus": account}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeUltraMsg


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status, body, headers = self.server.fake.answer(self.path)
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
