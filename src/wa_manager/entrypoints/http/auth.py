"""Who is asking: Bearer tokens, login sessions, CSRF tokens and login throttling.

Two ways in (``docs/interface.md#authentication``):

- ``Authorization: Bearer TOKEN``: checked with ``Accounts.user_for_token``; such
  requests need no CSRF token (a browser never adds the header by itself);
- the session cookie set by ``login``: signed by Starlette's ``SessionMiddleware``
  (HttpOnly, SameSite=Lax, Secure behind HTTPS), it carries nothing but a random
  session secret; the session itself (whose, until when, whether it was ended)
  lives in the database (``services.sessions``), so every server process knows it
  and signing out ends it for good. The CSRF token is an HMAC of that secret under
  the signing key; every state-changing request made with the cookie (POST, PUT,
  PATCH, DELETE) must send it back in the ``X-CSRF-Token`` header or in a form
  field ``csrf_token``. Before signing in, the cookie holds an anonymous secret
  (no database row) so that the login form has a CSRF token too.

``signed_in`` and ``admin_only`` guard endpoints of the API (401/403 as JSON)
and of the web UI (``login_redirect=True``: a redirect to ``/login`` instead of 401).
The login throttle (``services.sessions.LoginThrottle``, in the database) refuses
more than a few logins a minute per (account, client address) pair and per
client address (``TooManyAttempts``, HTTP 429).
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import overload
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from wa_manager.bootstrap import App
from wa_manager.domain.errors import AuthError, PermissionDenied
from wa_manager.domain.model import User
from wa_manager.services.sessions import TooManyAttempts as TooManyAttempts  # for errors.py, pages
from wa_manager.services.sessions import csrf_token_for

SESSION_ID_FIELD = "sid"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_PATH = "/login"

AUTH_BEARER = "bearer"
AUTH_SESSION = "session"

Endpoint = Callable[[Request], Awaitable[Response]]
GuardedEndpoint = Callable[[Request, User], Awaitable[Response]]


class CsrfError(PermissionDenied):
    """A cookie-authenticated state-changing request without the right CSRF token."""

    code = "csrf_failed"


def wa_app(request: Request) -> App:
    """The ``App`` this HTTP app serves (set by ``create_app``)."""
    app: App = request.app.state.wa_app
    return app


# -- sessions -----------------------------------------------------------------------


def signing_key(request: Request) -> str:
    """The key that signs cookies and CSRF tokens (set by ``create_app``)."""
    key: str = request.app.state.signing_key
    return key


def session_secret(request: Request) -> str | None:
    """The session secret the cookie carries, if any (e.g. to keep this session when
    ending a user's others: ``app.sessions.end_all_for(user.id, except_secret=...)``)."""
    secret = request.session.get(SESSION_ID_FIELD)
    return secret if isinstance(secret, str) and secret else None


async def login(request: Request, user: User) -> None:
    """Start a session for ``user`` in the database; the cookie gets its new secret.

    Whatever the cookie held before is dropped (no session fixation), and a session
    it named is ended.
    """
    await _end_session(request)
    secret = await run_in_threadpool(wa_app(request).sessions.start, user)
    request.session.clear()
    request.session[SESSION_ID_FIELD] = secret
    request.state.user = user
    request.state.auth_method = AUTH_SESSION


async def _end_session(request: Request) -> None:
    secret = session_secret(request)
    if secret is not None:
        await run_in_threadpool(wa_app(request).sessions.end, secret)


async def logout(request: Request) -> None:
    """Sign out: the session ends in the database (a replayed cookie is refused) and
    the cookie is cleared."""
    await _end_session(request)
    request.session.clear()
    request.state.user = None
    request.state.auth_method = None


def csrf_token(request: Request) -> str:
    """The CSRF token of the cookie's session (an anonymous one is made before login)."""
    secret = session_secret(request)
    if secret is None:
        secret = secrets.token_urlsafe(32)
        request.session[SESSION_ID_FIELD] = secret
    return csrf_token_for(signing_key(request), secret)


def check_csrf(request: Request, submitted: str | None) -> None:
    """Raise ``CsrfError`` (403) unless ``submitted`` is this session's CSRF token."""
    secret = session_secret(request)
    expected = csrf_token_for(signing_key(request), secret) if secret is not None else ""
    if (
        not expected
        or not submitted
        or not hmac.compare_digest(expected.encode(), submitted.encode())
    ):
        raise CsrfError("the CSRF token is missing or wrong; reload the page and try again")


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token a request carries: the ``X-CSRF-Token`` header, else a form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


# -- who is asking ------------------------------------------------------------------


def _bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization`` header; ``AuthError`` for a header that is not Bearer."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError(
            "use the header 'Authorization: Bearer TOKEN' with a token from "
            "`wa-manager tokens create`"
        )
    return token


