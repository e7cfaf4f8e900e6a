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

from wa_manager.domain.model import SyncReport, User
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.http import (
    admin,
    extras,
    inbox,
    inputs,
    instance_members,
    instances,
    threads,
    webhooks,
)
from wa_manager.entrypoints.http.answers import answer, paged
from wa_manager.entrypoints.http.auth import (
    AUTH_SESSION,
    admin_only,
    auth_method,
    signed_in,
    wa_app,
)
from wa_manager.entrypoints.http.inputs import (
    ContactQuery,
    ContactUsersBody,
    ConversationChangeBody,
    ConversationQuery,
    ExportQuery,
    HistoryQuery,
    MergeBody,
    NewMessageBody,
    NewUserBody,
    PageQuery,
    Query,
    SyncQuery,
    json_body,
    path_id,
    query_of,
)

Handler = Callable[..., Awaitable[Response]]


class Access(enum.Enum):
    """Who may call an operation (the use case decides again: this is what the docs say)."""

    PUBLIC = "anyone"
    USER = "any signed-in user"
    ADMIN = "admins"
    ADMIN_BEARER = "admins, with a Bearer token only"


@frozen
class Param:
    """A path or header parameter, as OpenAPI describes it (query strings are ``Query``
    Structs)."""

    name: str
    schema: dict[str, Any]
    description: str


@frozen
class Operation:
    """One method on one path: its handler, who may call it, and what it takes and gives."""

    method: str
    path: str
    handler: Handler
    access: Access
    summary: str
    response: Any  # a Struct of ``shapes`` (or another type msgspec describes)
    alternative: Any = None  # another answer of the same status (e.g. several instances')
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses, with the same answer
    path_params: tuple[Param, ...] = ()
    headers: tuple[Param, ...] = ()
    query: type[Query] | None = None
    body: type[msgspec.Struct] | None = None
    errors: tuple[int, ...] = ()
    media_type: str = "application/json"  # of the answer
    body_media_types: tuple[str, ...] = ("application/json",)
    etag: bool = False  # answers carry an ETag; If-None-Match with it gives a bodiless 304

    @property
    def operation_id(self) -> str:
        """A stable id for OpenAPI: the handler's name."""
        return self.handler.__name__


# -- handlers -------------------------------------------------------------------------


async def run_sync(request: Request, user: User) -> Response:
    """Run one sync (``dry_run=true``: count only) and answer its report."""
    query = query_of(request, SyncQuery)
    trigger = "ui" if auth_method(request) == AUTH_SESSION else "api"  # the page's button
    syncs = wa_app(request).syncs
    targets = await run_in_threadpool(syncs.targets, user, query.instance)
    if len(targets) == 1:
        report = await run_in_threadpool(
            partial(syncs.run, user, dry_run=query.dry_run, trigger=trigger, instance=targets[0])
        )
        return answer(report)
    outcomes = await run_in_threadpool(
        partial(syncs.run_all, user, dry_run=query.dry_run, trigger=trigger, instances=targets)
    )
    return answer(shapes.SyncReports.of(outcomes))


async def list_contacts(request: Request, user: User) -> Response:
    """Contacts, newest first, optionally filtered."""
    query = query_of(request, ContactQuery)
    page = await run_in_threadpool(
        partial(
            wa_app(request).contacts.page,
            user,
            search=query.search,
            limit=query.limit,
            before_id=query.before_id("contacts"),
            vanished=query.vanished,
            source=query.source,
        )
    )
    return paged(page, "contacts", shapes.Contact.of)


async def get_contact(request: Request, user: User) -> Response:
    """One contact."""
    contact_id = path_id(request, "contact")
    contact = await run_in_threadpool(wa_app(request).contacts.get, user, contact_id)
    return answer(shapes.Contact.of(contact))


async def get_contact_users(request: Request, user: User) -> Response:
    """The users linked to a contact."""
    contact_id = path_id(request, "contact")
    user_ids = await run_in_threadpool(wa_app(request).contacts.user_ids, user, contact_id)
    return answer(shapes.UserIds(user_ids))


async def set_contact_users(request: Request, user: User) -> Response:
    """Link exactly the given users to a contact."""
    contact_id = path_id(request, "contact")
    body = await json_body(request, ContactUsersBody)
    user_ids = await run_in_threadpool(
        wa_app(request).contacts.set_users, user, contact_id, body.user_ids
    )
    return answer(shapes.UserIds(user_ids))


async def list_duplicates(request: Request, user: User) -> Response:
    """Pairs of contacts that are likely one person, with the reason."""
    found = await run_in_threadpool(wa_app(request).identities.duplicates, user)
    return answer(shapes.Items([shapes.Duplicate.of(item) for item in found]))


