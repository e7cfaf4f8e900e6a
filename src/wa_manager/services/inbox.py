"""The inbox rules every use case that writes shares: inbound messages reopen, and an
assignee never holds a conversation they cannot see.

- ``store_messages`` files messages (webhooks, history fetches): a newly stored
  inbound message makes a ``pending`` or ``resolved`` conversation ``active`` again,
  recorded as an event of the system (actor None). A history fetch reopens only for
  inbound messages newer than the conversation's last activity, so loading earlier
  messages does not wake a resolved conversation.
- ``release_hidden_assignments`` is the one hook for every change that takes access
  away (an unlink, an unlinked team, leaving a team; losing an instance later):
  called in the same transaction, after the change, it unassigns the user from each
  conversation they can no longer see, with an event per conversation;
  ``release_for_teams`` calls it for every member of teams that lost a link.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import groupby

from wa_manager.domain.model import (
    REOPENED_BY_INBOUND,
    Conversation,
    ConversationEvent,
    ConversationStatus,
    Direction,
    NewMessage,
)
from wa_manager.domain.ports import UnitOfWork


def store_messages(
    uow: UnitOfWork,
    source: str,
    rows: Sequence[NewMessage],
    now: datetime,
    *,
    only_newer_reopen: bool = False,
) -> int:
    """Store messages of ``source`` (skipping known ones) and reopen the conversations
    a new inbound message came to; return how many were stored.

    ``only_newer_reopen``: only inbound messages newer than the conversation's last
    activity reopen it (history fetches); otherwise any newly stored one does (webhooks).
    """
    stored = 0
    ordered = sorted(rows, key=lambda row: row.conversation_id)
    for conversation_id, group in groupby(ordered, key=lambda row: row.conversation_id):
        before = uow.conversations.lock(conversation_id)
        if before is not None:
            stored += store_in_locked(
                uow, source, before, list(group), now, only_newer_reopen=only_newer_reopen
            )
    return stored


def store_in_locked(
    uow: UnitOfWork,
    source: str,
    before: Conversation,
    batch: Sequence[NewMessage],
    now: datetime,
    *,
    only_newer_reopen: bool = False,
) -> int:
    """``store_messages`` for messages of one conversation, ``before``, which the caller
    has locked in this transaction (``conversations.lock`` or ``lock_for``)."""
    since = before.last_message_at if only_newer_reopen else None
    waking = [
        row
        for row in batch
        if row.direction is Direction.IN and (since is None or row.created_at > since)
    ]
    rest = [row for row in batch if row not in waking]
    woken = uow.messages.add_many(source, waking) if waking else 0
    stored = woken + (uow.messages.add_many(source, rest) if rest else 0)
    if woken and before.status in REOPENED_BY_INBOUND:
        uow.conversations.apply(
            ConversationEvent.status_change(
                before.id, before.status, ConversationStatus.ACTIVE, None, now
            )
        )
    return stored


def release_hidden_assignments(
    uow: UnitOfWork, user_id: int, actor_id: int | None, now: datetime
) -> list[int]:
    """Unassign ``user_id`` from every conversation they may no longer see (call it in
    the transaction that took access away); return those conversations' ids."""
    released = uow.conversations.hidden_assignments(user_id)
    for conversation_id in released:
        uow.conversations.apply(
            ConversationEvent.assignment(conversation_id, user_id, None, actor_id, now)
        )
    return released


def release_for_teams(
    uow: UnitOfWork, team_ids: Iterable[int], actor_id: int | None, now: datetime
) -> None:
    """``release_hidden_assignments`` for every member of these teams (after a team
    lost a contact link)."""
    members: set[int] = set()
    for team_id in team_ids:
        team = uow.teams.get(team_id)
        members.update(team.user_ids if team is not None else ())
    for user_id in sorted(members):
        release_hidden_assignments(uow, user_id, actor_id, now)
