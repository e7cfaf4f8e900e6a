"""An ASGI app served by a real uvicorn on a free loopback port, in a thread.

For tests that need real sockets (concurrent clients, the fake UltraMsg posting
webhooks back, a browser): ``with served_in_thread(asgi_app) as root_url: ...``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

STARTUP_SECONDS = 30.0


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextlib.contextmanager
def served_in_thread(asgi_app: ASGIApp, *, port: int | None = None) -> Iterator[str]:
    """Serve ``asgi_app`` (lifespan on) until the block ends; yield its root URL."""
    port = port or free_loopback_port()
    config = uvicorn.Config(
        asgi_app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not server.started:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
