"""The API beyond a manual sync: sync history and schedule, link audit, CSV export, status.

The handlers are entries of ``api.OPERATIONS`` (so they are guarded and
documented in ``/openapi.json`` like the rest):

- ``GET /api/sync-runs``: every recorded sync, newest first (admins);
- ``GET /api/sync-schedule``: the background scheduler's state (admins);
- ``GET /api/contacts/{id}/links/history``: who linked or unlinked whom, when (admins);
- ``GET /api/contacts.csv``: every contact as spreadsheet-safe CSV, streamed (admins);
- ``GET /api/instance/status``: whether the UltraMsg instance is connected (admins).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from wa_manager.domain.model import User
from wa_manager.entrypoints import serializers
from wa_manager.entrypoints.http.auth import wa_app
from wa_manager.entrypoints.http.inputs import (
    cursor_param,
    encode_cursor,
    flag_param,
    limit_param,
    path_id,
    search_param,
)
from wa_manager.services.scheduler import SyncScheduler

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
CSV_FILENAME = "contacts.csv"


def vanished_param(request: Request) -> bool | None:
    """``vanished``: true (only vanished), false (only present), absent (all)."""
    if not request.query_params.get("vanished", "").strip():
        return None
    return flag_param(request, "vanished")


def scheduler_of(request: Request) -> SyncScheduler | None:
    """The running app's sync scheduler, when ``serve --sync-every`` started one."""
    scheduler: SyncScheduler | None = getattr(request.app.state, "scheduler", None)
    return scheduler


def schedule_json(scheduler: SyncScheduler | None) -> dict[str, Any]:
    """The scheduler's state, or ``{"enabled": false}`` without one."""
    if scheduler is None:
        return {"enabled": False}
    return scheduler.state().as_dict()


# -- handlers -------------------------------------------------------------------------


async def list_sync_runs(request: Request, user: User) -> Response:
    """Recorded syncs, newest first: trigger, who, start, end, report or error."""
    app = wa_app(request)
    limit, before_id = limit_param(request), cursor_param(request, "sync-runs")
    page = await run_in_threadpool(
        partial(app.syncs.history, user, limit=limit, before_id=before_id)
    )
    names = await run_in_threadpool(app.accounts.usernames, user)
    items = [
        {**serializers.sync_run_json(run), "actor": names.get(run.actor_id or 0)}
        for run in page.items
    ]
    return JSONResponse(
        {"items": items, "next_cursor": encode_cursor("sync-runs", page.next_before_id)}
    )


async def get_sync_schedule(request: Request, user: User) -> Response:
    """Whether syncs run on a schedule, and its state."""
    return JSONResponse(schedule_json(scheduler_of(request)))


async def get_link_history(request: Request, user: User) -> Response:
    """The link audit trail of one contact, oldest first."""
    app = wa_app(request)
    contact_id = path_id(request, "contact")
    events = await run_in_threadpool(app.contacts.link_history, user, contact_id)
    names = await run_in_threadpool(app.accounts.usernames, user)
    items = [
        {
            **serializers.link_event_json(event),
            "username": names.get(event.user_id),
            "actor": names.get(event.actor_id or 0),
        }
        for event in events
    ]
    return JSONResponse({"items": items})


async def export_contacts(request: Request, user: User) -> Response:
    """Every contact (optionally filtered) as CSV, streamed; ``bom=true`` for Excel."""
    chunks = await run_in_threadpool(
        partial(
            wa_app(request).contacts.export_csv,
            user,
            search=search_param(request),
            vanished=vanished_param(request),
            bom=flag_param(request, "bom"),
        )
    )
    return StreamingResponse(
        chunks,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{CSV_FILENAME}"'},
    )


async def get_instance_status(request: Request, user: User) -> Response:
    """Whether the UltraMsg instance is connected (502 when UltraMsg fails)."""
    status = await run_in_threadpool(wa_app(request).syncs.instance_status, user)
    return JSONResponse(status.as_dict())
