"""Errors as HTTP answers, in one place: the domain error tree to status codes.

Every error is ``{"error": {"code": "...", "message": "..."}}``
(``docs/interface.md#errors``). The codes follow ``wa_manager.domain.errors``;
the statuses are:

    AuthError 401 · PermissionDenied 403 · NotFound 404 · AlreadyExists 409 ·
    SyncAlreadyRunning 409 · InvalidInput 422 · TooManyAttempts 429 ·
    UpstreamError 502 · ConfigError 503 · StorageError 503 · anything else 500

Web-UI pages (and paths outside ``/api`` asked for by a browser) get the same
message as an error page of the UI (``pages.error_page``): this is the one place
where errors become answers, for the API and the pages alike. Unexpected
exceptions are logged once, with every secret redacted, and answered with a
generic 500 (``CatchUnexpected``); a body over the limit is a 413 ``too_large``
like any other error (``LimitBody``).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wa_manager.domain.errors import (
    AlreadyExists,
    AuthError,
    ConfigError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StorageError,
    SyncAlreadyRunning,
    UpstreamError,
    WaManagerError,
)
from wa_manager.entrypoints.http.auth import CsrfError, TooManyAttempts
from wa_manager.entrypoints.http.pages import error_page
from wa_manager.redaction import redact

logger = logging.getLogger("wa_manager.http")

STATUS_OF: tuple[tuple[type[WaManagerError], int], ...] = (
    (AuthError, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (AlreadyExists, 409),
    (Conflict, 409),
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


PAGE_HEADINGS = {
    401: "Please sign in",
    403: "Admins only",
    404: "Not found",
    409: "Busy right now",
    422: "That link did not work",
    429: "Too many attempts",
}
"""The heading of a web-UI error page, by status (else ``Something went wrong``)."""


def _wants_html(request: Request) -> bool:
    if getattr(request.state, "is_page", False):
        return True
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get(
        "accept", ""
    )


def _sentence(message: str) -> str:
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The contract's error body (or, for a browser on a page, the same message as a page)."""
    if _wants_html(request):
        heading = PAGE_HEADINGS.get(status, "Something went wrong")
        if code == CsrfError.code:
            heading = "Please try again"
        page = error_page(request, status, heading, _sentence(message))
        if headers:
            page.headers.update(headers)
        return page
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def plain_error_response(status: int, code: str, message: str) -> Response:
    """The error body without templates or session: for failures outside the app's stack."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


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
            response = plain_error_response(413, "too_large", self._message())
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

    def _where(self, scope: Scope) -> str:
        """The request's method and path, redacted: built only when there is a line to log."""
        return redact(f"{scope.get('method')} {scope.get('path')}", self.secrets)

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

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            where = self._where(scope)
            logger.info("%s: the client hung up before the answer; none sent", where)
        except Exception as exc:
            text = "".join(traceback.format_exception(exc))
            where = self._where(scope)
            logger.error("unexpected error in %s: %s", where, redact(text, self.secrets))
            if started:
                raise
            response = plain_error_response(500, "internal_error", GENERIC_500)
            await response(scope, receive, send)
