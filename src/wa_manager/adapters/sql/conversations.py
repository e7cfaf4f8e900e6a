"""``SqlConversationRepository``: one conversation per contact; reads filtered by the viewer.

Visibility is part of the query: an admin's query reads every conversation, a
user's keeps the conversations of the contacts they may see (``teams.
visible_contact_ids``: linked directly or through a team, or of a WhatsApp number
they or a team of theirs are a member of), and an inactive viewer gets nothing
without a query at all.

Pages run by last activity, newest first, keyset on (``last_activity_at``, id): an
admin's page walks the (last_activity_at, id) index, "Mine" the (assigned_user_id,
last_activity_at, id) one; a user's page reads their links' conversations and sorts
those. ``last_activity_at`` is kept by the message repository in the transaction
of each insert, so a page boundary stays put while messages arrive (a conversation
that moves up is simply seen again on the first page). Each page then reads the
newest message of its ≤ limit rows in one more query (index (conversation_id,
created_at, id)).

Workflow changes lock in one order, links before conversations, everywhere:
``may_see`` holds what lets the assignee see it (their link, else a team membership
and team link, else their membership of the instance, else a team membership and the
team's membership of the instance) ``FOR SHARE`` and ``lock`` the conversation
``FOR UPDATE``; an unlink (or a membership's end) deletes the row, then
``hidden_assignments`` locks the conversations. A concurrent unlink and assignment
thus wait for each other instead of both committing, and never deadlock. SQLite
runs one writer at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    Select,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    tuple_,
)
from sqlalchemy import update as update_

from wa_manager.adapters.sql.contacts import KEY_BATCH, batched
from wa_manager.adapters.sql.database import Database, dialect_insert
from wa_manager.adapters.sql.selection import text_matches
from wa_manager.adapters.sql.tables import (
    UtcDateTime,
    contact_links,
    contact_teams,
    contacts,
    conversation_events,
    conversations,
    instance_teams,
    instance_users,
    messages,
    team_members,
    users,
)
from wa_manager.adapters.sql.teams import (
    every_source,
    member_instances,
    visible_contact_ids,
    visible_on_page,
    visible_sources,
)
from wa_manager.domain.model import (
    CONVERSATION_SOURCE,
    CONVERSATION_STATUS_ACTIVE,
    EVERY_CONVERSATION,
    ActivityKey,
    Actor,
    ContactSummary,
    Conversation,
    ConversationEvent,
    ConversationEventType,
    ConversationFilter,
    MessagePreview,
    Page,
    User,
)
from wa_manager.domain.rules import can_see_all


def _lacks_conversation(source: str | BindParameter[Any]) -> tuple[ColumnElement[bool], ...]:
    """Conditions on ``contacts``: of ``source`` and without a conversation."""
    has_one = exists().where(conversations.c.contact_id == contacts.c.id)
    return (contacts.c.source == source, ~has_one)


def _insert_for(
    dialect: str, now: ColumnElement[Any], conditions: Sequence[ColumnElement[bool]]
) -> Any:
    """INSERT … SELECT a conversation (created ``now``) for each contact meeting
    ``conditions``, ON CONFLICT DO NOTHING."""
    rows = (
        select(
            contacts.c.id,
            literal(CONVERSATION_SOURCE),
            literal(CONVERSATION_STATUS_ACTIVE),
            now,
            now,
        )
        .where(*conditions)
        .order_by(contacts.c.id)  # conversation ids follow contact ids: newest last
    )
    return (
        dialect_insert(dialect, conversations)
        .from_select(["contact_id", "source", "status", "created_at", "last_activity_at"], rows)
        .on_conflict_do_nothing(index_elements=["contact_id"])
    )


def _add_for_one(dialect: str) -> Any:
    """``add_for`` of one contact, its key and time as bind parameters."""
    now = bindparam("now", type_=conversations.c.created_at.type)
    one = contacts.c.wa_id == bindparam("key_wa_id")
    return _insert_for(dialect, now, (*_lacks_conversation(bindparam("key_source")), one))


def _lock(_dialect: str) -> Any:
    """``lock``'s SELECT … FOR UPDATE, the conversation id a bind parameter."""
    return (
        _with_contact()
        .where(conversations.c.id == bindparam("key_id"))
        .with_for_update(of=conversations)
    )


