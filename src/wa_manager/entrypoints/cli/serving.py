"""How ``wa-manager serve`` runs uvicorn: whom to believe about client addresses, and
how long a client may take (``docs/interface.md``, "Serving").

- **Forwarded headers**: uvicorn by default believes ``X-Forwarded-For`` from
  127.0.0.1, so any local client could pick its apparent address (and dodge the login
  throttle, which counts per address). Here they are believed only from the addresses
  in ``--forwarded-allow-ips`` (a reverse proxy's); by default from nobody, and
  ``request.client`` is the TCP peer.
- **Slow clients**: uvicorn's ``timeout_keep_alive`` covers only the idle time between
  requests, and any byte received cancels it, so a client that sends a header line
  every few seconds holds a connection forever. ``DeadlineH11Protocol`` gives each
  request a deadline to arrive in full (request line, headers and body); past it the
  connection is closed (always h11, even where httptools is installed).
  ``limit_concurrency`` caps connections (503 beyond), and a request head larger than
  ``MAX_REQUEST_HEAD_BYTES`` is refused (400).
- **SIGTERM**: uvicorn stops accepting, lets requests in flight finish
  (``SHUTDOWN_GRACE_SECONDS`` at most), shuts the app down and raises the signal
  again; ``graceful_sigterm`` makes that a normal exit (status 0).
- **Workers**: ``serve --workers N`` runs N uvicorn processes on one socket, each
  building its app from the environment (``WORKER_APP_FACTORY``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from wa_manager.entrypoints.cli.runtime import DEFAULT_REQUEST_TIMEOUT, ServerOptions

logger = logging.getLogger("wa_manager.serve")

MAX_REQUEST_HEAD_BYTES = 16 * 1024  # request line and headers; h11's own default
# SIGTERM: requests in flight get this long to finish before the server stops anyway.
SHUTDOWN_GRACE_SECONDS = 30
# The ASGI app factory each worker process of ``serve --workers N`` calls.
WORKER_APP_FACTORY = "wa_manager.entrypoints.http.app:app_from_environment"
# How ``serve --workers N`` tells its workers the request deadline (seconds).
REQUEST_TIMEOUT_ENV = "WA_MANAGER_WORKER_REQUEST_TIMEOUT"


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request to arrive in full."""

    request_timeout: float = DEFAULT_REQUEST_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request."""
        super().connection_made(transport)
        self._arm_deadline()

    def data_received(self, data: bytes) -> None:
        """Stop the clock once the request has arrived in full."""
        super().data_received(data)
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR):
            self._disarm_deadline()

    def on_response_complete(self) -> None:
        """The next request on this connection gets its own deadline."""
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """No clock for a connection that is gone."""
        self._disarm_deadline()
        super().connection_lost(exc)

    def _arm_deadline(self) -> None:
        self._disarm_deadline()
        self._deadline = self.loop.call_later(self.request_timeout, self._deadline_passed)

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            logger.info(
                "closed a connection whose request did not arrive within %.0f s",
                self.request_timeout,
            )
            self.transport.close()


class WorkerDeadlineH11Protocol(DeadlineH11Protocol):
    """The protocol of ``serve --workers N``: uvicorn starts the workers afresh and hands
    them this class by reference, so the deadline travels in their environment
    (``REQUEST_TIMEOUT_ENV``, set by ``serve_workers``)."""

    request_timeout = float(os.environ.get(REQUEST_TIMEOUT_ENV) or DEFAULT_REQUEST_TIMEOUT)


def deadline_protocol(request_timeout: float) -> type[DeadlineH11Protocol]:
    """``DeadlineH11Protocol`` with this deadline (uvicorn makes one per connection)."""
    return type("DeadlineH11Protocol", (DeadlineH11Protocol,), {"request_timeout": request_timeout})


def graceful_sigterm() -> Callable[[], None]:
    """Make SIGTERM end the process with status 0 once uvicorn has shut down gracefully.

    uvicorn stops accepting, lets requests in flight finish (``SHUTDOWN_GRACE_SECONDS``
    at most), runs the shutdown (the scheduler lets a running sync end, connections
    close), restores the handler it found and raises the signal again: the handler
    installed here then only notes it, and the command returns normally. Returns a
    function that puts the previous handler back.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, lambda _signal, _frame: None)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def _limits(options: ServerOptions, http: type[DeadlineH11Protocol]) -> dict[str, Any]:
    """uvicorn's settings for ``options``: whom to believe, how long clients may take."""
    trusted = list(options.forwarded_allow_ips)
    return {
        "log_level": "info",
        "http": http,
        "proxy_headers": bool(trusted),
        # Never None: uvicorn would then read $FORWARDED_ALLOW_IPS, default 127.0.0.1.
        "forwarded_allow_ips": trusted or [],
        "timeout_keep_alive": options.keep_alive_timeout,
        "limit_concurrency": options.limit_concurrency,
        "h11_max_incomplete_event_size": MAX_REQUEST_HEAD_BYTES,
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
    }


def uvicorn_config(asgi_app: Any, *, host: str, port: int, options: ServerOptions) -> Any:
    """The ``uvicorn.Config`` that ``serve`` runs."""
    import uvicorn

    limits = _limits(options, deadline_protocol(options.request_timeout))
    return uvicorn.Config(asgi_app, host=host, port=port, **limits)


def serve_with_uvicorn(asgi_app: Any, *, host: str, port: int, options: ServerOptions) -> None:
    """Serve ``asgi_app`` with uvicorn until Ctrl-C or SIGTERM (graceful, exit 0)."""
    import uvicorn

    restore = graceful_sigterm()
    try:
        uvicorn.Server(uvicorn_config(asgi_app, host=host, port=port, options=options)).run()
    finally:
        restore()


def serve_workers(
    environ: Mapping[str, str], *, host: str, port: int, workers: int, options: ServerOptions
) -> None:
    """``workers`` uvicorn worker processes behind one socket, each building its app with
    ``app_from_environment`` from ``environ`` (copied into this process's environment,
    which the workers inherit), the request deadline included."""
    import uvicorn

    os.environ.update(environ)
    os.environ[REQUEST_TIMEOUT_ENV] = repr(options.request_timeout)
    restore = graceful_sigterm()
    try:
        uvicorn.run(
            WORKER_APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **_limits(options, WorkerDeadlineH11Protocol),
        )
    finally:
        restore()
