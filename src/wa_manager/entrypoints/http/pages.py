"""Server-rendered pages of the web UI: login, Settings › Contact Links, Conversations.

Pages are Jinja2 templates (autoescaped: a contact named ``<script>`` is text)
rendered from the ``App``; the little JavaScript they need lives in ``static/``
because the Content-Security-Policy forbids inline scripts. Changes of state go
through the HTTP API (sync, links) or through forms that carry the session's
CSRF token (login, logout). Errors are not handled here: a page's errors (a
stale cursor, a user on an admin page) reach ``errors``, which answers them with
``error_page``. Lists are keyset-paginated with the API's cursors
(``?limit=`` 1–200, default 50), so the 2,000th page costs what the first does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from wa_manager.domain.errors import AuthError
from wa_manager.domain.model import Contact, ContactSummary, Page, User
from wa_manager.entrypoints.http import inbox_list
from wa_manager.entrypoints.http.auth import (
    CSRF_FORM_FIELD,
    CsrfError,
    TooManyAttempts,
    authenticate_login,
    check_csrf,
    csrf_token,
    current_user,
    login,
    logout,
    signed_in,
    wa_app,
)
from wa_manager.entrypoints.http.extras import schedule_of
from wa_manager.entrypoints.http.inputs import (
    ContactQuery,
    ConversationQuery,
    encode_cursor,
    query_of,
)

PACKAGE = "wa_manager.entrypoints.http"
SYNC_HISTORY_ROWS = 10
CONTACT_LINKS_PATH = "/settings/contact-links"
CONVERSATIONS_PATH = "/conversations"

# -- rendering ------------------------------------------------------------------------


def _static_versions() -> dict[str, str]:
    """A short content hash per static file, so a new release is never served from cache."""
    folder = resources.files(PACKAGE).joinpath("static")
    return {
        item.name: hashlib.sha256(item.read_bytes()).hexdigest()[:10]
        for item in folder.iterdir()
        if item.is_file()
    }


def when(moment: datetime | None) -> str:
    """A time for people: ``23 Nov 2024, 14:05 UTC``."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%-d %b %Y, %H:%M UTC")


def initial(contact: ContactSummary | Contact) -> str:
    """The letter on a contact's avatar: the first letter or digit of its name, else ``#``."""
    return next((char.upper() for char in contact.name or "" if char.isalnum()), "#")


def template_environment() -> jinja2.Environment:
    """The templates, autoescaped, with ``static()``, ``when`` and ``initial``."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader(PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    versions = _static_versions()
    environment.globals["static"] = lambda name: f"/static/{name}?v={versions.get(name, '0')}"
    environment.globals["initial"] = initial
    environment.filters["when"] = when
    environment.globals["ago"] = inbox_list.ago
    environment.globals["preview_text"] = inbox_list.preview_text
    return environment


def _templates(request: Request) -> jinja2.Environment:
    """This HTTP app's template environment, built on first use."""
    state = request.app.state
    environment: jinja2.Environment | None = getattr(state, "page_templates", None)
    if environment is None:
        environment = state.page_templates = template_environment()
    return environment


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page: the template with the signed-in user and the CSRF token filled in."""
    environment = _templates(request)
    context.setdefault("user", getattr(request.state, "user", None))
    context.setdefault("active", "")
    html = environment.get_template(template).render(csrf=csrf_token(request), **context)
    return HTMLResponse(html, status_code=status_code)


def error_page(request: Request, status: int, heading: str, message: str) -> HTMLResponse:
    """A friendly error page with a way back (``errors.error_response`` uses it for pages)."""
    user = getattr(request.state, "user", None)
    return render(
        request,
        "error.html",
        status_code=status,
        status=status,
        heading=heading,
        message=message,
        back_href=home_path(user),
        back_label="Back to your conversations" if user is not None else "Sign in",
    )


def home_path(user: User | None) -> str:
    """Where a user lands: admins on Contact Links, users on their conversations."""
    if user is None:
        return "/login"
    return CONTACT_LINKS_PATH if user.is_admin else CONVERSATIONS_PATH


def safe_next(target: str | None, user: User) -> str:
    """A local path to go to after login (never another site), else the user's home."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return home_path(user)


def page_links(
    path: str, page: Page[Any], listing: str, **query: str | None
) -> dict[str, str | None]:
    """``first_href`` (when not on the first page) and ``next_href`` (when there is more)."""
    kept = {key: value for key, value in query.items() if value}
    on_first = "cursor" not in kept
    kept.pop("cursor", None)
    cursor = encode_cursor(listing, page.next_before_id)

    def href(extra: dict[str, str]) -> str:
        params = {**kept, **extra}
        return f"{path}?{urlencode(params)}" if params else path

    return {
        "first_href": None if on_first else href({}),
        "next_href": href({"cursor": cursor}) if cursor else None,
    }


# -- login and logout -----------------------------------------------------------------


async def home(request: Request) -> Response:
    """``/``: to the signed-in user's home page, else to the login form."""
    return RedirectResponse(home_path(await current_user(request)), status_code=303)


