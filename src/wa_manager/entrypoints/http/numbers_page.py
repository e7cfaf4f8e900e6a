"""Settings › WhatsApp numbers (admins): every UltraMsg instance with its status, last
sync, own Sync button and a Members link; forms to add (token write-only) and remove one.

The page is plain HTML; its script fills each number's status from
``GET /api/instance/status`` and runs a number's sync with
``POST /api/whatsapp-contacts?instance=ID``. The add form's token field is a
password field that is never filled again: the token goes in and never comes out.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from wa_manager.bootstrap import App
from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import User
from wa_manager.entrypoints.http.admin_pages import FormPage, checked_form, form_text
from wa_manager.entrypoints.http.auth import signed_in, wa_app

NUMBERS_PATH = "/settings/whatsapp-numbers"


def _numbers(app: App, user: User) -> dict[str, Any]:
    return {"numbers": app.instances.list(user)}


# ``GET /settings/whatsapp-numbers`` (admins): every number, the default first.
_NUMBERS = FormPage("settings_numbers.html", "numbers", _numbers)


@signed_in(login_redirect=True)
async def numbers_submit(request: Request, user: User) -> Response:
    """``POST /settings/whatsapp-numbers``: add a number, or remove one."""
    form = await checked_form(request)
    instances = wa_app(request).instances
    action = form_text(form, "action")
    instance_id = form_text(form, "instance_id")

    async def act() -> dict[str, Any]:
        if action == "add":
            token = form.get("token")
            label = form_text(form, "label") or None
            added = await run_in_threadpool(
                instances.add, user, instance_id, token if isinstance(token, str) else "", label
            )
            return {
                "notice": f"Added {added.instance_id}. Point its UltraMsg webhook at "
                f"{added.webhook_path} on this server."
            }
        if action == "remove":
            await run_in_threadpool(instances.remove, user, instance_id)
            return {"notice": f"Removed {instance_id}; its contacts and conversations are kept."}
        raise InvalidInput("Unknown action; reload the page.")

    return await _NUMBERS.after(request, user, act())


def numbers_page_routes() -> list[BaseRoute]:
    """The routes of this page."""
    return [
        Route(NUMBERS_PATH, signed_in(_NUMBERS.page, login_redirect=True), methods=["GET"]),
        Route(NUMBERS_PATH, numbers_submit, methods=["POST"]),
    ]
