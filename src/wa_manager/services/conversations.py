"""What a user may see: conversations, read through queries that take the viewer."""

from __future__ import annotations

from wa_manager.domain.errors import NotFound
from wa_manager.domain.model import Conversation, Page, User
from wa_manager.domain.ports import UnitOfWorkFactory
from wa_manager.services.contacts import DEFAULT_PAGE_SIZE, check_limit


def list_conversations(
    uow_factory: UnitOfWorkFactory,
    viewer: User,
    *,
    limit: int = DEFAULT_PAGE_SIZE,
    before_id: int | None = None,
) -> Page:
    """A page of the conversations ``viewer`` may see, newest first."""
    check_limit(limit)
    with uow_factory() as uow:
        return uow.conversations.page(viewer, limit=limit, before_id=before_id)


def all_conversations(uow_factory: UnitOfWorkFactory, viewer: User) -> list[Conversation]:
    """Every conversation ``viewer`` may see, page by page."""
    items: list[Conversation] = []
    before_id: int | None = None
    while True:
        page = list_conversations(uow_factory, viewer, limit=200, before_id=before_id)
        items.extend(page.items)
        if page.next_before_id is None:
            return items
        before_id = page.next_before_id


def get_conversation(
    uow_factory: UnitOfWorkFactory, viewer: User, conversation_id: int
) -> Conversation:
    """One conversation, or ``NotFound`` when absent or not visible (the same answer)."""
    with uow_factory() as uow:
        conversation = uow.conversations.get(viewer, conversation_id)
    if conversation is None:
        raise NotFound(f"no conversation with id {conversation_id}")
    return conversation