def _lock_for(_dialect: str) -> Any:
    """``lock_for``'s SELECT … FOR UPDATE by the contact's (source, wa_id)."""
    return (
        _with_contact()
        .where(
            contacts.c.source == bindparam("key_source"),
            contacts.c.wa_id == bindparam("key_wa_id"),
        )
        .with_for_update(of=conversations)
    )


def _id_for(_dialect: str) -> Any:
    """``id_for``'s lookup by (source, wa_id), both bind parameters."""
    return (
        select(conversations.c.id)
        .join(contacts, contacts.c.id == conversations.c.contact_id)
        .where(
            contacts.c.source == bindparam("key_source"),
            contacts.c.wa_id == bindparam("key_wa_id"),
        )
    )


def _with_contact() -> Select[Any]:
    """Every conversation with its contact, the columns a ``Conversation`` needs."""
    return select(
        conversations.c.id,
        conversations.c.status,
        conversations.c.source,
        conversations.c.assigned_user_id,
        conversations.c.created_at,
        conversations.c.last_message_at,
        contacts.c.id.label("contact_id"),
        contacts.c.wa_id,
        contacts.c.name,
        contacts.c.phone,
        contacts.c.source.label("contact_source"),
    ).join_from(conversations, contacts, contacts.c.id == conversations.c.contact_id)


def _visible_to(user_id: int) -> ColumnElement[bool]:
    """The condition on ``conversations`` of what user ``user_id`` (not an admin) may
    see: ``teams.visible_contact_ids``."""
    return conversations.c.contact_id.in_(visible_contact_ids(user_id))


def _grants(user_id: int, conversation_id: int) -> Iterator[Select[Any]]:
    """The rows that may let user ``user_id`` see the conversation, one query per way
    in (``may_see`` locks the first that exists): their link to its contact, a team's
    membership and link, their membership of its instance, a team's membership of it."""
    contact_id = (
        select(conversations.c.contact_id)
        .where(conversations.c.id == conversation_id)
        .scalar_subquery()
    )
    yield select(contact_links.c.user_id).where(
        contact_links.c.contact_id == contact_id, contact_links.c.user_id == user_id
    )
    yield (
        select(team_members.c.team_id)
        .join_from(team_members, contact_teams, contact_teams.c.team_id == team_members.c.team_id)
        .where(team_members.c.user_id == user_id, contact_teams.c.contact_id == contact_id)
    )
    source = select(contacts.c.source).where(contacts.c.id == contact_id).scalar_subquery()
    yield select(instance_users.c.user_id).where(
        instance_users.c.instance_id == source, instance_users.c.user_id == user_id
    )
    yield (
        select(team_members.c.team_id)
        .join_from(team_members, instance_teams, instance_teams.c.team_id == team_members.c.team_id)
        .where(team_members.c.user_id == user_id, instance_teams.c.instance_id == source)
    )


def _conversation_from_row(row: Row[Any], preview: MessagePreview | None = None) -> Conversation:
    return Conversation(
        id=row.id,
        contact=ContactSummary(
            id=row.contact_id,
            wa_id=row.wa_id,
            name=row.name,
            phone=row.phone,
            source=row.contact_source,
        ),
        status=row.status,
        source=row.source,
        assigned_user_id=row.assigned_user_id,
        created_at=row.created_at,
        last_message_at=row.last_message_at,
        last_message=preview,
    )


def _matching(query: Select[Any], where: ConversationFilter, dialect: str) -> Select[Any]:
    """``query`` (reading ``conversations`` with its contact) narrowed by ``where``."""
    if where.status is not None:
        query = query.where(conversations.c.status == where.status)
    if where.unassigned:
        query = query.where(conversations.c.assigned_user_id.is_(None))
    if where.assigned_user_id is not None:
        query = query.where(conversations.c.assigned_user_id == where.assigned_user_id)
    if where.source is not None:
        query = query.where(contacts.c.source == where.source)
    if where.search:
        query = query.where(
            text_matches(
                dialect, where.search, (contacts.c.name, contacts.c.phone, contacts.c.wa_id)
            )
        )
    return query


def _below(key: ActivityKey) -> ColumnElement[bool]:
    """Strictly after ``key`` in the activity order (newest first)."""
    return tuple_(conversations.c.last_activity_at, conversations.c.id) < tuple_(
        literal(key.at, UtcDateTime()), literal(key.id, conversations.c.id.type)
    )


