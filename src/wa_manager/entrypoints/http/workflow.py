"""The thread page's workflow controls: the assignee picker and Resolve / Reopen.

A partial template (``templates/_conversation_workflow.html``), a script
(``static/workflow.js``) and one form route, for the thread page to include:

- ``await workflow_context(request, user, conversation_id)`` gives the partial its
  ``workflow`` (the conversation, who it may be given to, the statuses);
- ``{% include "_conversation_workflow.html" %}`` renders the controls; without
  JavaScript each is a plain form posting to ``POST /conversations/{id}/workflow``
  (its CSRF field checked, whoever signs in), which changes the conversation and redirects back;
- with JavaScript, ``workflow.js`` sends the same change as
  ``PATCH /api/conversations/{id}`` and updates the controls in place.

The use case decides every permission, as for the API: a user may take the
conversation or give it up, only an admin may give it to someone else, and the
picker lists only people who may see the conversation.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import User
from wa_manager.entrypoints.http.auth import CSRF_FORM_FIELD, check_csrf, signed_in, wa_app
from wa_manager.entrypoints.http.inputs import path_id
from wa_manager.services.conversations import STATUSES, UNCHANGED

WORKFLOW_PATH = "/conversations/{id}/workflow"
NOBODY = ""


async def workflow_context(request: Request, user: User, conversation_id: int) -> dict[str, Any]:
    """What ``_conversation_workflow.html`` needs, as ``{"workflow": {...}}``."""
    conversations = wa_app(request).conversations
    conversation, people = await run_in_threadpool(
        lambda: (
            conversations.get(user, conversation_id),
            conversations.assignees(user, conversation_id),
        )
    )
    return {
        "workflow": {
            "conversation": conversation,
            "assignees": people,
            "statuses": STATUSES,
            "action": WORKFLOW_PATH.replace("{id}", str(conversation.id)),
            "api": f"/api/conversations/{conversation.id}",
        }
    }


def _assignee_field(raw: str) -> int | None:
    if raw == NOBODY:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidInput(f"assigned_user_id is a user id or empty for nobody, got {raw[:40]!r}")
    return int(raw)


@signed_in(login_redirect=True)
async def change_workflow(request: Request, user: User) -> Response:
    """``POST /conversations/{id}/workflow``: a form's status or assignee; back to the thread."""
    conversation_id = path_id(request, "conversation")
    form = await request.form()
    token = form.get(CSRF_FORM_FIELD)
    check_csrf(request, token if isinstance(token, str) else None)  # a browser form, always
    status = form.get("status")
    assignee = form.get("assigned_user_id")
    if not isinstance(status, str) and not isinstance(assignee, str):
        raise InvalidInput("the form needs a status or an assigned_user_id")
    await run_in_threadpool(
        lambda: wa_app(request).conversations.update(
            user,
            conversation_id,
            status=status if isinstance(status, str) else UNCHANGED,
            assigned_user_id=_assignee_field(assignee) if isinstance(assignee, str) else UNCHANGED,
        )
    )
    return RedirectResponse(f"/conversations/{conversation_id}", status_code=303)


def workflow_routes() -> list[Route]:
    """The form route of the workflow controls."""
    return [Route(WORKFLOW_PATH, change_workflow, methods=["POST"])]