async def merge_contact(request: Request, user: User) -> Response:
    """Merge the path's contact into ``into``; the survivor."""
    contact_id = path_id(request, "contact")
    body = await json_body(request, MergeBody)
    survivor = await run_in_threadpool(
        wa_app(request).identities.merge, user, contact_id, body.into
    )
    return answer(shapes.Contact.of(survivor))


async def get_conversation(request: Request, user: User) -> Response:
    """One conversation, if the caller may see it (404 otherwise, as for an absent one)."""
    conversation_id = path_id(request, "conversation")
    conversation = await run_in_threadpool(wa_app(request).conversations.get, user, conversation_id)
    return answer(shapes.Conversation.of(conversation))


async def list_users(request: Request, user: User) -> Response:
    """Every user."""
    users = await run_in_threadpool(wa_app(request).accounts.users, user)
    return answer(shapes.Items([shapes.User.of(item) for item in users]))


async def create_user(request: Request, user: User) -> Response:
    """Create a user (409 for a taken username)."""
    body = await json_body(request, NewUserBody)
    created = await run_in_threadpool(
        wa_app(request).accounts.add_user, user, body.username, body.role, body.password
    )
    return answer(shapes.User.of(created), status=201)


async def get_me(request: Request, user: User) -> Response:
    """The caller."""
    return answer(shapes.User.of(user))


async def health(request: Request) -> Response:
    """200 when the database answers (503 otherwise)."""
    await run_in_threadpool(wa_app(request).store.ping)
    return answer(shapes.Health("ok"))


async def openapi_document(request: Request) -> Response:
    """This API's OpenAPI 3.1 description."""
    document: dict[str, Any] = request.app.state.openapi
    return JSONResponse(document)


# -- the table ------------------------------------------------------------------------