async def current_user(request: Request) -> User | None:
    """The signed-in user, or None: a Bearer token first, else the session cookie.

    A Bearer header with a wrong token is an ``AuthError`` (it never falls back to
    the cookie). The answer is remembered for the rest of the request, and
    ``auth_method(request)`` says which way the user came in.
    """
    if hasattr(request.state, "user"):
        cached: User | None = request.state.user
        return cached
    user: User | None = None
    method: str | None = None
    token = _bearer_token(request)
    if token is not None:
        user = await run_in_threadpool(wa_app(request).accounts.user_for_token, token)
        method = AUTH_BEARER
    else:
        secret = session_secret(request)
        if secret is not None:
            try:
                user = await run_in_threadpool(wa_app(request).sessions.user_for, secret)
                method = AUTH_SESSION
            except AuthError:
                request.session.clear()  # ended, expired, or the user is locked out
    request.state.user = user
    request.state.auth_method = method
    return user


def auth_method(request: Request) -> str | None:
    """``"bearer"``, ``"session"`` or None, once ``current_user`` has run."""
    method: str | None = getattr(request.state, "auth_method", None)
    return method


async def enforce_csrf(request: Request) -> None:
    """Cookie-authenticated POST/PUT/PATCH/DELETE must carry the session's CSRF token."""
    if request.method not in SAFE_METHODS and auth_method(request) == AUTH_SESSION:
        check_csrf(request, await submitted_csrf(request))


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN_PATH}?next={quote(target, safe='')}", status_code=303)


def _guard(
    *, admin: bool, login_redirect: bool, bearer_only: bool
) -> Callable[[GuardedEndpoint], Endpoint]:
    def decorate(handler: GuardedEndpoint) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            if login_redirect:
                request.state.is_page = True  # errors answer with a page (errors.py)
            user = await current_user(request)
            if user is None:
                if login_redirect:
                    return _login_redirect(request)
                raise AuthError("sign in: send 'Authorization: Bearer TOKEN' or log in at /login")
            if bearer_only and auth_method(request) != AUTH_BEARER:
                raise AuthError(
                    "this endpoint takes 'Authorization: Bearer TOKEN' only; "
                    "from the browser, POST with the CSRF token"
                )
            if admin and not user.is_admin:
                raise PermissionDenied("only admins may do this")
            await enforce_csrf(request)
            return await handler(request, user)

        return endpoint

    return decorate


@overload
def signed_in(handler: GuardedEndpoint, *, login_redirect: bool = False) -> Endpoint: ...


@overload
def signed_in(
    handler: None = None, *, login_redirect: bool = False
) -> Callable[[GuardedEndpoint], Endpoint]: ...


def signed_in(
    handler: GuardedEndpoint | None = None, *, login_redirect: bool = False
) -> Endpoint | Callable[[GuardedEndpoint], Endpoint]:
    """Guard an endpoint ``async def f(request, user)`` for any signed-in user.

    Use as ``@signed_in`` (401 without credentials) or
    ``@signed_in(login_redirect=True)`` (pages: 303 to ``/login?next=...``).
    Cookie-authenticated state-changing requests must carry the CSRF token.
    """
    decorate = _guard(admin=False, login_redirect=login_redirect, bearer_only=False)
    return decorate(handler) if handler is not None else decorate


@overload
def admin_only(
    handler: GuardedEndpoint, *, login_redirect: bool = False, bearer_only: bool = False
) -> Endpoint: ...


@overload
def admin_only(
    handler: None = None, *, login_redirect: bool = False, bearer_only: bool = False
) -> Callable[[GuardedEndpoint], Endpoint]: ...


def admin_only(
    handler: GuardedEndpoint | None = None,
    *,
    login_redirect: bool = False,
    bearer_only: bool = False,
) -> Endpoint | Callable[[GuardedEndpoint], Endpoint]:
    """Like ``signed_in``, and a plain user gets 403.

    ``bearer_only=True`` refuses the session cookie (401), for endpoints that change
    state on GET (``GET /api/whatsapp-contacts``).
    """
    decorate = _guard(admin=True, login_redirect=login_redirect, bearer_only=bearer_only)
    return decorate(handler) if handler is not None else decorate


# -- login with throttling ----------------------------------------------------------


def client_address(request: Request) -> str:
    """The client's address as the server saw it."""
    return request.client.host if request.client is not None else "unknown"


async def authenticate_login(request: Request, username: str, password: str) -> User:
    """Check a username and password, throttled; ``TooManyAttempts`` or ``AuthError``.

    The attempt is counted before the password is checked (in the database, shared
    by every process); a login that succeeds gives it back. Does not start the
    session: call ``login(request, user)`` with the result.
    """
    app = wa_app(request)
    address = client_address(request)
    await run_in_threadpool(app.login_throttle.attempt, username, address)
    user = await run_in_threadpool(app.accounts.user_for_password, username, password)
    await run_in_threadpool(app.login_throttle.succeeded, username, address)
    return user
