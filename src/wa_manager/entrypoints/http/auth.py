"""Who is asking: Bearer tokens, login sessions, CSRF tokens and login throttling.

Two ways in (``docs/interface.md#authentication``):

- ``Authorization: Bearer TOKEN``: checked with ``Accounts.user_for_token``; such
  requests need no CSRF token (a browser never adds the header by itself);
- the session cookie set by ``login``: signed by Starlette's ``SessionMiddleware``
  (HttpOnly, SameSite=Lax, Secure behind HTTPS); it carries the user id and a
  CSRF token, and every state-changing request made with it (POST, PUT, PATCH,
  DELETE) must send that token back in the ``X-CSRF-Token`` header or in a form
  field ``csrf_token``.

``signed_in`` and ``admin_only`` guard endpoints of the API (401/403 as JSON)
and of the web UI (``login_redirect=True``: a redirect to ``/login`` instead of 401).
``LoginThrottle`` refuses more than a few failed logins a minute per (account,
client address) pair and per client address (``TooManyAttempts``, HTTP 429).
"""

from __future__ import annotations

import functools
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import overload
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from wa_manager.bootstrap import App
from wa_manager.domain.errors import AuthError, PermissionDenied, WaManagerError
from wa_manager.domain.model import User

SESSION_USER_KEY = "uid"
SESSION_CSRF_KEY = "csrf"
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


class TooManyAttempts(WaManagerError):
    """Too many failed logins in a short time (HTTP 429); ``retry_after`` in seconds."""

    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def wa_app(request: Request) -> App:
    """The ``App`` this HTTP app serves (set by ``create_app``)."""
    app: App = request.app.state.wa_app
    return app


# -- sessions -----------------------------------------------------------------------


def login(request: Request, user: User) -> None:
    """Start a session for ``user``: a fresh cookie with their id and a new CSRF token.

    Whatever the session held before is dropped (no session fixation).
    """
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.id
    request.session[SESSION_CSRF_KEY] = secrets.token_urlsafe(32)
    request.state.user = user
    request.state.auth_method = AUTH_SESSION


def logout(request: Request) -> None:
    """End the session: the cookie is cleared."""
    request.session.clear()
    request.state.user = None
    request.state.auth_method = None


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (also before login, for the login form)."""
    token = request.session.get(SESSION_CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF_KEY] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Raise ``CsrfError`` (403) unless ``submitted`` is this session's CSRF token."""
    expected = request.session.get(SESSION_CSRF_KEY)
    if (
        not isinstance(expected, str)
        or not expected
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
        user_id = request.session.get(SESSION_USER_KEY)
        if isinstance(user_id, int) and not isinstance(user_id, bool):
            try:
                user = await run_in_threadpool(wa_app(request).accounts.user_for_session, user_id)
                method = AUTH_SESSION
            except AuthError:
                logout(request)  # the user is gone or locked out: drop the cookie
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


class LoginThrottle:
    """At most ``max_failures`` failed logins per ``window`` seconds per (account, address)
    pair and per address.

    Not per account alone: then anyone who knows a username could lock its owner
    out from anywhere. Guessing one account from many addresses stays slow (argon2,
    8+ character passwords); one address guessing many accounts hits its own limit.
    Thread-safe; kept in memory per process (enough for one server; a restart forgets).
    """

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        return f"pair:{username.strip().lower()}|{address}", f"addr:{address}"

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return deque()
        return failures

    def check(self, username: str, address: str) -> None:
        """Raise ``TooManyAttempts`` when the pair or the address is over its limit."""
        now = self._clock()
        with self._lock:
            for key in self._keys(username, address):
                failures = self._recent(key, now)
                if len(failures) >= self.max_failures:
                    retry_after = max(1, int(failures[0] + self.window - now + 0.999))
                    raise TooManyAttempts(
                        f"too many failed logins; wait {retry_after} seconds and try again",
                        retry_after,
                    )

    def record_failure(self, username: str, address: str) -> None:
        """Count one failed login against the pair and the address."""
        now = self._clock()
        with self._lock:
            for key in self._keys(username, address):
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)

    def reset(self, username: str, address: str) -> None:
        """Forget the pair's failures after a successful login."""
        with self._lock:
            self._failures.pop(self._keys(username, address)[0], None)


def login_throttle(request: Request) -> LoginThrottle:
    """The throttle of this HTTP app (set by ``create_app``)."""
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def client_address(request: Request) -> str:
    """The client's address as the server saw it."""
    return request.client.host if request.client is not None else "unknown"


async def authenticate_login(request: Request, username: str, password: str) -> User:
    """Check a username and password, throttled; ``TooManyAttempts`` or ``AuthError``.

    Does not start the session: call ``login(request, user)`` with the result.
    """
    throttle = login_throttle(request)
    address = client_address(request)
    throttle.check(username, address)
    try:
        user = await run_in_threadpool(
            wa_app(request).accounts.user_for_password, username, password
        )
    except AuthError:
        throttle.record_failure(username, address)
        raise
    throttle.reset(username, address)
    return user
