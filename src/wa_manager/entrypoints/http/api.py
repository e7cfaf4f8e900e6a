"""The JSON API: one handler per operation, and ``OPERATIONS``, the table of them all.

The table is the single description of the API: ``api_routes()`` builds the
Starlette routes from it (wrapping each handler in the guard its ``access``
names) and ``wa_manager.entrypoints.http.openapi`` builds ``/openapi.json`` from
it, so a route cannot exist without its guard or its documentation.

Handlers call ``App`` methods only, in the threadpool (they may block: a sync
takes seconds, argon2 is slow by design).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import msgspec
from attrs import frozen
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wa_manager.domain.model import Page, User
from wa_manager.entrypoints import serializers
from wa_manager.entrypoints.http import extras, webhooks
from wa_manager.entrypoints.http.auth import (
    AUTH_SESSION,
    admin_only,
    auth_method,
    signed_in,
    wa_app,
)
from wa_manager.entrypoints.http.inputs import (
    ContactUsersBody,
    NewUserBody,
    cursor_param,
    encode_cursor,
    flag_param,
    json_body,
    limit_param,
    path_id,
    search_param,
)

Handler = Callable[..., Awaitable[Response]]


class Access(enum.Enum):
    """Who may call an operation."""

    PUBLIC = "anyone"
    USER = "any signed-in user"
    ADMIN = "admins"
    ADMIN_BEARER = "admins, with a Bearer token only"


@frozen
class Param:
    """A path or query parameter, as OpenAPI describes it."""

    name: str
    location: str  # "path" | "query"
    schema: dict[str, Any]
    description: str
    required: bool = False


@frozen
class Operation:
    """One method on one path: its handler, who may call it, and what it takes and gives."""

    method: str
    path: str
    handler: Handler
    access: Access
    summary: str
    response: str  # a schema name in openapi.COMPONENT_SCHEMAS
    status: int = 200
    params: tuple[Param, ...] = ()
    body: type[msgspec.Struct] | None = None
    errors: tuple[int, ...] = ()
    media_type: str = "application/json"  # of the answer
    body_media_types: tuple[str, ...] = ("application/json",)

    @property
    def operation_id(self) -> str:
        """A stable id for OpenAPI: the handler's name."""
        return self.handler.__name__


def _page_json(
    page: Page[Any], listing: str, item_json: Callable[[Any], dict[str, Any]]
) -> Response:
    return JSONResponse(
        {
            "items": [item_json(item) for item in page.items],
            "next_cursor": encode_cursor(listing, page.next_before_id),
        }
    )


# -- handlers -------------------------------------------------------------------------


async def run_sync(request: Request, user: User) -> Response:
    """Run one sync (``dry_run=true``: count only) and answer its report."""
    dry_run = flag_param(request, "dry_run")
    trigger = "ui" if auth_method(request) == AUTH_SESSION else "api"  # the page's button
    report = await run_in_threadpool(
        partial(wa_app(request).syncs.run, user, dry_run=dry_run, trigger=trigger)
    )
    return JSONResponse(serializers.report_json(report))


async def list_contacts(request: Request, user: User) -> Response:
    """Contacts, newest first, optionally filtered."""
    page = await run_in_threadpool(
        partial(
            wa_app(request).contacts.page,
            user,
            search=search_param(request),
            limit=limit_param(request),
            before_id=cursor_param(request, "contacts"),
            vanished=extras.vanished_param(request),
        )
    )
    return _page_json(page, "contacts", serializers.contact_json)


async def get_contact(request: Request, user: User) -> Response:
    """One contact."""
    contact_id = path_id(request, "contact")
    contact = await run_in_threadpool(wa_app(request).contacts.get, user, contact_id)
    return JSONResponse(serializers.contact_json(contact))


async def get_contact_users(request: Request, user: User) -> Response:
    """The users linked to a contact."""
    contact_id = path_id(request, "contact")
    user_ids = await run_in_threadpool(wa_app(request).contacts.user_ids, user, contact_id)
    return JSONResponse({"user_ids": user_ids})


