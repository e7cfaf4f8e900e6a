"""Settings › Users, Settings › Teams, My account, and the bulk link form of Contact Links.

Plain HTML forms, no script needed: each form posts to its page with the session's
CSRF token (checked here for every caller, so a Bearer token cannot post a form),
the use case runs, and the page is shown again with what happened, or with one
clear line saying what went wrong. A one-time password or a new API token is shown
in that answer only, never put in a URL, a cookie or a log.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from wa_manager.bootstrap import App
from wa_manager.domain.errors import InvalidInput, WaManagerError
from wa_manager.domain.model import BulkLinkChange, ContactSelection, User
from wa_manager.entrypoints.http.auth import (
    CSRF_FORM_FIELD,
    check_csrf,
    session_secret,
    signed_in,
    wa_app,
)
from wa_manager.entrypoints.http.errors import status_of
from wa_manager.entrypoints.http.pages import CONTACT_LINKS_PATH, render

USERS_PATH = "/settings/users"
TEAMS_PATH = "/settings/teams"
ACCOUNT_PATH = "/account"
BULK_PATH = CONTACT_LINKS_PATH + "/bulk"


def one_time_password() -> str:
    """A password to hand over once; its owner changes it under My account."""
    return secrets.token_urlsafe(12)


async def checked_form(request: Request) -> FormData:
    """The posted form, after checking its CSRF token whoever is calling."""
    form = await request.form()
    token = form.get(CSRF_FORM_FIELD)
    check_csrf(request, token if isinstance(token, str) else None)
    return form


def form_ids(form: FormData, name: str) -> list[int]:
    return [int(v) for v in form.getlist(name) if isinstance(v, str) and v.isdigit()]


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# -- the pattern every form page follows ---------------------------------------------


@dataclass(frozen=True)
class FormPage:
    """A page showing what ``load`` reads, shown again after each form it posts."""

    template: str
    active: str
    load: Callable[[App, User], dict[str, Any]]

    async def show(self, request: Request, user: User, status: int = 200, **extra: Any) -> Response:
        """The page as it is now, with ``extra`` (a notice, an error, a secret shown once)."""
        found = await run_in_threadpool(self.load, wa_app(request), user)
        return render(
            request, self.template, status_code=status, active=self.active, **found, **extra
        )

    async def page(self, request: Request, user: User) -> Response:
        """``GET``: the page as it is now."""
        return await self.show(request, user)

    async def after(
        self, request: Request, user: User, action: Awaitable[dict[str, Any]]
    ) -> Response:
        """Run a posted form's ``action``; the page again with what it returned, or with
        the domain error it raised (and that error's status)."""
        try:
            outcome = await action
        except WaManagerError as error:
            return await self.show(request, user, status_of(error), error=error.message)
        return await self.show(request, user, **outcome)


# -- Settings › Users --------------------------------------------------------------

# ``GET /settings/users`` (admins): every user, with forms to change them.
_USERS = FormPage(
    "settings_users.html", "users", lambda app, user: {"users": app.accounts.users(user)}
)


@signed_in(login_redirect=True)
async def users_submit(request: Request, user: User) -> Response:
    """``POST /settings/users``: add a user, change a role, disable, enable, reset a password."""
    form = await checked_form(request)
    accounts = wa_app(request).accounts
    action = form_text(form, "action")
    target = int(form_text(form, "user_id") or 0)

    async def act() -> dict[str, Any]:
        secret: str | None = None
        if action == "add":
            secret = one_time_password()
            username = form_text(form, "username")
            role = form_text(form, "role")
            made = await run_in_threadpool(accounts.add_user, user, username, role, secret)
            notice = f"Added {made.username}. Give them this one-time password:"
        elif action in ("disable", "enable"):
            changed = await run_in_threadpool(
                lambda: accounts.change_user(user, target, disabled=action == "disable")
            )
            notice = f"{changed.username} is {action}d."
        elif action == "role":
            role = form_text(form, "role")
            changed = await run_in_threadpool(lambda: accounts.change_user(user, target, role=role))
            notice = f"{changed.username} is now {changed.role}."
        elif action == "reset":
            secret = one_time_password()
            changed = await run_in_threadpool(
                lambda: accounts.change_user(user, target, password=secret)
            )
            notice = f"New one-time password for {changed.username}:"
        else:
            raise InvalidInput("Unknown action; reload the page.")
        return {"notice": notice, "secret": secret}

    return await _USERS.after(request, user, act())


# -- Settings › Teams --------------------------------------------------------------

# ``GET /settings/teams`` (admins): every team and its members.
_TEAMS = FormPage(
    "settings_teams.html",
    "teams",
    lambda app, user: {"teams": app.teams.list(user), "users": app.accounts.users(user)},
)


@signed_in(login_redirect=True)
async def teams_submit(request: Request, user: User) -> Response:
    """``POST /settings/teams``: create a team, or set a team's members."""
    form = await checked_form(request)
    teams = wa_app(request).teams

    async def act() -> dict[str, Any]:
        if form_text(form, "action") == "add":
            team = await run_in_threadpool(teams.add, user, form_text(form, "name"))
            return {"notice": f"Created the team {team.name}."}
        team_id = int(form_text(form, "team_id") or 0)
        members = form_ids(form, "user_ids")
        team = await run_in_threadpool(teams.set_members, user, team_id, members)
        return {"notice": f"Saved the members of {team.name}."}

    return await _TEAMS.after(request, user, act())


# -- My account --------------------------------------------------------------------


def _own_tokens(app: App, user: User) -> dict[str, Any]:
    found = app.accounts.tokens(user)
    return {"tokens": [token for token, _ in found if token.user_id == user.id]}


# ``GET /account``: change one's password; one's own API tokens.
_ACCOUNT = FormPage("account.html", "account", _own_tokens)


@signed_in(login_redirect=True)
async def account_submit(request: Request, user: User) -> Response:
    """``POST /account``: change the password, create a token, or revoke one."""
    form = await checked_form(request)
    accounts = wa_app(request).accounts
    action = form_text(form, "action")

    async def act() -> dict[str, Any]:
        secret: str | None = None
        if action == "password":
            current = form.get("current_password")
            new = form.get("new_password")
            if not isinstance(current, str) or not isinstance(new, str):
                raise InvalidInput("type your current password and a new one")
            await run_in_threadpool(
                accounts.change_own_password, user, current, new, session_secret(request)
            )
            notice = "Your password is changed."
        elif action == "create-token":
            token, secret = await run_in_threadpool(
                accounts.issue_own_token, user, form_text(form, "name")
            )
            notice = f"Your new token {token.name!r}; copy it now, it is not shown again:"
        else:
            token_id = int(form_text(form, "token_id") or 0)
            await run_in_threadpool(accounts.revoke_token, user, token_id)
            notice = "The token is revoked."
        return {"notice": notice, "secret": secret}

    return await _ACCOUNT.after(request, user, act())


# -- bulk links on Contact Links ---------------------------------------------------


@signed_in(login_redirect=True)
async def bulk_submit(request: Request, user: User) -> Response:
    """``POST /settings/contact-links/bulk``: link or unlink the checked users and teams
    on the checked contacts, or on every contact matching the search; back to the page."""
    form = await checked_form(request)
    search, vanished = form_text(form, "search"), form_text(form, "vanished")
    source = form_text(form, "source")
    back = {"search": search, "vanished": vanished, "source": source}
    if form_text(form, "scope") == "matching":
        selection = ContactSelection(
            search=search,
            vanished={"true": True, "false": False}.get(vanished),
            source=source or None,
        )
    else:
        selection = ContactSelection(contact_ids=tuple(form_ids(form, "contact_ids")))
    users, teams = tuple(form_ids(form, "user_ids")), tuple(form_ids(form, "team_ids"))
    remove = form_text(form, "mode") == "remove"
    change = (
        BulkLinkChange(remove_user_ids=users, remove_team_ids=teams)
        if remove
        else BulkLinkChange(add_user_ids=users, add_team_ids=teams)
    )
    try:
        if not selection.contact_ids and selection.search is None:
            raise InvalidInput("check at least one contact, or choose all matching contacts")
        contacts, changed = await run_in_threadpool(
            wa_app(request).contacts.bulk_link, user, selection, change
        )
        back["bulk"] = f"{contacts} contacts, {changed} links changed"
    except WaManagerError as error:
        back["bulk_error"] = error.message
    query = urlencode({key: value for key, value in back.items() if value})
    return RedirectResponse(f"{CONTACT_LINKS_PATH}?{query}", status_code=303)


def admin_page_routes() -> list[BaseRoute]:
    """The routes of these pages."""
    return [
        Route(USERS_PATH, signed_in(_USERS.page, login_redirect=True), methods=["GET"]),
        Route(USERS_PATH, users_submit, methods=["POST"]),
        Route(TEAMS_PATH, signed_in(_TEAMS.page, login_redirect=True), methods=["GET"]),
        Route(TEAMS_PATH, teams_submit, methods=["POST"]),
        Route(ACCOUNT_PATH, signed_in(_ACCOUNT.page, login_redirect=True), methods=["GET"]),
        Route(ACCOUNT_PATH, account_submit, methods=["POST"]),
        Route(BULK_PATH, bulk_submit, methods=["POST"]),
    ]
