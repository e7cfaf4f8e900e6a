"""Errors as HTTP answers, in one place: the domain error tree to status codes.

Every error is ``{"error": {"code": "...", "message": "..."}}`` (CONTRACT.md,
"HTTP API"). The codes follow ``wa_manager.domain.errors``; the statuses are:

    AuthError 401 · PermissionDenied 403 · NotFound 404 · AlreadyExists 409 ·
    SyncAlreadyRunning 409 · InvalidInput 422 · TooManyAttempts 429 ·
    UpstreamError 502 · ConfigError 503 · StorageError 503 · anything else 500

Web-UI pages (paths outside ``/api``) asked for by a browser get the same message
as a small HTML page. Unexpected exceptions are logged once, with every secret
redacted, and answered with a generic 500 (``CatchUnexpected``); a body over the
limit is a 413 ``too_large`` like any other error (``LimitBody``).
"""

from __future__ import annotations

import html
import logging
import traceback
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wa_manager.domain.errors import (
    AlreadyExists,
    AuthError,
    ConfigError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StorageError,
    SyncAlreadyRunning,
    UpstreamError,
    WaManagerError,
)
from wa_manager.entrypoints.http.auth import TooManyAttempts
from wa_manager.redaction import redact

logger = logging.getLogger("wa_manager.http")

STATUS_OF: tuple[tuple[type[WaManagerError], int], ...] = (
    (AuthError, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (AlreadyExists, 409),
    (SyncAlreadyRunning, 409),
    (InvalidInput, 422),
    (TooManyAttempts, 429),
    (UpstreamError, 502),
    (ConfigError, 503),
    (StorageError, 503),
)
"""Domain error class -> HTTP status; the first match wins."""

HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}

GENERIC_500 = "an unexpected error occurred; it has been logged"


def status_of(error: WaManagerError) -> int:
    """The HTTP status of a domain error (500 for one not in the table)."""
    for error_class, status in STATUS_OF:
        if isinstance(error, error_class):
            return status
    return 500


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get(
        "accept", ""
    )


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The contract's error body (or, for a browser on a page, the same message as HTML)."""
    if _wants_html(request):
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Error {status}</title></head><body><h1>Error {status}</h1>"
            f"<p>{html.escape(message)}</p></body></html>"
        )
        return HTMLResponse(body, status_code=status, headers=headers)
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


async def domain_error(request: Request, exc: Exception) -> Response:
    """Handler for ``WaManagerError``: the status from ``STATUS_OF``, the error's message."""
    assert isinstance(exc, WaManagerError)
    status = status_of(exc)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="wa-manager"'
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after)
    message = exc.message if status != 500 else GENERIC_500
    return error_response(request, status, exc.code, message, headers or None)


async def http_error(request: Request, exc: Exception) -> Response:
    """Handler for Starlette's ``HTTPException`` (no such route, wrong method, ...)."""
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "error")
    if exc.status_code == 404:
        message = f"no such resource: {exc.detail}" if exc.detail != "Not Found" else ""
        message = message or "no such resource; see /openapi.json for what there is"
    else:
        message = str(exc.detail)
    return error_response(request, exc.status_code, code, message, exc.headers)


class LimitBody:
    """ASGI middleware: a request body larger than ``max_bytes`` is a 413 ``too_large``.

    A ``Content-Length`` over the limit is answered before the app runs; a body
    sent without one fails as soon as the app has read more than the limit (an
    ``HTTPException``, so it becomes the same error through ``http_error``).
    Starlette's own ``max_body_size`` answers a bare ``text/plain`` from outside
    every middleware, without the security headers, hence this one.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"the request body is larger than the limit of {self.max_bytes:,} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            response = error_response(Request(scope), 413, "too_large", self._message())
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited_receive, send)


# -- the last line of defence ---------------------------------------------------------


class CatchUnexpected:
    """ASGI middleware: an exception nobody handled becomes a logged, generic 500.

    Only the method, the path, the exception's type, message and traceback are
    logged, all redacted (a webhook path carries its secret); never a request
    header. ``secrets`` are the strings to redact by value (the UltraMsg token, the
    webhook secret). A client that hung up (``ClientDisconnect``) gets nothing and
    costs one info line, not an error.
    """

    def __init__(self, app: ASGIApp, secrets: tuple[str, ...] = ()) -> None:
        self.app = app
        self.secrets = secrets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        where = redact(f"{scope.get('method')} {scope.get('path')}", self.secrets)
        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            logger.info("%s: the client hung up before the answer; none sent", where)
        except Exception as exc:
            text = "".join(traceback.format_exception(exc))
            logger.error("unexpected error in %s: %s", where, redact(text, self.secrets))
            if started:
                raise
            response = error_response(Request(scope), 500, "internal_error", GENERIC_500)
            await response(scope, receive, send)
