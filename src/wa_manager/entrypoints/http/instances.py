"""The WhatsApp numbers' API: ``GET``/``POST /api/instances``, ``DELETE /api/instances/{id}``
(admins), entries of ``api.OPERATIONS``. A token goes in (write-only) and never comes out.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from wa_manager.domain.model import User
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.http.answers import answer
from wa_manager.entrypoints.http.auth import wa_app
from wa_manager.entrypoints.http.inputs import NewInstanceBody, json_body


async def list_instances(request: Request, user: User) -> Response:
    """Every WhatsApp number, the default first; never a token."""
    summaries = await run_in_threadpool(wa_app(request).instances.list, user)
    return answer(shapes.Items([shapes.Instance.of(summary) for summary in summaries]))


async def add_instance(request: Request, user: User) -> Response:
    """Store an UltraMsg instance with its token, encrypted (409 when it is known)."""
    body = await json_body(request, NewInstanceBody)
    added = await run_in_threadpool(
        wa_app(request).instances.add, user, body.instance_id, body.token, body.label
    )
    return answer(shapes.Instance.of(added), status=201)


async def remove_instance(request: Request, user: User) -> Response:
    """Forget a stored instance; its contacts, conversations and history stay."""
    instance_id = str(request.path_params["id"])
    await run_in_threadpool(wa_app(request).instances.remove, user, instance_id)
    return Response(status_code=204)
