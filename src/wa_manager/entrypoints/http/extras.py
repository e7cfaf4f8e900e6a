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
from typing import Annotated

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from wa_manager.domain.model import User
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.http.answers import answer, paged
from wa_manager.entrypoints.http.auth import wa_app
from wa_manager.entrypoints.http.inputs import (
    ExportQuery,
    PageQuery,
    path_id,
    query_of,
)
from wa_manager.services.export import COLUMNS
from wa_manager.services.scheduler import SyncScheduler
from wa_manager.services.status import InstanceStatus

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
CSV_FILENAME = "contacts.csv"

ContactsCsv = Annotated[
    str,
    msgspec.Meta(
        title="ContactsCsv",
        description=f"CSV, UTF-8, CRLF; header {','.join(COLUMNS)}; a cell a spreadsheet "
        "would run as a formula is prefixed with ' (formula-injection safe)",
    ),
]
"""The CSV export, for ``/openapi.json``."""


def scheduler_of(request: Request) -> SyncScheduler | None:
    """The running app's sync scheduler, when ``serve --sync-every`` started one."""
    scheduler: SyncScheduler | None = getattr(request.app.state, "scheduler", None)
    return scheduler


def schedule_of(request: Request) -> shapes.SyncSchedule:
    """The scheduler's state, or ``{"enabled": false}`` without one."""
    scheduler = scheduler_of(request)
    return shapes.SyncSchedule.of(scheduler.state() if scheduler is not None else None)


# -- handlers -------------------------------------------------------------------------


async def list_sync_runs(request: Request, user: User) -> Response:
    """Recorded syncs, newest first: trigger, who, start, end, report or error."""
    app = wa_app(request)
    query = query_of(request, PageQuery)
    page = await run_in_threadpool(
        partial(app.syncs.history, user, limit=query.limit, before_id=query.before_id("sync-runs"))
    )
    names = await run_in_threadpool(app.accounts.usernames, user)
    return paged(page, "sync-runs", lambda run: shapes.SyncRun.of(run, names))


async def get_sync_schedule(request: Request, user: User) -> Response:
    """Whether syncs run on a schedule, and its state."""
    return answer(schedule_of(request))


async def get_link_history(request: Request, user: User) -> Response:
    """The link audit trail of one contact, oldest first."""
    app = wa_app(request)
    contact_id = path_id(request, "contact")
    events = await run_in_threadpool(app.contacts.link_history, user, contact_id)
    names = await run_in_threadpool(app.accounts.usernames, user)
    teams = {team.id: team.name for team in await run_in_threadpool(app.teams.list, user)}
    return answer(shapes.Items([shapes.LinkEvent.of(event, names, teams) for event in events]))


async def export_contacts(request: Request, user: User) -> Response:
    """Every contact (optionally filtered) as CSV, streamed; ``bom=true`` for Excel."""
    query = query_of(request, ExportQuery)
    chunks = await run_in_threadpool(
        partial(
            wa_app(request).contacts.export_csv,
            user,
            search=query.search,
            vanished=query.vanished,
            bom=query.bom,
            source=query.source,
        )
    )
    return StreamingResponse(
        chunks,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{CSV_FILENAME}"'},
    )


async def get_instance_status(request: Request, user: User) -> Response:
    """Whether the UltraMsg instance is connected (502 when UltraMsg fails)."""
    answers = await run_in_threadpool(wa_app(request).syncs.instance_statuses, user)
    first = answers[0]
    if len(answers) == 1:
        if not isinstance(first, InstanceStatus):
            assert first.error is not None
            raise first.error  # one instance: its error (502, 503), as before
        return answer(shapes.InstanceStatus.of(first))
    entries = [shapes.InstanceStatusEntry.of(item) for item in answers]
    head = entries[0]
    return answer(
        shapes.InstanceStatus(
            head.instance_id, head.status, head.connected, head.explanation, instances=entries
        )
    )
