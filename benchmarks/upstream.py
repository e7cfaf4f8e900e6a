"""A minimal local UltraMsg for the benchmarks: serves one pre-encoded chat list.

The body is encoded once, before any clock starts, so the server's own work
in the timed section is a socket write (the GIL is released while it sends).
Every contender (ours, the limit, the naive peer) fetches the same bytes the
same way: ``GET {base_url}/{instance_id}/chats?token=...``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INSTANCE_ID = "instance424242"
TOKEN = "bench-token-not-a-secret"


class _Handler(BaseHTTPRequestHandler):
    server: _Upstream

    def do_GET(self) -> None:
        expected = f"/{INSTANCE_ID}/chats?token={TOKEN}"
        body = self.server.body if self.path == expected else b'{"error": "Wrong token"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a benchmark prints its table, not access logs."""


class _Upstream(ThreadingHTTPServer):
    daemon_threads = True
    body: bytes = b"[]"


class Upstream:
    """The running server; swap the answer with ``serve(body)``."""

    def __init__(self, server: _Upstream) -> None:
        self._server = server
        host, port = server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"

    def serve(self, body: bytes) -> None:
        """Answer every later chats request with ``body``."""
        self._server.body = body

    @property
    def body(self) -> bytes:
        """What the chats request answers now."""
        return self._server.body

    @property
    def chats_url(self) -> str:
        """The full chats URL, token included (benchmark-only token)."""
        return f"{self.base_url}/{INSTANCE_ID}/chats?token={TOKEN}"


@contextmanager
def running_upstream() -> Iterator[Upstream]:
    """Start the fake on a free loopback port; stop it on leaving."""
    server = _Upstream(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, name="fake-ultramsg", daemon=True)
    thread.start()
    try:
        yield Upstream(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