# The newest message of the conversation in the enclosing query's FROM.
_NEWEST_MESSAGE = (
    select(messages.c.id)
    .where(messages.c.conversation_id == conversations.c.id)
    .order_by(messages.c.created_at.desc(), messages.c.id.desc())
    .limit(1)
    .scalar_subquery()
)


class SqlConversationRepository:
    """The one whatsapp conversation of each contact."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_missing(self, source: str, now: datetime) -> int:
        """One INSERT … SELECT giving each contact of ``source`` without one a conversation.

        Skipped when as many conversations as contacts exist: each conversation has
        its own contact (unique ``contact_id``, a foreign key), so then every contact
        has one. Both counts come from one statement (one snapshot), over the
        narrowest index: a re-sync of 1M contacts saves the anti-join's 1M probes.
        """
        if self._every_contact_has_one():
            return 0
        return self._insert_for(now, *_lacks_conversation(source))

    def _every_contact_has_one(self) -> bool:
        counts = select(
            select(func.count()).select_from(contacts).scalar_subquery(),
            select(func.count()).select_from(conversations).scalar_subquery(),
        )
        contact_count, conversation_count = self._db.execute(counts).one()
        return bool(contact_count == conversation_count)

    def add_for(self, source: str, wa_ids: Sequence[str], now: datetime) -> int:
        """Give these contacts of ``source`` a conversation if they lack one (webhooks)."""
        if len(wa_ids) == 1:  # a webhook's one contact: a prepared statement
            params = {"key_source": source, "key_wa_id": wa_ids[0], "now": now}
            return self._db.execute(self._db.prepared(_add_for_one), params).rowcount
        return sum(
            self._insert_for(now, *_lacks_conversation(source), contacts.c.wa_id.in_(batch))
            for batch in batched(wa_ids, KEY_BATCH)
        )

    def _insert_for(self, now: datetime, *conditions: ColumnElement[bool]) -> int:
        """INSERT … SELECT a conversation for each contact meeting ``conditions``;
        ON CONFLICT DO NOTHING, so a concurrent writer's rows are skipped, not counted."""
        at = literal(now, conversations.c.created_at.type)
        return self._db.execute(_insert_for(self._db.dialect, at, conditions)).rowcount

    def count_missing(self, source: str) -> int:
        """How many contacts of ``source`` have no conversation: one COUNT."""
        query = select(func.count()).select_from(contacts).where(*_lacks_conversation(source))
        return int(self._db.execute(query).scalar_one())

    def page(
        self,
        viewer: Actor,
        *,
        limit: int,
        before: ActivityKey | None,
        where: ConversationFilter = EVERY_CONVERSATION,
    ) -> Page[Conversation]:
        """Conversations ``viewer`` may see, by activity newest first: two queries."""
        if not viewer.active:
            return Page(items=(), next_before_id=None)
        query = _matching(_with_contact(), where, self._db.dialect)
        if not can_see_all(viewer):
            assert viewer.id is not None
            numbers = self._db.execute(member_instances(viewer.id)).scalars().all()
            query = query.where(visible_on_page(viewer.id, numbers))
        if before is not None:
            query = query.where(_below(before))
        order = (conversations.c.last_activity_at.desc(), conversations.c.id.desc())
        rows = self._db.execute(query.order_by(*order).limit(limit + 1)).all()
        shown = rows[:limit]
        previews = self._previews([row.id for row in shown])
        items = tuple(_conversation_from_row(row, previews.get(row.id)) for row in shown)
        return Page(items=items, next_before_id=items[-1].id if len(rows) > limit else None)

    def _previews(self, conversation_ids: Sequence[int]) -> dict[int, MessagePreview]:
        """The newest message of each of these conversations (that has one)."""
        if not conversation_ids:
            return {}
        newest = select(_NEWEST_MESSAGE).where(conversations.c.id.in_(conversation_ids))
        query = select(
            messages.c.conversation_id,
            messages.c.body,
            messages.c.type,
            messages.c.direction,
            messages.c.created_at,
        ).where(messages.c.id.in_(newest))
        return {
            row.conversation_id: MessagePreview(row.body, row.type, row.direction, row.created_at)
            for row in self._db.execute(query)
        }

    def get(self, viewer: Actor, conversation_id: int) -> Conversation | None:
        """One conversation if it exists and ``viewer`` may see it, else None."""
        if not viewer.active:
            return None
        query = _with_contact().where(conversations.c.id == conversation_id)
        if not can_see_all(viewer):
            assert viewer.id is not None
            query = query.where(_visible_to(viewer.id))
        row = self._db.execute(query).first()
        if row is None:
            return None
        return _conversation_from_row(row, self._previews([row.id]).get(row.id))

    def sources(self, viewer: Actor) -> list[str]:
        """The numbers of what ``viewer`` sees: for an admin a loose index scan of
        contacts' (source, wa_id) index, one seek per number, whatever the count of
        contacts; for a user ``teams.visible_sources``."""
        if not viewer.active:
            return []
        if can_see_all(viewer):
            query: Select[Any] = every_source()
        else:
            assert viewer.id is not None
            query = visible_sources(viewer.id)
        return [str(source) for source in self._db.execute(query).scalars()]

    def lock(self, conversation_id: int) -> Conversation | None:
        """The stored conversation, its row locked ``FOR UPDATE`` (PostgreSQL)."""
        row = self._db.execute(self._db.prepared(_lock), {"key_id": conversation_id}).first()
        return None if row is None else _conversation_from_row(row)

    def lock_for(self, source: str, wa_id: str) -> Conversation | None:
        """``lock`` of the conversation of (source, wa_id): one indexed lookup, locked."""
        params = {"key_source": source, "key_wa_id": wa_id}
        row = self._db.execute(self._db.prepared(_lock_for), params).first()
        return None if row is None else _conversation_from_row(row)

    def may_see(self, user: User, conversation_id: int) -> bool:
        """Whether ``user`` may see it; what grants it is held ``FOR SHARE`` meanwhile."""
        if not user.active:
            return False
        if can_see_all(user):
            found = select(conversations.c.id).where(conversations.c.id == conversation_id)
            return self._db.execute(found).first() is not None
        assert user.id is not None
        return any(
            self._db.execute(grant.with_for_update(read=True)).first() is not None
            for grant in _grants(user.id, conversation_id)
        )

    def apply(self, event: ConversationEvent) -> None:
        """One UPDATE of the status or the assignee, one INSERT into the trail."""
        change: dict[str, Any] = (
            {"status": event.to_value}
            if event.type is ConversationEventType.STATUS
            else {"assigned_user_id": event.to_user_id}
        )
        self._db.execute(
            update_(conversations).where(conversations.c.id == event.conversation_id).values(change)
        )
        self._db.execute(
            insert(conversation_events).values(
                conversation_id=event.conversation_id,
                type=str(event.type),
                from_value=event.from_value,
                to_value=event.to_value,
                actor_id=event.actor_id,
                at=event.at,
            )
        )

    def events(self, conversation_id: int) -> list[ConversationEvent]:
        """The trail, oldest first, from the (conversation_id, id) index."""
        query = (
            select(conversation_events)
            .where(conversation_events.c.conversation_id == conversation_id)
            .order_by(conversation_events.c.id)
        )
        return [
            ConversationEvent(
                row.conversation_id, row.type, row.from_value, row.to_value, row.actor_id, row.at
            )
            for row in self._db.execute(query)
        ]

    def hidden_assignments(self, user_id: int) -> list[int]:
        """Conversations assigned to ``user_id`` they may not see, locked ``FOR UPDATE``."""
        found = self._db.execute(
            select(users.c.role, users.c.active).where(users.c.id == user_id)
        ).first()
        if found is None:
            return []
        query = select(conversations.c.id).where(conversations.c.assigned_user_id == user_id)
        viewer = User(id=user_id, username="-", role=found.role, active=found.active)
        if can_see_all(viewer):
            return []
        if viewer.active:
            query = query.where(~_visible_to(user_id))
        query = query.order_by(conversations.c.id).with_for_update(of=conversations)
        return [int(conversation_id) for conversation_id in self._db.execute(query).scalars()]

    def id_for(self, source: str, wa_id: str) -> int | None:
        """The conversation id of the contact (source, wa_id): one indexed lookup."""
        found = self._db.execute(
            self._db.prepared(_id_for), {"key_source": source, "key_wa_id": wa_id}
        ).scalar()
        return int(found) if found is not None else None
