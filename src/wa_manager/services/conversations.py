"""Conversations: what a user may see, and the inbox workflow (status, assignment).

Every signed-in user may ask (``Action.SEE_CONVERSATIONS``); the repository's
queries decide what they get, so an invisible conversation and an absent one are
the same ``NotFound``. Lists run by last activity (the newest message's time, else
the conversation's creation), newest first, keyset-paginated on that pair.

Workflow changes (``update``, ``assign``, ``set_status``) run in one transaction
that first holds what lets the new assignee see the conversation (their link),
then locks the conversation row, so two admins assigning at once, or an unlink
racing an assignment, end in a state where the assignee may see it, with one
event per change (``docs/interface.md``, "Inbox workflow").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from attrs import frozen

from wa_manager.domain.errors import InvalidInput, NotFound
from wa_manager.domain.model import (
    ActivityKey,
    Actor,
    Conversation,
    ConversationEvent,
    ConversationFilter,
    ConversationStatus,
    Page,
    User,
)
from wa_manager.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from wa_manager.domain.rules import may_see_contact
from wa_manager.services.contacts import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, check_limit
from wa_manager.services.permissions import Action, authorize, authorize_assignment

Assigned = int | Literal["me", "none"] | None
"""A list's assignee filter: a user id, the asking user (``me``), nobody (``none``)."""

STATUSES = tuple(str(status) for status in ConversationStatus)


class _Unset:
    """No change asked for (``update`` leaves that part as it is)."""


UNCHANGED = _Unset()


def check_status(status: str) -> ConversationStatus:
    """A known status, or ``InvalidInput`` naming the known ones."""
    try:
        return ConversationStatus(status)
    except ValueError:
        raise InvalidInput(
            f"unknown status {status[:40]!r}; use one of {', '.join(STATUSES)}"
        ) from None


def visible(uow: UnitOfWork, actor: Actor, conversation_id: int) -> Conversation:
    """The conversation if ``actor`` may see it; ``NotFound`` otherwise (as for absent)."""
    conversation = uow.conversations.get(actor, conversation_id)
    if conversation is None:
        raise NotFound(f"no conversation with id {conversation_id}")
    return conversation


@frozen
class EventLog:
    """A conversation's workflow trail, with the names of the people it mentions."""

    items: list[ConversationEvent]
    usernames: Mapping[int, str]