_ID = Param("id", {"type": "integer", "minimum": 1}, "the id")
_SECRET = Param("secret", {"type": "string"}, "WA_MANAGER_WEBHOOK_SECRET (else 404)")
_IDEMPOTENCY_KEY = Param(
    threads.IDEMPOTENCY_HEADER,
    {"type": "string", "minLength": 1, "maxLength": 200},
    "makes a retried POST safe: the same key again answers 200 with the first message",
)
_INSTANCE_ID = Param(
    "id",
    {"type": "string", "minLength": 1, "maxLength": 128},
    "the instance id (the contacts' source), e.g. instance12345",
)
_SYNC_ERRORS = (409, 502, 503)
_INSTANCE = Param("id", {"type": "string", "maxLength": 64}, "the instance id")

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET", "/api/whatsapp-contacts", run_sync, Access.ADMIN_BEARER,
        "Run a sync (kept for compatibility; Bearer auth only)", SyncReport,
        alternative=shapes.SyncReports, query=SyncQuery, errors=_SYNC_ERRORS,
    ),
    Operation(
        "POST", "/api/whatsapp-contacts", run_sync, Access.ADMIN,
        "Run a sync of every instance, or of ?instance= (browser sessions send the CSRF "
        "token); with several, {\"reports\": [...]}, a failed one {\"instance_id\", \"error\"}",
        SyncReport, alternative=shapes.SyncReports, query=SyncQuery, errors=_SYNC_ERRORS,
    ),
    Operation(
        "GET", "/api/instances", instances.list_instances, Access.ADMIN,
        "Every WhatsApp number (UltraMsg instance), the default first; never a token",
        shapes.Items[shapes.Instance],
    ),
    Operation(
        "POST", "/api/instances", instances.add_instance, Access.ADMIN,
        "Store an UltraMsg instance; its token is encrypted and never shown again "
        "(503 without WA_MANAGER_ENCRYPTION_KEY)", shapes.Instance, status=201,
        body=inputs.NewInstanceBody, errors=(409, 503),
    ),
    Operation(
        "DELETE", "/api/instances/{id}", instances.remove_instance, Access.ADMIN,
        "Forget a stored instance; its contacts, conversations and history stay", None,
        status=204, path_params=(_INSTANCE,), errors=(404,),
    ),
    Operation(
        "GET", "/api/contacts", list_contacts, Access.ADMIN,
        "List contacts, newest first", shapes.Page[shapes.Contact], query=ContactQuery,
    ),
    Operation(
        "GET", "/api/contacts.csv", extras.export_contacts, Access.ADMIN,
        "Every contact as CSV (UTF-8, formula-safe cells), streamed", extras.ContactsCsv,
        query=ExportQuery, media_type="text/csv",
    ),
    Operation(
        "GET", "/api/contacts/duplicates", list_duplicates, Access.ADMIN,
        "Pairs of contacts of one number that are likely one person, and why",
        shapes.Items[shapes.Duplicate],
    ),
    Operation(
        "GET", "/api/contacts/{id}", get_contact, Access.ADMIN, "One contact", shapes.Contact,
        path_params=(_ID,), errors=(404,),
    ),
    Operation(
        "POST", "/api/contacts/{id}/merge", merge_contact, Access.ADMIN,
        "Merge this contact into another of the same number (links, team links, messages, "
        "history move; its chat id becomes an alias); the survivor", shapes.Contact,
        path_params=(_ID,), body=MergeBody, errors=(404,),
    ),
    Operation(
        "GET", "/api/contacts/{id}/users", get_contact_users, Access.ADMIN,
        "The users linked to a contact", shapes.UserIds, path_params=(_ID,), errors=(404,),
    ),
    Operation(
        "PUT", "/api/contacts/{id}/users", set_contact_users, Access.ADMIN,
        "Link exactly these users to a contact", shapes.UserIds, path_params=(_ID,),
        body=ContactUsersBody, errors=(404,),
    ),
    Operation(
        "GET", "/api/contacts/{id}/links/history", extras.get_link_history, Access.ADMIN,
        "Who linked or unlinked users to a contact, and when (oldest first)",
        shapes.Items[shapes.LinkEvent], path_params=(_ID,), errors=(404,),
    ),
    Operation(
        "GET", "/api/sync-runs", extras.list_sync_runs, Access.ADMIN,
        "Sync history, newest first (CLI, API, button and scheduled syncs)",
        shapes.Page[shapes.SyncRun], query=PageQuery,
    ),
    Operation(
        "GET", "/api/sync-schedule", extras.get_sync_schedule, Access.ADMIN,
        "The scheduled sync's state (serve --sync-every)", shapes.SyncSchedule,
    ),
    Operation(
        "GET", "/api/instance/status", extras.get_instance_status, Access.ADMIN,
        "Whether the UltraMsg instance is connected; with several, the default's keys and "
        "\"instances\" with every one's", shapes.InstanceStatus, errors=(502, 503),
    ),
    Operation(
        "POST", webhooks.WEBHOOK_PATH, webhooks.ultramsg_webhook, Access.PUBLIC,
        "UltraMsg webhook: a message from an unknown chat creates its contact at once; "
        "any body gets a 200 (UltraMsg retries otherwise)", shapes.WebhookAnswer,
        path_params=(_SECRET,), body=webhooks.UltraMsgEvent, errors=(404, 503),
        body_media_types=("application/json", "application/x-www-form-urlencoded"),
    ),
    Operation(
        "GET", "/api/conversations", inbox.list_conversations, Access.USER,
        "The conversations the caller may see, by last activity newest first "
        "(filters: status, assigned=me|none|user id, search, source)",
        shapes.Page[shapes.Conversation], query=ConversationQuery,
    ),
    Operation(
        "GET", "/api/conversations/{id}", get_conversation, Access.USER,
        "One conversation the caller may see", shapes.Conversation, path_params=(_ID,),
        errors=(404,),
    ),
    Operation(
        "PATCH", "/api/conversations/{id}", inbox.update_conversation, Access.USER,
        "Change a conversation's status and/or assignee (users: only themselves, else 403; "
        "an assignee who may not see it, or an unknown status: 422)", shapes.Conversation,
        path_params=(_ID,), body=ConversationChangeBody, errors=(403, 404),
    ),
    Operation(
        "GET", "/api/conversations/{id}/events", inbox.list_conversation_events, Access.USER,
        "A conversation's status and assignment changes, oldest first",
        shapes.Items[shapes.ConversationEvent], path_params=(_ID,), errors=(404,),
    ),
    Operation(
        "GET", "/api/conversations/{id}/assignees", inbox.list_assignees, Access.USER,
        "Who the caller may assign the conversation to (admins: everyone who may see it; "
        "users: themselves)", shapes.Items[shapes.User], path_params=(_ID,), errors=(404,),
    ),
    Operation(
        "GET", "/api/conversations/{id}/messages", threads.list_messages, Access.USER,
        "A conversation's messages, newest first (304 for an If-None-Match with its ETag)",
        shapes.Page[shapes.Message], path_params=(_ID,), query=PageQuery, errors=(404,),
        etag=True,
    ),
    Operation(
        "POST", "/api/conversations/{id}/messages", threads.send_message, Access.USER,
        "Reply in a conversation (201; 200 with the first message for a repeated "
        "Idempotency-Key header; 502 when UltraMsg failed: the message is kept as failed)",
        shapes.Message, status=201, also=(200,), path_params=(_ID,),
        headers=(_IDEMPOTENCY_KEY,), body=NewMessageBody, errors=(404, 502, 503),
    ),
    Operation(
        "POST", "/api/messages/{id}/retry", threads.retry_message, Access.USER,
        "Send a failed reply again (409 for any other status)", shapes.Message,
        path_params=(_ID,), errors=(404, 409, 502, 503),
    ),
    Operation(
        "POST", "/api/conversations/{id}/history", threads.fetch_history, Access.USER,
        "Fetch the chat's latest messages from UltraMsg and store the new ones",
        shapes.HistoryFetched, path_params=(_ID,), query=HistoryQuery, errors=(404, 502, 503),
    ),
    Operation(
        "GET", "/api/users", list_users, Access.ADMIN, "Every user", shapes.Items[shapes.User]
    ),
    Operation(
        "POST", "/api/users", create_user, Access.ADMIN, "Create a user", shapes.User,
        status=201, body=NewUserBody, errors=(409,),
    ),
    Operation("GET", "/api/me", get_me, Access.USER, "The caller", shapes.User),
    Operation(
        "PATCH", "/api/users/{id}", admin.change_user, Access.ADMIN,
        "Change a user's role, access (disabled) or password; 409 when that would leave "
        "no enabled admin", shapes.User, path_params=(_ID,), body=inputs.UserChangeBody,
        errors=(404, 409),
    ),
    Operation(
        "POST", "/api/me/password", admin.change_my_password, Access.USER,
        "Change one's own password (422 when the current one is wrong)", None, status=204,
        body=inputs.PasswordChangeBody,
    ),
    Operation(
        "GET", "/api/tokens", admin.list_tokens, Access.USER,
        "API tokens, never their secrets: admins see every one, users their own",
        shapes.Items[shapes.Token],
    ),
    Operation(
        "POST", "/api/tokens", admin.create_token, Access.USER,
        "A new API token for the caller; the secret is shown in this answer only",
        shapes.NewToken, status=201, body=inputs.NewTokenBody,
    ),
    Operation(
        "DELETE", "/api/tokens/{id}", admin.revoke_token, Access.USER,
        "Revoke a token at once: one's own, or any for an admin", None, status=204,
        path_params=(_ID,), errors=(404,),
    ),
    Operation(
        "GET", "/api/teams", admin.list_teams, Access.ADMIN, "Every team with its members",
        shapes.Items[shapes.Team],
    ),
    Operation(
        "POST", "/api/teams", admin.create_team, Access.ADMIN, "Create a team", shapes.Team,
        status=201, body=inputs.NewTeamBody, errors=(409,),
    ),
    Operation(
        "PUT", "/api/teams/{id}/members", admin.set_team_members, Access.ADMIN,
        "Make exactly these users the team's members (leaving takes access away at once)",
        shapes.Team, path_params=(_ID,), body=inputs.TeamMembersBody, errors=(404,),
    ),
    Operation(
        "GET", "/api/contacts/{id}/teams", admin.get_contact_teams, Access.ADMIN,
        "The teams linked to a contact", shapes.TeamIds, path_params=(_ID,), errors=(404,),
    ),
    Operation(
        "PUT", "/api/contacts/{id}/teams", admin.set_contact_teams, Access.ADMIN,
        "Link exactly these teams to a contact", shapes.TeamIds, path_params=(_ID,),
        body=inputs.ContactTeamsBody, errors=(404,),
    ),
    Operation(
        "GET", "/api/instances/{id}/members", instance_members.get_instance_members,
        Access.ADMIN, "The member users and teams of a WhatsApp number (instance)",
        shapes.InstanceMembers, path_params=(_INSTANCE_ID,),
    ),
    Operation(
        "PUT", "/api/instances/{id}/members", instance_members.set_instance_members,
        Access.ADMIN, "Make exactly these users and teams members of a WhatsApp number: "
        "they see every conversation of it (leaving takes that away at once; unknown ids: "
        "422)", shapes.InstanceMembers, path_params=(_INSTANCE_ID,),
        body=inputs.InstanceMembersBody,
    ),
    Operation(
        "POST", "/api/links/bulk", admin.bulk_link, Access.ADMIN,
        "Link or unlink users and teams on the given contacts, or on every contact "
        "matching a search, in one transaction", shapes.BulkLinked, body=inputs.BulkLinkBody,
    ),
    Operation(
        "GET", "/openapi.json", openapi_document, Access.PUBLIC,
        "This OpenAPI document", dict[str, Any],
    ),
    Operation(
        "GET", "/healthz", health, Access.PUBLIC, "Whether the database answers", shapes.Health,
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
