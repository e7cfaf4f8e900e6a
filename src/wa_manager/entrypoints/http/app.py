"""The HTTP app factory: ``create_app(app)`` -> a Starlette app serving API and web UI.

Nothing is built at import time. Middleware, outermost first: security headers,
the catch-all for unexpected errors (a logged, generic 500), the body size limit
(a 413 error), the signed session cookie. Domain errors become JSON errors in
``errors``; the API's routes come from ``api.OPERATIONS``, then the web UI's from
``pages.page_routes()``. A path with a trailing slash is redirected to the one
without by a relative ``Location`` (Starlette's own redirect is built from the
``Host`` header).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from wa_manager.bootstrap import App
from wa_manager.domain.errors import WaManagerError
from wa_manager.entrypoints.http import (
    admin_pages,
    duplicates_page,
    number_members_page,
    numbers_page,
    pages,
    thread_page,
    workflow,
)
from wa_manager.entrypoints.http.api import api_routes
from wa_manager.entrypoints.http.errors import (
    CatchUnexpected,
    LimitBody,
    domain_error,
    http_error,
)
from wa_manager.entrypoints.http.headers import SecurityHeaders
from wa_manager.entrypoints.http.inputs import MAX_BODY_BYTES
from wa_manager.entrypoints.http.openapi import openapi_document
from wa_manager.redaction import redact, redact_logs
from wa_manager.services.sessions import SESSION_LIFETIME

logger = logging.getLogger("wa_manager.http")

SESSION_COOKIE = "session"
SESSION_MAX_AGE = int(SESSION_LIFETIME.total_seconds())  # as long as the session lives
SCHEDULER_STOP_SECONDS = 60.0  # a running sync may finish before the server stops


def _secret_key(app: App, secret_key: str | None) -> str:
    """The given key, else ``WA_MANAGER_SECRET_KEY``, else the one kept in the database
    (made by the first process that needed it, shared by all of them and by restarts)."""
    if secret_key:
        return secret_key
    if app.settings.secret_key:
        return app.settings.secret_key.get()
    return app.sessions.signing_key()


def _secrets_to_redact(app: App) -> tuple[str, ...]:
    settings = app.settings
    found = (settings.token, settings.webhook_secret, settings.secret_key)
    return tuple(secret.get() for secret in found if secret)


def _without_trailing_slash(router: Router) -> ASGIApp:
    """The router's answer when no route matches: ``/api/x/`` is a 307 to ``/api/x``
    when a route takes that (a relative ``Location``), anything else a 404. Nothing
    that looks like a secret (a webhook path, ``token=``) is sent back in a ``Location``."""

    def taken(scope: Scope, path: str) -> bool:
        moved = {**scope, "path": path}
        return any(route.matches(moved)[0] is not Match.NONE for route in router.routes)

    async def redirect_or_not_found(scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope["path"])
        target = path.rstrip("/")
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        escaped = target.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
        location = escaped + (f"?{query}" if query else "")
        if not (
            scope["type"] == "http"
            and target != path
            and target.startswith("/")
            and not target.startswith("//")  # a browser would go to another host
            and redact(location) == location
            and taken(scope, target)
        ):
            raise HTTPException(404)
        await RedirectResponse(location, 307)(scope, receive, send)

    return redirect_or_not_found


def create_app(
    app: App,
    *,
    secret_key: str | None = None,
    close_on_shutdown: bool = False,
) -> Starlette:
    """The Starlette app for ``app``: the JSON API, ``/openapi.json``, ``/healthz``, the UI.

    ``secret_key`` signs session cookies and CSRF tokens (default: the settings', else
    one generated once and kept in the database; over HTTPS ``SecurityHeaders`` marks
    cookies Secure);
    ``close_on_shutdown`` closes ``app`` when the server stops.
    """

    every = app.settings.sync_every_seconds
    key = _secret_key(app, secret_key)
    scheduler = app.syncs.scheduler(every) if every else None

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        redact_logs(_secrets_to_redact(app))
        if scheduler is not None:
            scheduler.start()
        yield
        if scheduler is not None:
            scheduler.stop(timeout=SCHEDULER_STOP_SECONDS)
        if close_on_shutdown:
            app.close()

    http_app = Starlette(
        routes=[
            *api_routes(),
            *pages.page_routes(),
            *thread_page.page_routes(),
            *workflow.workflow_routes(),
            *admin_pages.admin_page_routes(),
            *numbers_page.numbers_page_routes(),
            *duplicates_page.duplicates_routes(),
            *number_members_page.number_members_routes(),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(CatchUnexpected, secrets=_secrets_to_redact(app)),
            Middleware(LimitBody, max_bytes=MAX_BODY_BYTES),
            Middleware(
                SessionMiddleware,
                secret_key=key,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE,
                same_site="lax",
            ),
        ],
        exception_handlers={WaManagerError: domain_error, HTTPException: http_error},
        lifespan=lifespan,
    )
    http_app.router.redirect_slashes = False  # it would send the Host header back
    http_app.router.default = _without_trailing_slash(http_app.router)
    http_app.state.wa_app = app
    http_app.state.signing_key = key
    http_app.state.openapi = openapi_document()
    http_app.state.scheduler = scheduler
    return http_app


def app_from_environment() -> Starlette:
    """The app of one worker of ``wa-manager serve --workers N``: settings from the
    environment the ``serve`` command prepared, closed when the worker stops."""
    import os

    from wa_manager.bootstrap import bootstrap
    from wa_manager.config import Settings

    return create_app(bootstrap(Settings.from_env(os.environ)), close_on_shutdown=True)
