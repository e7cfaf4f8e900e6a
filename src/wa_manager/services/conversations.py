"""What a user may see: conversations, read through queries that take the viewer.

Every signed-in user may ask (``Action.SEE_CONVERSATIONS``); the repository's
queries decide what they get, so an invisible conversation and an absent one are
the same ``NotFound``.
"""

from __future__ import annotations

from attrs import frozen

from wa_manager.domain.errors import NotFound
from wa_manager.domain.model import Actor, Conversation, Page
from wa_manager.domain.ports import UnitOfWorkFactory
from wa_manager.services.contacts import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, check_limit
from wa_manager.services.permissions import Action, authorize


@frozen
class Conversations:
    """The conversation use cases."""

    store: UnitOfWorkFactory

    def page(
        self, actor: Actor, *, limit: int = DEFAULT_PAGE_SIZE, before_id: int | None = None
    ) -> Page[Conversation]:
        """A page of the conversations ``actor`` may see, newest first."""
        viewer = authorize(actor, Action.SEE_CONVERSATIONS)
        check_limit(limit)
        with self.store(read_only=True) as uow:
            return uow.conversations.page(viewer, limit=limit, before_id=before_id)

    def all(self, actor: Actor) -> list[Conversation]:
        """Every conversation ``actor`` may see, page by page."""
        items: list[Conversation] = []
        before_id: int | None = None
        while True:
            page = self.page(actor, limit=MAX_PAGE_SIZE, before_id=before_id)
            items.extend(page.items)
            if page.next_before_id is None:
                return items
            before_id = page.next_before_id

    def get(self, actor: Actor, conversation_id: int) -> Conversation:
        """One conversation, or ``NotFound`` when absent or not visible (the same answer)."""
        viewer = authorize(actor, Action.SEE_CONVERSATIONS)
        with self.store(read_only=True) as uow:
            conversation = uow.conversations.get(viewer, conversation_id)
        if conversation is None:
            raise NotFound(f"no conversation with id {conversation_id}")
        return conversation