async def login_page(request: Request) -> Response:
    """``GET /login``: the form (or straight on, for someone already signed in)."""
    user = await current_user(request)
    target = request.query_params.get("next", "")
    if user is not None:
        return RedirectResponse(safe_next(target, user), status_code=303)
    return render(request, "login.html", next=target, username="", error=None)


async def login_submit(request: Request) -> Response:
    """``POST /login``: check the CSRF token, the throttle and the password; start a session."""
    form = await request.form()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    target = str(form.get("next", ""))

    def again(status: int, error: str) -> Response:
        return render(
            request, "login.html", status_code=status, next=target, username=username, error=error
        )

    try:
        check_csrf(request, _form_text(form.get(CSRF_FORM_FIELD)))
    except CsrfError:
        return again(400, "This sign-in form had expired. Please sign in again.")
    if not username or not password:
        return again(422, "Enter your username and password.")
    try:
        user = await authenticate_login(request, username, password)
    except TooManyAttempts as error:
        return again(
            429, f"Too many failed sign-ins. Wait {error.retry_after} seconds and try again."
        )
    except AuthError:
        return again(401, "Wrong username or password.")
    await login(request, user)
    return RedirectResponse(safe_next(target, user), status_code=303)


def _form_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


async def logout_page(request: Request) -> Response:
    """``GET /logout``: a button to sign out (signing out changes state, so it is a POST)."""
    if await current_user(request) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "logout.html")


async def logout_submit(request: Request) -> Response:
    """``POST /logout``: end the session (CSRF-checked) and go to the login form."""
    form = await request.form()
    try:
        check_csrf(request, _form_text(form.get(CSRF_FORM_FIELD)))
    except CsrfError:
        await current_user(request)
        return error_page(
            request, 403, "Please try again", "This page had expired. Reload it and sign out again."
        )
    await logout(request)
    return RedirectResponse("/login", status_code=303)


# -- the pages ------------------------------------------------------------------------


@signed_in(login_redirect=True)
async def contact_links(request: Request, user: User) -> Response:
    """``/settings/contact-links`` (admins): contacts, search, Sync WhatsApp, Link Users."""
    app = wa_app(request)
    query = query_of(request, ContactQuery)
    before_id = query.before_id("contacts")
    page, users, last_sync, history, teams, matching, sources = await run_in_threadpool(
        lambda: (
            app.contacts.page(
                user,
                search=query.search,
                vanished=query.vanished,
                limit=query.limit,
                before_id=before_id,
                source=query.source,
            ),
            app.accounts.users(user),
            app.syncs.last(user),
            app.syncs.history(user, limit=SYNC_HISTORY_ROWS).items,
            app.teams.list(user),
            app.contacts.count(
                user, search=query.search, vanished=query.vanished, source=query.source
            ),
            app.conversations.sources(user),
        )
    )
    usernames = {known.id: known.username for known in users}
    return render(
        request,
        "contact_links.html",
        active="contact-links",
        contacts=list(page.items),
        search=query.search or "",
        vanished=request.query_params.get("vanished", ""),
        source=query.source or "",
        sources=sources,
        last_sync=last_sync,
        sync_runs=history,
        schedule=schedule_of(request),
        usernames=usernames,
        linked_names=lambda contact: _names(contact.user_ids, usernames),
        users=users,
        teams=teams,
        team_names={team.id: team.name for team in teams},
        matching=matching,
        bulk_notice=request.query_params.get("bulk", ""),
        bulk_error=request.query_params.get("bulk_error", ""),
        pager=page_links(
            CONTACT_LINKS_PATH,
            page,
            "contacts",
            search=query.search,
            vanished=request.query_params.get("vanished"),
            source=query.source,
            limit=request.query_params.get("limit"),
            cursor=request.query_params.get("cursor"),
        ),
    )


def _names(user_ids: Iterable[int], usernames: dict[int, str]) -> list[str]:
    return sorted((usernames[uid] for uid in user_ids if uid in usernames), key=str.casefold)


@signed_in(login_redirect=True)
async def conversations(request: Request, user: User) -> Response:
    """``/conversations``: exactly what the signed-in user may see, by last activity,
    with the Mine / Unassigned / All tabs and a status filter (``inbox_list``)."""
    app = wa_app(request)
    query = query_of(request, ConversationQuery)
    before = query.before()
    page, sources = await run_in_threadpool(
        lambda: (
            app.conversations.page(
                user,
                limit=query.limit,
                before=before,
                status=query.status,
                assigned=query.assignee(),
                search=query.search,
                source=query.source,
            ),
            app.conversations.sources(user),
        )
    )
    return render(
        request,
        "conversations.html",
        active="conversations",
        conversations=list(page.items),
        sources=sources,
        **inbox_list.list_context(query, page, app.clock(), CONVERSATIONS_PATH),
    )


def page_routes() -> list[BaseRoute]:
    """The routes of the web UI: login, Settings › Contact Links, Conversations, static files."""
    return [
        Route("/", home, methods=["GET"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout_page, methods=["GET"]),
        Route("/logout", logout_submit, methods=["POST"]),
        Route(CONTACT_LINKS_PATH, contact_links, methods=["GET"]),
        Route(CONVERSATIONS_PATH, conversations, methods=["GET"]),
        Mount("/static", StaticFiles(packages=[(PACKAGE, "static")]), name="static"),
    ]
