"""The members page of a WhatsApp number: ``/settings/whatsapp-numbers/{id}/members``
(admins), reached from Settings › WhatsApp numbers.

Checkboxes of every user and every team; saving makes exactly the checked ones the
members of that number (instance id = the contacts' ``source``), who then see every
conversation of it. A plain form with the session's CSRF token, shown again with
what happened, like the other admin pages (``admin_pages.FormPage``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from wa_manager.bootstrap import App
from wa_manager.domain.model import User
from wa_manager.entrypoints.http.admin_pages import FormPage, checked_form, form_ids
from wa_manager.entrypoints.http.auth import signed_in, wa_app
from wa_manager.entrypoints.http.numbers_page import NUMBERS_PATH

MEMBERS_PATH = NUMBERS_PATH + "/{id}/members"


def members_path(instance_id: str) -> str:
    """The members page of this number (the id is URL-quoted)."""
    return f"{NUMBERS_PATH}/{quote(instance_id, safe='')}/members"


def _page_of(instance_id: str) -> FormPage:
    """The members page of one number: its members, every user and every team."""

    def load(app: App, user: User) -> dict[str, Any]:
        return {
            "members": app.instance_members.members(user, instance_id),
            "users": app.accounts.users(user),
            "teams": app.teams.list(user),
            "numbers_path": NUMBERS_PATH,
            "form_path": members_path(instance_id),
        }

    return FormPage("settings_number_members.html", "numbers", load)


@signed_in(login_redirect=True)
async def members_page(request: Request, user: User) -> Response:
    """``GET``: the number's members as checkboxes."""
    return await _page_of(str(request.path_params["id"])).page(request, user)


@signed_in(login_redirect=True)
async def members_submit(request: Request, user: User) -> Response:
    """``POST``: make exactly the checked users and teams the members."""
    instance_id = str(request.path_params["id"])
    form = await checked_form(request)
    use = wa_app(request).instance_members

    async def act() -> dict[str, Any]:
        saved = await run_in_threadpool(
            use.set_members,
            user,
            instance_id,
            form_ids(form, "user_ids"),
            form_ids(form, "team_ids"),
        )
        people = len(saved.user_ids) + len(saved.team_ids)
        return {"notice": f"Saved the members of {saved.instance_id} ({people} in all)."}

    return await _page_of(instance_id).after(request, user, act())


def number_members_routes() -> list[BaseRoute]:
    """The routes of the members page."""
    return [
        Route(MEMBERS_PATH, members_page, methods=["GET"]),
        Route(MEMBERS_PATH, members_submit, methods=["POST"]),
    ]
