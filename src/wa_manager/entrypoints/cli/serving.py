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
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from wa_manager.entrypoints.cli.runtime import DEFAULT_REQUEST_TIMEOUT, ServerOptions

logger = logging.getLogger("wa_manager.serve")

MAX_REQUEST_HEAD_BYTES = 16 * 1024  # request line and headers; h11's own default


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


def deadline_protocol(request_timeout: float) -> type[DeadlineH11Protocol]:
    """``DeadlineH11Protocol`` with this deadline (uvicorn makes one per connection)."""
    return type("DeadlineH11Protocol", (DeadlineH11Protocol,), {"request_timeout": request_timeout})


def uvicorn_config(asgi_app: Any, *, host: str, port: int, options: ServerOptions) -> Any:
    """The ``uvicorn.Config`` that ``serve`` runs."""
    import uvicorn

    trusted = list(options.forwarded_allow_ips)
    return uvicorn.Config(
        asgi_app,
        host=host,
        port=port,
        log_level="info",
        http=deadline_protocol(options.request_timeout),
        proxy_headers=bool(trusted),
        # Never None: uvicorn would then read $FORWARDED_ALLOW_IPS, default 127.0.0.1.
        forwarded_allow_ips=trusted or [],
        timeout_keep_alive=options.keep_alive_timeout,
        limit_concurrency=options.limit_concurrency,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
    )


def serve_with_uvicorn(asgi_app: Any, *, host: str, port: int, options: ServerOptions) -> None:
    """Serve ``asgi_app`` with uvicorn until Ctrl-C (or SIGTERM)."""
    import uvicorn

    uvicorn.Server(uvicorn_config(asgi_app, host=host, port=port, options=options)).run()
