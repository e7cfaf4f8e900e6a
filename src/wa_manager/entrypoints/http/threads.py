"""The API of conversations' messages: the thread, replies, retries, history.

The handlers are entries of ``api.OPERATIONS`` (guarded and documented like the
rest); every one needs the right to see the conversation, which the use case
decides (404 otherwise, as for an absent one):

- ``GET /api/conversations/{id}/messages``: the thread, newest first, with an
  ``ETag``: a client that polls sends it back in ``If-None-Match`` and gets a
  bodiless ``304`` while the page is unchanged (new messages and status changes
  change it; the database is asked every time, so every server process agrees);
- ``POST /api/conversations/{id}/messages``: a reply (``Idempotency-Key`` makes a
  repeated request answer 200 with the first message, nothing sent twice);
- ``POST /api/messages/{id}/retry``: a failed reply sent again (409 otherwise);
- ``POST /api/conversations/{id}/history``: the chat's latest messages from UltraMsg.
"""

from __future__ import annotations

import hashlib
from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from wa_manager.domain.model import User
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.http.answers import answer, paged
from wa_manager.entrypoints.http.auth import wa_app
from wa_manager.entrypoints.http.inputs import (
    HistoryQuery,
    NewMessageBody,
    PageQuery,
    json_body,
    path_id,
    query_of,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
ETAG_LENGTH = 32  # hex digits of the body's SHA-256


def entity_tag(body: bytes) -> str:
    """The strong ``ETag`` of an answer's body: a quoted hash of its bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:ETAG_LENGTH] + '"'


def not_modified(request: Request, tag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``tag`` (or is ``*``)."""
    wanted = request.headers.get("if-none-match")
    if not wanted:
        return False
    names = {name.strip().removeprefix("W/") for name in wanted.split(",")}
    return tag in names or "*" in names


async def list_messages(request: Request, user: User) -> Response:
    """A conversation's messages, newest first (304 when ``If-None-Match`` has its ETag)."""
    conversation_id = path_id(request, "conversation")
    query = query_of(request, PageQuery)
    page = await run_in_threadpool(
        partial(
            wa_app(request).messaging.page,
            user,
            conversation_id,
            limit=query.limit,
            before_id=query.before_id("messages"),
        )
    )
    full = paged(page, "messages", shapes.Message.of)
    tag = entity_tag(bytes(full.body))
    if not_modified(request, tag):
        return Response(status_code=304, headers={"ETag": tag})
    full.headers["ETag"] = tag
    return full


async def send_message(request: Request, user: User) -> Response:
    """Reply in a conversation: 201 and the message (200 for a repeated Idempotency-Key)."""
    conversation_id = path_id(request, "conversation")
    body = await json_body(request, NewMessageBody)
    sent = await run_in_threadpool(
        partial(
            wa_app(request).messaging.send,
            user,
            conversation_id,
            body.body,
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
        )
    )
    return answer(shapes.Message.of(sent.message), status=201 if sent.created else 200)


async def retry_message(request: Request, user: User) -> Response:
    """Send a failed reply again."""
    message_id = path_id(request, "message")
    message = await run_in_threadpool(wa_app(request).messaging.retry, user, message_id)
    return answer(shapes.Message.of(message))


async def fetch_history(request: Request, user: User) -> Response:
    """Fetch the chat's latest messages from UltraMsg; store the new ones."""
    conversation_id = path_id(request, "conversation")
    query = query_of(request, HistoryQuery)
    result = await run_in_threadpool(
        partial(wa_app(request).messaging.fetch_history, user, conversation_id, limit=query.limit)
    )
    return answer(shapes.HistoryFetched(fetched=result.fetched, created=result.created))
