"""The conversation list page's inbox parts: tabs, the status filter, previews, "5 min ago".

``/conversations`` (``pages.conversations``) shows the tabs **Mine** (``assigned=me``),
**Unassigned** (``assigned=none``) and **All**, a status filter, and for each row
the newest message and how long ago it came, with the exact time in a
``<time datetime>`` and its title. Everything here is plain data for the template;
the pager keeps the filters and uses the activity cursor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from wa_manager.domain.model import Conversation, Direction, MessagePreview, Page
from wa_manager.entrypoints.http.inputs import ConversationQuery, activity_cursor

TABS = (("mine", "Mine", "me"), ("unassigned", "Unassigned", "none"), ("all", "All", None))
STATUS_CHOICES = (("", "Any status"), ("active", "Active"), ("pending", "Pending"),
                  ("resolved", "Resolved"))  # fmt: skip
PREVIEW_LENGTH = 120
_MINUTE, _HOUR, _DAY = 60, 3600, 86400


def ago(moment: datetime | None, now: datetime) -> str:
    """How long before ``now``, for people: ``just now``, ``5 min ago``, ``3 h ago``,
    ``yesterday``, ``4 days ago``, then the date (``23 Nov 2024``)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = (now - moment).total_seconds()
    if seconds < _MINUTE:
        return "just now"
    if seconds < _HOUR:
        return f"{int(seconds // _MINUTE)} min ago"
    if seconds < _DAY:
        return f"{int(seconds // _HOUR)} h ago"
    if seconds < 2 * _DAY:
        return "yesterday"
    if seconds < 7 * _DAY:
        return f"{int(seconds // _DAY)} days ago"
    return moment.astimezone(UTC).strftime("%-d %b %Y")


def preview_text(preview: MessagePreview | None) -> str:
    """A row's last message in one line: ``You: `` before ours, ``[image]`` for media."""
    if preview is None:
        return ""
    body = " ".join((preview.body or "").split())
    if preview.type != "chat":
        body = f"[{preview.type}] {body}".strip()
    if len(body) > PREVIEW_LENGTH:
        body = body[: PREVIEW_LENGTH - 1] + "…"
    return ("You: " if preview.direction is Direction.OUT else "") + body


def _href(path: str, params: dict[str, str | None]) -> str:
    kept = {key: value for key, value in params.items() if value}
    return f"{path}?{urlencode(kept)}" if kept else path


def list_context(
    query: ConversationQuery, page: Page[Conversation], now: datetime, path: str
) -> dict[str, Any]:
    """What ``conversations.html`` needs besides the rows: tabs, filter, pager, now."""
    status = query.status or ""
    limit = str(query.limit) if query.limit != ConversationQuery().limit else None
    tabs = [
        {
            "key": key,
            "label": label,
            "href": _href(
                path,
                {
                    "assigned": assigned,
                    "status": status,
                    "search": query.search,
                    "source": query.source,
                },
            ),
            "current": query.assigned == assigned,
        }
        for key, label, assigned in TABS
    ]
    common = {
        "assigned": query.assigned,
        "status": status,
        "search": query.search,
        "source": query.source,
        "limit": limit,
    }
    cursor = activity_cursor(page)
    return {
        "tabs": tabs,
        "assigned": query.assigned or "",
        "status": status,
        "search": query.search or "",
        "source": query.source or "",
        "status_choices": STATUS_CHOICES,
        "now": now,
        "pager": {
            "first_href": _href(path, common) if query.cursor else None,
            "next_href": _href(path, {**common, "cursor": cursor}) if cursor else None,
        },
    }
