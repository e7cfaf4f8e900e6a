"""The API of the inbox workflow: change a conversation, read its trail, its assignees.

The handlers are entries of ``api.OPERATIONS``; every one needs the right to see the
conversation (404 otherwise, as for an absent one), and the use case decides the
rest (403 for a user assigning someone else, 422 for an assignee who may not see
it or an unknown status):

- ``PATCH /api/conversations/{id}``: ``{"status"?, "assigned_user_id"?}``;
- ``GET /api/conversations/{id}/events``: the workflow trail, oldest first;
- ``GET /api/conversations/{id}/assignees``: who the caller may give it to.
"""

from __future__ import annotations

from functools import partial

from msgspec import UNSET
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from wa_manager.domain.model import User
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.http.answers import answer
from wa_manager.entrypoints.http.auth import wa_app
from wa_manager.entrypoints.http.inputs import (
    ConversationChangeBody,
    ConversationQuery,
    activity_cursor,
    json_body,
    path_id,
    query_of,
)
from wa_manager.services.conversations import UNCHANGED


async def list_conversations(request: Request, user: User) -> Response:
    """The conversations the caller may see, by last activity newest first, filtered."""
    query = query_of(request, ConversationQuery)
    page = await run_in_threadpool(
        partial(
            wa_app(request).conversations.page,
            user,
            limit=query.limit,
            before=query.before(),
            status=query.status,
            assigned=query.assignee(),
            search=query.search,
            source=query.source,
        )
    )
    items = [shapes.Conversation.of(item) for item in page.items]
    return answer(shapes.Page(items=items, next_cursor=activity_cursor(page)))


async def update_conversation(request: Request, user: User) -> Response:
    """Change a conversation's status and/or assignee; answer the conversation."""
    conversation_id = path_id(request, "conversation")
    body = await json_body(request, ConversationChangeBody)
    conversation = await run_in_threadpool(
        partial(
            wa_app(request).conversations.update,
            user,
            conversation_id,
            status=UNCHANGED if body.status is UNSET else body.status,
            assigned_user_id=UNCHANGED if body.assigned_user_id is UNSET else body.assigned_user_id,
        )
    )
    return answer(shapes.Conversation.of(conversation))


async def list_conversation_events(request: Request, user: User) -> Response:
    """The conversation's workflow trail, oldest first."""
    conversation_id = path_id(request, "conversation")
    log = await run_in_threadpool(wa_app(request).conversations.events, user, conversation_id)
    items = [shapes.ConversationEvent.of(event, log.usernames) for event in log.items]
    return answer(shapes.Items(items))


async def list_assignees(request: Request, user: User) -> Response:
    """Who the caller may give the conversation to (admins: everyone who may see it)."""
    conversation_id = path_id(request, "conversation")
    people = await run_in_threadpool(wa_app(request).conversations.assignees, user, conversation_id)
    return answer(shapes.Items([shapes.User.of(person) for person in people]))
