"""Helpers of the duplicate and merge tests: chats, webhook bodies, and a full read of
what a merge must keep (links, team links, messages)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.unit.support import all_contacts
from wa_manager.bootstrap import App
from wa_manager.domain.model import CLI, WEBHOOK, Contact
from wa_manager.services.webhooks import WebhookResult as Result

SOURCE = "instance12345"
BASE_TIME = 1_732_000_000  # unix seconds, before testing.DEFAULT_NOW


def inbound(wa_id: str, message_id: str, at: int = BASE_TIME, body: str = "hi") -> dict[str, Any]:
    """An UltraMsg ``message_received`` webhook body from chat ``wa_id``."""
    return {
        "event_type": "message_received",
        "instanceId": "12345",
        "data": {
            "id": message_id,
            "from": wa_id,
            "to": "4915000000000@c.us",
            "pushname": "",
            "type": "chat",
            "body": body,
            "fromMe": False,
            "time": at,
        },
    }


def post(app: App, wa_id: str, message_id: str, at: int = BASE_TIME) -> Result:
    """Deliver one inbound message webhook."""
    return app.webhooks.handle(WEBHOOK, inbound(wa_id, message_id, at))


def contacts(app: App) -> list[Contact]:
    """Every contact, by id."""
    return sorted(all_contacts(app), key=lambda contact: contact.id)


def by_wa_id(app: App) -> dict[str, Contact]:
    """Every contact by its wa_id."""
    return {contact.wa_id: contact for contact in contacts(app)}


def conversation_of(app: App, contact_id: int) -> int | None:
    """The id of the contact's conversation, if it has one."""
    for conversation in app.conversations.all(CLI):
        if conversation.contact.id == contact_id:
            return conversation.id
    return None


def messages_of(app: App, contact_id: int) -> Counter[tuple[str | None, str | None]]:
    """The multiset of (WhatsApp id, body) of the messages of the contact's conversation."""
    conversation_id = conversation_of(app, contact_id)
    found: Counter[tuple[str | None, str | None]] = Counter()
    if conversation_id is None:
        return found
    before: int | None = None
    while True:
        page = app.messages(CLI, conversation_id, limit=200, before_id=before)
        found.update((m.wa_message_id, m.body) for m in page.items)
        if page.next_before_id is None:
            return found
        before = page.next_before_id
