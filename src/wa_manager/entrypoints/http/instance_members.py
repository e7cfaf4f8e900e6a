"""The members of a WhatsApp number over HTTP: ``GET`` and ``PUT
/api/instances/{id}/members`` (admins; ``docs/interface.md``).

The ``{id}`` is the instance id (the contacts' ``source``), stored or the default
from the environment alike: an instance nobody is a member of answers empty lists.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from wa_manager.domain.model import User
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.http.answers import answer
from wa_manager.entrypoints.http.auth import wa_app
from wa_manager.entrypoints.http.inputs import InstanceMembersBody, json_body


def _instance_id(request: Request) -> str:
    return str(request.path_params["id"])


async def get_instance_members(request: Request, user: User) -> Response:
    """The member users and teams of a WhatsApp number."""
    members = await run_in_threadpool(
        wa_app(request).instance_members.members, user, _instance_id(request)
    )
    return answer(shapes.InstanceMembers.of(members))


async def set_instance_members(request: Request, user: User) -> Response:
    """Make exactly these users and teams the members (422 for an unknown id)."""
    body = await json_body(request, InstanceMembersBody)
    members = await run_in_threadpool(
        wa_app(request).instance_members.set_members,
        user,
        _instance_id(request),
        body.user_ids,
        body.team_ids,
    )
    return answer(shapes.InstanceMembers.of(members))
