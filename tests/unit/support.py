"""Helpers shared by the unit tests: canned chats, viewers, and a full read of an App's data."""

from __future__ import annotations

from typing import Any

from wa_manager.bootstrap import App
from wa_manager.domain.model import LIBRARY, Contact, ContactLink, Conversation, Role, User

ANNA = "4915112345678@c.us"
BEN = "4915198765432@c.us"
FAMILY = "120363041234567890@g.us"
OLD_GROUP = "4915198765432-1600000000@g.us"
HIDDEN = "140000000000001@lid"

ULTRAMSG_SAMPLE: list[dict[str, Any]] = [
    {"id": ANNA, "name": "Anna Schmidt", "unread": 0, "last_time": 1732400000},
    {"id": FAMILY, "name": "Family", "unread": 3, "last_time": 1732399000},
    {"id": OLD_GROUP, "name": "Old style group", "unread": 0, "last_time": 1700000000},
    {"id": HIDDEN, "name": "", "unread": 0, "last_time": 1732300000},
    {"id": "status@broadcast", "name": "", "unread": 0, "last_time": 1732300000},
    {"id": "0@c.us", "name": "WhatsApp", "unread": 0, "last_time": 1700000000},
]

# A viewer object that is no stored user: reads decide visibility from the viewer given.
ROOT = User(id=10_000, username="root", role=Role.ADMIN)


def all_contacts(app: App) -> list[Contact]:
    """Every contact, newest first, read page by page."""
    items: list[Contact] = []
    before_id: int | None = None
    while True:
        page = app.contacts.page(LIBRARY, limit=200, before_id=before_id)
        items.extend(page.items)
        if page.next_before_id is None:
            return items
        before_id = page.next_before_id


def all_conversations(app: App, viewer: User = ROOT) -> list[Conversation]:
    """Every conversation ``viewer`` may see, newest first, read page by page."""
    return app.conversations.all(viewer)


def everything(app: App) -> tuple[list[Contact], list[Conversation], list[ContactLink]]:
    """All contacts, conversations and links: to compare an App's data before and after."""
    links = [link for link, _, _ in app.contacts.links(LIBRARY)]
    return all_contacts(app), all_conversations(app), links