@frozen
class Conversations:
    """The conversation use cases, bound to the store and the clock."""

    store: UnitOfWorkFactory
    clock: Clock

    def page(
        self,
        actor: Actor,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        before: ActivityKey | None = None,
        status: str | None = None,
        assigned: Assigned = None,
        search: str | None = None,
        source: str | None = None,
    ) -> Page[Conversation]:
        """A page of the conversations ``actor`` may see, by last activity newest first,
        filtered by ``status``, ``assigned`` (``me``, ``none`` or a user id), ``search``
        and ``source`` (a WhatsApp number's instance id)."""
        viewer = authorize(actor, Action.SEE_CONVERSATIONS)
        check_limit(limit)
        where = ConversationFilter(
            status=str(check_status(status)) if status is not None else None,
            assigned_user_id=_assignee_filter(viewer, assigned),
            unassigned=assigned == "none",
            search=search or None,
            source=source or None,
        )
        with self.store(read_only=True) as uow:
            return uow.conversations.page(viewer, limit=limit, before=before, where=where)

    def sources(self, actor: Actor) -> list[str]:
        """The WhatsApp numbers (instance ids) of what ``actor`` may see, ascending."""
        viewer = authorize(actor, Action.SEE_CONVERSATIONS)
        with self.store(read_only=True) as uow:
            return uow.conversations.sources(viewer)

    def all(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        assigned: Assigned = None,
        search: str | None = None,
        source: str | None = None,
    ) -> list[Conversation]:
        """Every conversation ``actor`` may see (filtered likewise), page by page."""
        items: list[Conversation] = []
        before: ActivityKey | None = None
        while True:
            page = self.page(
                actor,
                limit=MAX_PAGE_SIZE,
                before=before,
                status=status,
                assigned=assigned,
                search=search,
                source=source,
            )
            items.extend(page.items)
            if page.next_before_id is None or not page.items:
                return items
            before = page.items[-1].activity_key

    def get(self, actor: Actor, conversation_id: int) -> Conversation:
        """One conversation, or ``NotFound`` when absent or not visible (the same answer)."""
        viewer = authorize(actor, Action.SEE_CONVERSATIONS)
        with self.store(read_only=True) as uow:
            return visible(uow, viewer, conversation_id)

    def assign(self, actor: Actor, conversation_id: int, user_id: int | None) -> Conversation:
        """Give the conversation to ``user_id`` (None: to nobody); see ``update``."""
        return self.update(actor, conversation_id, assigned_user_id=user_id)

    def set_status(self, actor: Actor, conversation_id: int, status: str) -> Conversation:
        """Move the conversation to ``status`` (active, pending, resolved)."""
        return self.update(actor, conversation_id, status=status)

    def update(
        self,
        actor: Actor,
        conversation_id: int,
        *,
        status: str | _Unset = UNCHANGED,
        assigned_user_id: int | _Unset | None = UNCHANGED,
    ) -> Conversation:
        """Change the status and/or the assignee, in one transaction, one event per change.

        ``NotFound``: the actor may not see it. ``PermissionDenied``: a user assigning
        or unassigning someone else. ``InvalidInput``: an unknown status or user, or an
        assignee who may not see the conversation (link them to its contact first).
        """
        viewer = authorize(actor, Action.WORK_ON_CONVERSATIONS)
        new_status = check_status(status) if isinstance(status, str) else None
        with self.store() as uow:
            visible(uow, viewer, conversation_id)
            if not isinstance(assigned_user_id, _Unset) and assigned_user_id is not None:
                authorize_assignment(viewer, assigned_user_id, None)
                _hold_assignee(uow, assigned_user_id, conversation_id)
            current = uow.conversations.lock(conversation_id)
            if current is None:  # deleted meanwhile
                raise NotFound(f"no conversation with id {conversation_id}")
            now = self.clock()
            if not isinstance(assigned_user_id, _Unset):
                authorize_assignment(viewer, assigned_user_id, current.assigned_user_id)
                if assigned_user_id != current.assigned_user_id:
                    uow.conversations.apply(
                        ConversationEvent.assignment(
                            conversation_id,
                            current.assigned_user_id,
                            assigned_user_id,
                            viewer.id,
                            now,
                        )
                    )
            if new_status is not None and new_status != current.status:
                uow.conversations.apply(
                    ConversationEvent.status_change(
                        conversation_id, current.status, new_status, viewer.id, now
                    )
                )
            uow.commit()
            return visible(uow, viewer, conversation_id)

    def events(self, actor: Actor, conversation_id: int) -> EventLog:
        """The conversation's workflow trail, oldest first (``NotFound`` if not visible)."""
        viewer = authorize(actor, Action.SEE_CONVERSATIONS)
        with self.store(read_only=True) as uow:
            visible(uow, viewer, conversation_id)
            items = uow.conversations.events(conversation_id)
            mentioned = {
                user_id
                for event in items
                for user_id in (event.actor_id, event.from_user_id, event.to_user_id)
                if user_id is not None
            }
            names = {uid: user.username for uid in mentioned if (user := uow.users.get(uid))}
        return EventLog(items, names)

    def assignees(self, actor: Actor, conversation_id: int) -> list[User]:
        """Who the actor may give the conversation to: for admins everyone who may see
        it; for users themselves (and whoever holds it now, to show them)."""
        viewer = authorize(actor, Action.SEE_CONVERSATIONS)
        with self.store(read_only=True) as uow:
            conversation = visible(uow, viewer, conversation_id)
            linked = _viewers_of_contact(uow, conversation.contact.id)
            everyone = [user for user in uow.users.list() if may_see_contact(user, linked)]
        if viewer.is_admin:
            return everyone
        keep = {viewer.id, conversation.assigned_user_id}
        return [user for user in everyone if user.id in keep]


def _assignee_filter(viewer: Actor, assigned: Assigned) -> int | None:
    """The user id an ``assigned`` filter keeps (None: no assignee filter)."""
    if assigned is None or assigned == "none":
        return None
    if assigned == "me":
        if viewer.id is None:
            raise InvalidInput("assigned=me needs a signed-in user; give a user id instead")
        return viewer.id
    if isinstance(assigned, int) and assigned >= 1:
        return assigned
    raise InvalidInput(f"assigned is me, none or a user id, got {assigned!r}")


def _viewers_of_contact(uow: UnitOfWork, contact_id: int) -> set[int]:
    """The users linked to the contact directly or through one of its teams, and the
    members of its instance (directly or through a member team)."""
    viewers = set(uow.links.user_ids(contact_id))
    contact = uow.contacts.get(contact_id)
    if contact is None:
        return viewers
    members = uow.instance_members.members(contact.source)
    viewers.update(members.user_ids)
    for team_id in {*contact.team_ids, *members.team_ids}:
        team = uow.teams.get(team_id)
        if team is not None:
            viewers.update(team.user_ids)
    return viewers


def _hold_assignee(uow: UnitOfWork, user_id: int, conversation_id: int) -> User:
    """The user to assign, holding their right to see the conversation; else ``InvalidInput``."""
    user = uow.users.get(user_id)
    if user is None:
        raise InvalidInput(f"no user with id {user_id}; see GET /api/users")
    if not uow.conversations.may_see(user, conversation_id):
        raise InvalidInput(
            f"{user.username} may not see conversation {conversation_id}; link them to its "
            "contact first (Settings › Contact Links, or `wa-manager links add`)"
        )
    return user