async def set_contact_users(request: Request, user: User) -> Response:
    """Link exactly the given users to a contact."""
    contact_id = path_id(request, "contact")
    body = await json_body(request, ContactUsersBody)
    user_ids = await run_in_threadpool(
        wa_app(request).contacts.set_users, user, contact_id, body.user_ids
    )
    return JSONResponse({"user_ids": user_ids})


async def list_conversations(request: Request, user: User) -> Response:
    """The conversations the caller may see, newest first."""
    page = await run_in_threadpool(
        partial(
            wa_app(request).conversations.page,
            user,
            limit=limit_param(request),
            before_id=cursor_param(request, "conversations"),
        )
    )
    return _page_json(page, "conversations", serializers.conversation_json)


async def get_conversation(request: Request, user: User) -> Response:
    """One conversation, if the caller may see it (404 otherwise, as for an absent one)."""
    conversation_id = path_id(request, "conversation")
    conversation = await run_in_threadpool(wa_app(request).conversations.get, user, conversation_id)
    return JSONResponse(serializers.conversation_json(conversation))


async def list_users(request: Request, user: User) -> Response:
    """Every user."""
    users = await run_in_threadpool(wa_app(request).accounts.users, user)
    return JSONResponse({"items": [serializers.user_json(item) for item in users]})


async def create_user(request: Request, user: User) -> Response:
    """Create a user (409 for a taken username)."""
    body = await json_body(request, NewUserBody)
    created = await run_in_threadpool(
        wa_app(request).accounts.add_user, user, body.username, body.role, body.password
    )
    return JSONResponse(serializers.user_json(created), status_code=201)


async def get_me(request: Request, user: User) -> Response:
    """The caller."""
    return JSONResponse(serializers.user_json(user))


async def health(request: Request) -> Response:
    """200 when the database answers (503 otherwise)."""
    await run_in_threadpool(wa_app(request).store.ping)
    return JSONResponse({"status": "ok"})


async def openapi_document(request: Request) -> Response:
    """This API's OpenAPI 3.1 description."""
    document: dict[str, Any] = request.app.state.openapi
    return JSONResponse(document)


# -- the table ------------------------------------------------------------------------

