"""Who may do what: every permission of every use case, decided here and nowhere else.

Each use case starts with ``authorize(actor, Action.X)``. The actor is required:
a ``User`` (checked against ``ADMIN_ACTIONS``) or a ``SystemActor`` (the command
line, the scheduler, webhooks, the library façade — trusted like an admin).
Anything else, ``None`` included, is refused: a use case cannot run for nobody,
so a new entrypoint that forgets to say who is asking fails closed.

Reading conversations and their messages, and replying, are open to every
signed-in user because the read queries themselves take the viewer and return
only what that viewer may see (``ConversationRepository.page`` and ``.get``): a
message is reached only through a conversation the viewer may see. The same holds
for a conversation's status and for taking it on; giving it to someone else is
for admins (``authorize_assignment``).
"""

from __future__ import annotations

import enum

from wa_manager.domain.errors import PermissionDenied
from wa_manager.domain.model import Actor, SystemActor, User


class Action(enum.StrEnum):
    """Everything a use case may be asked to do; the value completes "only admins may …"."""

    RUN_SYNC = "run a sync"
    SEE_SYNC_HISTORY = "see the sync history"
    SEE_INSTANCE_STATUS = "see the UltraMsg instance status"
    LIST_CONTACTS = "list contacts"
    SEE_CONTACT = "see contacts"
    EXPORT_CONTACTS = "export contacts"
    SEE_LINKS = "see links"
    CHANGE_LINKS = "change links"
    SEE_LINK_HISTORY = "see the link history"
    LIST_USERS = "list users"
    ADD_USER = "add users"
    CREATE_TOKEN = "create API tokens"  # noqa: S105 (an action, not a secret)
    CHANGE_USERS = "change users' roles, passwords and access"
    SEE_ALL_TOKENS = "see or revoke other users' API tokens"
    MANAGE_OWN_ACCOUNT = "manage their own password and API tokens"
    SEE_TEAMS = "see teams"
    MANAGE_TEAMS = "create teams and change their members"
    SEE_INSTANCE_MEMBERS = "see the members of WhatsApp numbers"
    MANAGE_INSTANCE_MEMBERS = "change the members of WhatsApp numbers"
    SEE_CONVERSATIONS = "see conversations"
    READ_MESSAGES = "read messages"
    SEND_MESSAGES = "send messages"
    HANDLE_WEBHOOK = "apply UltraMsg webhooks"
    WORK_ON_CONVERSATIONS = "change a conversation's status or take it on"
    ASSIGN_OTHERS = "assign conversations to someone else, or take them from someone"
    SEE_INSTANCES = "see the WhatsApp numbers (UltraMsg instances)"
    MANAGE_INSTANCES = "add, change or remove WhatsApp numbers"
    MERGE_CONTACTS = "see duplicate contacts and merge them"


ADMIN_ACTIONS = frozenset(
    {
        Action.RUN_SYNC,
        Action.SEE_SYNC_HISTORY,
        Action.SEE_INSTANCE_STATUS,
        Action.LIST_CONTACTS,
        Action.SEE_CONTACT,
        Action.EXPORT_CONTACTS,
        Action.SEE_LINKS,
        Action.CHANGE_LINKS,
        Action.SEE_LINK_HISTORY,
        Action.LIST_USERS,
        Action.ADD_USER,
        Action.CREATE_TOKEN,
        Action.CHANGE_USERS,
        Action.SEE_ALL_TOKENS,
        Action.SEE_TEAMS,
        Action.MANAGE_TEAMS,
        Action.SEE_INSTANCE_MEMBERS,
        Action.MANAGE_INSTANCE_MEMBERS,
        Action.ASSIGN_OTHERS,
        Action.SEE_INSTANCES,
        Action.MANAGE_INSTANCES,
        Action.MERGE_CONTACTS,
    }
)
"""What only admins (and the system) may do."""

SYSTEM_ACTIONS = frozenset({Action.HANDLE_WEBHOOK})
"""What only the system may do: no signed-in user, not even an admin."""


def authorize(actor: Actor, action: Action) -> Actor:
    """Return ``actor`` if it may do ``action``; raise ``PermissionDenied`` otherwise.

    A locked-out admin (``active`` false) counts as no admin; what a locked-out
    user reads is decided by the queries (they see nothing).
    """
    if isinstance(actor, SystemActor):
        return actor
    if not isinstance(actor, User):
        raise PermissionDenied(f"no actor given: cannot {action} on behalf of nobody")
    if action in SYSTEM_ACTIONS:
        raise PermissionDenied(f"only wa-manager itself may {action}")
    if action in ADMIN_ACTIONS and not (actor.is_admin and actor.active):
        raise PermissionDenied(f"only admins may {action}; ask an admin to do it for you")
    return actor


def authorize_assignment(
    actor: Actor, new_assignee: int | None, current_assignee: int | None
) -> None:
    """May ``actor`` move the assignment from ``current_assignee`` to ``new_assignee``?

    Admins (and the system) may assign anyone, or nobody. A user may take a
    conversation on (assign themselves) and give it up (unassign themselves);
    assigning someone else, or unassigning someone else, is for admins.
    """
    if new_assignee is not None:
        if new_assignee != actor.id:
            authorize(actor, Action.ASSIGN_OTHERS)
    elif current_assignee is not None and current_assignee != actor.id:
        authorize(actor, Action.ASSIGN_OTHERS)


def actor_id(actor: Actor) -> int | None:
    """The user id to record in audit trails (None for the system)."""
    return actor.id
