"""The conversation page ``/conversations/{id}``: one thread, a reply box, live updates.

The server renders the newest page of messages (oldest to newest on screen, so
the page reads without JavaScript); ``static/app.js`` then keeps it current by
polling ``GET /api/conversations/{id}/messages`` (an ``ETag`` makes an unchanged
thread a ``304``), sends replies, retries failed ones and loads earlier messages
(stored ones first, then UltraMsg's history). The JavaScript builds a message
with the same markup as ``templates/_message.html`` and the same words as
``STATUS_LABELS`` and ``TYPE_LABELS`` here.

A conversation the user may not see is the same 404 page as an absent one: the
use case decides, as for the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from wa_manager.domain.model import (
    ConversationEvent,
    ConversationEventType,
    Direction,
    Message,
    MessageStatus,
    User,
)
from wa_manager.domain.times import iso_time
from wa_manager.entrypoints.http import workflow
from wa_manager.entrypoints.http.auth import signed_in, wa_app
from wa_manager.entrypoints.http.inputs import encode_cursor, path_id
from wa_manager.entrypoints.http.pages import render

THREAD_PAGE_SIZE = 50
WEB_SCHEMES = frozenset({"http", "https"})

STATUS_LABELS = {
    MessageStatus.QUEUED: "Sending",
    MessageStatus.SENT: "Sent",
    MessageStatus.DELIVERED: "Delivered",
    MessageStatus.READ: "Read",
    MessageStatus.FAILED: "Not sent",
}
"""Words for the delivery state of an outbound message (the ticks' text alternative);
``static/app.js`` keeps the same table."""

TYPE_LABELS = {
    "image": "Photo",
    "video": "Video",
    "ptt": "Voice message",
    "audio": "Audio",
    "document": "Document",
    "sticker": "Sticker",
    "location": "Location",
    "vcard": "Contact card",
    "revoked": "This message was deleted",
}
"""What to call a message that is not plain text (its media link, or the placeholder
for one without body and media); ``static/app.js`` keeps the same table."""


def web_link(url: str | None) -> str | None:
    """``url`` when it is an http(s) address, else None: a ``javascript:`` or ``data:``
    media URL from a webhook is shown as text, never made a link."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url if scheme in WEB_SCHEMES else None


def author_label(message: Message) -> str | None:
    """Who wrote an inbound group message: the pushname, else the member's number."""
    if message.direction is not Direction.IN or not message.author:
        return None
    return message.sender_name or message.author.split("@", 1)[0]


def type_label(message: Message) -> str:
    """The name of the message's kind (``Photo``, ``Voice message``…; ``Attachment``
    for a kind we do not know)."""
    return TYPE_LABELS.get(message.type, "Attachment")


def event_line(event: ConversationEvent, usernames: Mapping[int, str]) -> tuple[str, str]:
    """One line of the thread's activity timeline: (ISO time, what happened and who did it)."""

    def name(user_id: int | None) -> str:
        return "nobody" if user_id is None else usernames.get(user_id, f"user {user_id}")

    who = "the system" if event.actor_id is None else name(event.actor_id)
    if event.type is ConversationEventType.STATUS:
        what = f"{event.from_value} → {event.to_value}"
    elif event.type is ConversationEventType.ASSIGNED:
        what = f"assigned to {name(event.to_user_id)}"
    else:
        what = f"unassigned from {name(event.from_user_id)}"
    return iso_time(event.at) or "", f"{what}, by {who}"


@signed_in(login_redirect=True)
async def conversation_page(request: Request, user: User) -> Response:
    """``/conversations/{id}``: the thread of a conversation the user may see."""
    app = wa_app(request)
    conversation_id = path_id(request, "conversation")
    conversation, page, events = await run_in_threadpool(
        lambda: (
            app.conversations.get(user, conversation_id),
            app.messaging.page(user, conversation_id, limit=THREAD_PAGE_SIZE),
            app.conversations.events(user, conversation_id),
        )
    )
    controls = await workflow.workflow_context(request, user, conversation_id)
    return render(
        request,
        "conversation.html",
        active="conversations",
        conversation=conversation,
        events=[event_line(event, events.usernames) for event in events.items],
        **controls,
        messages=list(reversed(page.items)),
        earlier_cursor=encode_cursor("messages", page.next_before_id) or "",
        status_labels={str(status): label for status, label in STATUS_LABELS.items()},
        web_link=web_link,
        iso=iso_time,
        author_label=author_label,
        type_label=type_label,
    )


def page_routes() -> list[BaseRoute]:
    """The conversation page's route (``app.py`` adds it after ``pages.page_routes()``)."""
    return [Route("/conversations/{id}", conversation_page, methods=["GET"])]