_ID = Param("id", "path", {"type": "integer", "minimum": 1}, "the id", required=True)
_LIMIT = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    "page size",
)
_CURSOR = Param("cursor", "query", {"type": "string"}, "next_cursor of the previous page")
_SEARCH = Param(
    "search", "query", {"type": "string", "maxLength": 200}, "substring of name, phone or wa_id"
)
_DRY_RUN = Param(
    "dry_run", "query", {"type": "boolean", "default": False}, "fetch and count, write nothing"
)
_SYNC_ERRORS = (409, 502, 503)
_VANISHED = Param(
    "vanished",
    "query",
    {"type": "boolean"},
    "true: only contacts gone from the chat list; false: only present ones; absent: all",
)
_BOM = Param(
    "bom", "query", {"type": "boolean", "default": False}, "start with a UTF-8 byte order mark"
)
_SECRET = Param(
    "secret", "path", {"type": "string"}, "WA_MANAGER_WEBHOOK_SECRET (else 404)", required=True
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET", "/api/whatsapp-contacts", run_sync, Access.ADMIN_BEARER,
        "Run a sync (kept for compatibility; Bearer auth only)", "SyncReport",
        params=(_DRY_RUN,), errors=_SYNC_ERRORS,
    ),
    Operation(
        "POST", "/api/whatsapp-contacts", run_sync, Access.ADMIN,
        "Run a sync (browser sessions send the CSRF token)", "SyncReport",
        params=(_DRY_RUN,), errors=_SYNC_ERRORS,
    ),
    Operation(
        "GET", "/api/contacts", list_contacts, Access.ADMIN,
        "List contacts, newest first", "ContactPage",
        params=(_SEARCH, _VANISHED, _LIMIT, _CURSOR),
    ),
    Operation(
        "GET", "/api/contacts.csv", extras.export_contacts, Access.ADMIN,
        "Every contact as CSV (UTF-8, formula-safe cells), streamed", "ContactsCsv",
        params=(_SEARCH, _VANISHED, _BOM), media_type="text/csv",
    ),
    Operation(
        "GET", "/api/contacts/{id}", get_contact, Access.ADMIN, "One contact", "Contact",
        params=(_ID,), errors=(404,),
    ),
    Operation(
        "GET", "/api/contacts/{id}/users", get_contact_users, Access.ADMIN,
        "The users linked to a contact", "UserIds", params=(_ID,), errors=(404,),
    ),
    Operation(
        "PUT", "/api/contacts/{id}/users", set_contact_users, Access.ADMIN,
        "Link exactly these users to a contact", "UserIds", params=(_ID,),
        body=ContactUsersBody, errors=(404,),
    ),
    Operation(
        "GET", "/api/contacts/{id}/links/history", extras.get_link_history, Access.ADMIN,
        "Who linked or unlinked users to a contact, and when (oldest first)", "LinkHistory",
        params=(_ID,), errors=(404,),
    ),
    Operation(
        "GET", "/api/sync-runs", extras.list_sync_runs, Access.ADMIN,
        "Sync history, newest first (CLI, API, button and scheduled syncs)", "SyncRunPage",
        params=(_LIMIT, _CURSOR),
    ),
    Operation(
        "GET", "/api/sync-schedule", extras.get_sync_schedule, Access.ADMIN,
        "The scheduled sync's state (serve --sync-every)", "SyncSchedule",
    ),
    Operation(
        "GET", "/api/instance/status", extras.get_instance_status, Access.ADMIN,
        "Whether the UltraMsg instance is connected", "InstanceStatus", errors=(502, 503),
    ),
    Operation(
        "POST", webhooks.WEBHOOK_PATH, webhooks.ultramsg_webhook, Access.PUBLIC,
        "UltraMsg webhook: a message from an unknown chat creates its contact at once; "
        "any body gets a 200 (UltraMsg retries otherwise)", "WebhookResult",
        params=(_SECRET,), body=webhooks.UltraMsgEvent, errors=(404, 503),
        body_media_types=("application/json", "application/x-www-form-urlencoded"),
    ),
    Operation(
        "GET", "/api/conversations", list_conversations, Access.USER,
        "The conversations the caller may see, newest first", "ConversationPage",
        params=(_LIMIT, _CURSOR),
    ),
    Operation(
        "GET", "/api/conversations/{id}", get_conversation, Access.USER,
        "One conversation the caller may see", "Conversation", params=(_ID,), errors=(404,),
    ),
    Operation("GET", "/api/users", list_users, Access.ADMIN, "Every user", "UserList"),
    Operation(
        "POST", "/api/users", create_user, Access.ADMIN, "Create a user", "User",
        status=201, body=NewUserBody, errors=(409,),
    ),
    Operation("GET", "/api/me", get_me, Access.USER, "The caller", "User"),
    Operation(
        "GET", "/openapi.json", openapi_document, Access.PUBLIC,
        "This OpenAPI document", "OpenApiDocument",
    ),
    Operation(
        "GET", "/healthz", health, Access.PUBLIC, "Whether the database answers", "Health",
        errors=(503,),
    ),
)  # fmt: skip


def guarded(operation: Operation) -> Handler:
    """The operation's handler wrapped in the guard its ``access`` names."""
    if operation.access is Access.PUBLIC:
        return operation.handler
    if operation.access is Access.USER:
        return signed_in(operation.handler)
    return admin_only(operation.handler, bearer_only=operation.access is Access.ADMIN_BEARER)


def api_routes() -> list[Route]:
    """One Starlette route per operation, guarded.

    Starlette answers HEAD on every GET route by running the GET handler; a GET
    that changes state (``ADMIN_BEARER``: the sync) must not, so HEAD is 405 there.
    """
    routes = []
    for op in OPERATIONS:
        route = Route(
            op.path, guarded(op), methods=[op.method], name=op.operation_id + "_" + op.method
        )
        if op.access is Access.ADMIN_BEARER and route.methods is not None:
            route.methods.discard("HEAD")
        routes.append(route)
    return routes
