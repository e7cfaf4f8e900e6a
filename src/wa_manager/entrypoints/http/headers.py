"""Security headers on every response, API and pages alike.

The Content-Security-Policy allows no inline script or style, so the web UI
keeps its JavaScript and CSS in ``/static``. Responses other than static files
are ``Cache-Control: no-store``: they carry one user's data. Served over HTTPS
(directly, or behind a proxy that uvicorn trusts for ``X-Forwarded-Proto``),
every cookie is marked ``Secure`` and ``Strict-Transport-Security`` is sent.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

STATIC_PREFIX = "/static"
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def _secure_cookie(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if name.lower() == b"set-cookie" and b"secure" not in value.lower():
        return name, value + b"; Secure"
    return name, value


class SecurityHeaders:
    """ASGI middleware adding ``SECURITY_HEADERS`` (and no-store outside ``/static``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith(STATIC_PREFIX)
        over_https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not cacheable:
                    headers["Cache-Control"] = "no-store"
                if over_https:
                    headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
                    message["headers"] = [_secure_cookie(*item) for item in message["headers"]]
            await send(message)

        await self.app(scope, receive, send_with_headers)
