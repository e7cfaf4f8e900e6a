"""Contact identity: duplicate suggestions and merging two contacts into one (admins).

``Identities`` is bound to its store and clock once (by ``bootstrap``); every method
takes the actor first and asks ``permissions.authorize`` before anything else.

A merge runs in one transaction: both contacts locked (in id order), checked
(``domain.identity.check_merge``: two different contacts of one source), everything
of the merged contact moved to the survivor (``IdentityRepository.merge``), and the
one conversation left settled: the more active status (``merged_status``: active,
then pending, then resolved) and the survivor's assignee, else the merged one's,
each change recorded as a workflow event by the admin who merged. Nothing of it is
visible until it commits; a failure anywhere leaves both contacts as they were.
Links are united, so whoever could see either contact sees the survivor.
"""

from __future__ import annotations

from datetime import datetime

from attrs import frozen

from wa_manager.domain.errors import NotFound, WriteContention
from wa_manager.domain.identity import check_merge, merged_status, one_reason_each
from wa_manager.domain.model import (
    Actor,
    Contact,
    ConversationEvent,
    Duplicate,
    MergedConversations,
)
from wa_manager.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from wa_manager.services.permissions import Action, actor_id, authorize

MERGE_ATTEMPTS = 3


@frozen
class Identities:
    """The duplicate and merge use cases (admins and the system only)."""

    store: UnitOfWorkFactory
    clock: Clock

    def duplicates(self, actor: Actor) -> list[Duplicate]:
        """Pairs of contacts of one source that are likely one person, one reason each,
        by pair, with both contacts (never a merged contact: it is gone)."""
        authorize(actor, Action.MERGE_CONTACTS)
        with self.store(read_only=True) as uow:
            pairs = one_reason_each(uow.identities.duplicates())
            ids = [cid for pair in pairs for cid in (pair.first_id, pair.second_id)]
            found = uow.identities.contacts(ids)
        return [
            Duplicate(pair, found[pair.first_id], found[pair.second_id])
            for pair in pairs
            if pair.first_id in found and pair.second_id in found
        ]

    def merge(self, actor: Actor, contact_id: int, into_id: int) -> Contact:
        """Merge contact ``contact_id`` into ``into_id`` and return the survivor.

        ``InvalidInput`` for the same contact twice or contacts of different sources;
        ``NotFound`` when either does not exist (a merged contact answers that too).
        A merge the database rolled back to break a deadlock (with a sync renaming
        both contacts in the other order) is tried again, a few times.
        """
        authorize(actor, Action.MERGE_CONTACTS)
        attempt = 1
        while True:
            try:
                return self._merge(actor, contact_id, into_id)
            except WriteContention:
                if attempt == MERGE_ATTEMPTS:
                    raise
                attempt += 1

    def _merge(self, actor: Actor, contact_id: int, into_id: int) -> Contact:
        """One try of ``merge``, in one transaction."""
        with self.store() as uow:
            found = uow.identities.lock([contact_id, into_id])
            for wanted in (contact_id, into_id):
                if wanted not in found:
                    raise NotFound(f"no contact with id {wanted}; see GET /api/contacts")
            merged, survivor = found[contact_id], found[into_id]
            check_merge(merged, survivor)
            by, now = actor_id(actor), self.clock()
            folded = uow.identities.merge(merged, survivor, by, now)
            if folded is not None:
                _settle(uow, folded, by, now)
            result = uow.contacts.get(survivor.id)
            assert result is not None  # locked in this transaction
            uow.commit()
        return result


def _settle(uow: UnitOfWork, folded: MergedConversations, by: int | None, now: datetime) -> None:
    """The one conversation left takes the more active status and keeps its assignee,
    else the merged one's: each change an event in its trail."""
    kept, merged = folded
    status = merged_status(kept.status, merged.status)
    if status != kept.status:
        uow.conversations.apply(
            ConversationEvent.status_change(kept.id, kept.status, status, by, now)
        )
    if kept.assigned_user_id is None and merged.assigned_user_id is not None:
        uow.conversations.apply(
            ConversationEvent.assignment(kept.id, None, merged.assigned_user_id, by, now)
        )
