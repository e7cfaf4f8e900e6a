"""``SqlTeamRepository``: teams, their members and the membership audit trail; and
``visible_contact_ids``, the one statement of who may see which contact.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Row,
    Select,
    exists,
    func,
    insert,
    or_,
    select,
    union,
    union_all,
)

from wa_manager.adapters.sql.database import Database
from wa_manager.adapters.sql.grants import add_pair, grantees_by_contact, remove_pair
from wa_manager.adapters.sql.tables import (
    contact_links,
    contact_teams,
    contacts,
    conversations,
    instance_teams,
    instance_users,
    team_events,
    team_members,
    teams,
)
from wa_manager.domain.errors import AlreadyExists, NotFound
from wa_manager.domain.model import Team, TeamEvent


def visible_contact_ids(user_id: int) -> Select[Any]:
    """The ids of the contacts user ``user_id`` may see: linked to them directly, or
    to a team they are a member of, or of a WhatsApp number (instance: the contact's
    ``source``) they or one of their teams are a member of (``docs/interface.md#visibility``).

    Every part reads indexes alone: ``contact_links`` (user_id, contact_id);
    ``team_members`` (user_id, team_id) joined to ``contact_teams`` (team_id,
    contact_id); ``instance_users`` (user_id, instance_id), and ``instance_teams``
    (team_id, instance_id) through ``team_members``, joined to ``contacts`` by its
    unique (source, wa_id) index. UNION ALL: the statement is only ever the right
    side of an IN (a semi-join), so repeats cost nothing and need no sorting out.
    """
    return select(
        union_all(*_linked_contact_ids(user_id), _member_instances_contacts(user_id))
        .subquery("visible")
        .c.contact_id
    )


def visible_on_page(user_id: int, numbers: Sequence[str]) -> ColumnElement[bool]:
    """``visible_contact_ids`` as a list page's condition (on ``conversations`` joined to
    ``contacts``), given ``numbers``, the instances the user is a member of
    (``member_instances``, read just before).

    A user who is a member of no number: their contacts' ids drive the query (a few
    links among a million rows: an index search per link). A member: the page walks
    the activity index and keeps each row whose contact is linked to them or of one
    of their numbers, stopping after a page; ``source || ''`` keeps SQLite from
    driving the query from the contacts of those numbers instead (a sort of all of
    them: measured 0.3 s a page at 100k contacts, against 2 ms walking).
    """
    linked = conversations.c.contact_id.in_(
        select(union_all(*_linked_contact_ids(user_id)).subquery("linked").c.contact_id)
    )
    if not numbers:
        return linked
    return or_(linked, contacts.c.source.concat("").in_(list(numbers)))


def _linked_contact_ids(user_id: int) -> tuple[Select[Any], Select[Any]]:
    """The ids of the contacts linked to user ``user_id``: directly, and through a team."""
    direct = select(contact_links.c.contact_id.label("contact_id")).where(
        contact_links.c.user_id == user_id
    )
    through_teams = (
        select(contact_teams.c.contact_id.label("contact_id"))
        .join_from(team_members, contact_teams, contact_teams.c.team_id == team_members.c.team_id)
        .where(team_members.c.user_id == user_id)
    )
    return direct, through_teams


def visible_sources(user_id: int) -> Select[Any]:
    """The sources of the contacts ``visible_contact_ids`` gives, ascending, each once,
    without reading every contact of a member's instances: the sources of the linked
    contacts, and the member instances that have a contact."""
    linked = union_all(*_linked_contact_ids(user_id)).subquery("linked")
    of_links = select(contacts.c.source.label("source")).where(
        contacts.c.id.in_(select(linked.c.contact_id))
    )
    instances = member_instances(user_id).subquery("instances")
    has_contact = exists().where(contacts.c.source == instances.c.instance_id)
    of_memberships = select(instances.c.instance_id.label("source")).where(has_contact)
    found = union(of_links, of_memberships).subquery("sources")
    return select(found.c.source).order_by(found.c.source)


def every_source() -> Select[Any]:
    """Every contact source, ascending: a loose index scan (a recursive CTE seeking the
    next source in the (source, wa_id) index), so a million contacts of three
    numbers cost three index seeks, not a scan."""
    first = select(func.min(contacts.c.source).label("source")).cte("sources", recursive=True)
    after = (
        select(func.min(contacts.c.source)).where(contacts.c.source > first.c.source)
    ).scalar_subquery()
    walk = first.union_all(select(after).where(first.c.source.is_not(None)))
    return select(walk.c.source).where(walk.c.source.is_not(None)).order_by(walk.c.source)


def member_instances(user_id: int) -> CompoundSelect[Any]:
    """The ids of the instances user ``user_id`` is a member of, directly or through a team."""
    directly = select(instance_users.c.instance_id.label("instance_id")).where(
        instance_users.c.user_id == user_id
    )
    through_teams = (
        select(instance_teams.c.instance_id.label("instance_id"))
        .join_from(team_members, instance_teams, instance_teams.c.team_id == team_members.c.team_id)
        .where(team_members.c.user_id == user_id)
    )
    return union_all(directly, through_teams)


def _member_instances_contacts(user_id: int) -> Select[Any]:
    """The ids of the contacts of every instance user ``user_id`` is a member of."""
    return select(contacts.c.id.label("contact_id")).where(
        contacts.c.source.in_(member_instances(user_id))
    )


def team_ids_by_contact(db: Database, contact_ids: Sequence[int]) -> dict[int, list[int]]:
    """contact id -> linked team ids (ascending), for many contacts in one query."""
    return grantees_by_contact(db, contact_teams.c.contact_id, contact_teams.c.team_id, contact_ids)


def _team_from_row(row: Row[Any], user_ids: Sequence[int]) -> Team:
    return Team(id=row.id, name=row.name, user_ids=tuple(user_ids), created_at=row.created_at)


class SqlTeamRepository:
    """Teams, unique by name, and who is in them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, name: str, now: datetime) -> Team:
        """Create a team; ``AlreadyExists`` for a taken name."""
        statement = insert(teams).values(name=name, created_at=now).returning(*teams.c)
        taken = AlreadyExists(f"a team named {name!r} exists already; pick another name")
        return _team_from_row(self._db.execute(statement, integrity_error=taken).one(), ())

    def _members(self, team_ids: Sequence[int]) -> dict[int, list[int]]:
        rows = self._db.execute(
            select(team_members.c.team_id, team_members.c.user_id)
            .where(team_members.c.team_id.in_(team_ids))
            .order_by(team_members.c.team_id, team_members.c.user_id)
        )
        result: dict[int, list[int]] = {}
        for team_id, user_id in rows:
            result.setdefault(team_id, []).append(user_id)
        return result

    def _read(self, *conditions: Any) -> builtins.list[Team]:
        rows = self._db.execute(select(teams).where(*conditions).order_by(teams.c.id)).all()
        members = self._members([row.id for row in rows]) if rows else {}
        return [_team_from_row(row, members.get(row.id, ())) for row in rows]

    def get(self, team_id: int) -> Team | None:
        """The team with this id and its members, or None."""
        found = self._read(teams.c.id == team_id)
        return found[0] if found else None

    def by_name(self, name: str) -> Team | None:
        """The team with this name (exact), or None."""
        found = self._read(teams.c.name == name)
        return found[0] if found else None

    def list(self) -> builtins.list[Team]:
        """Every team with its members, by id."""
        return self._read()

    def add_member(self, team_id: int, user_id: int, actor_id: int | None, now: datetime) -> bool:
        """Add a member (idempotent); True and a ``join`` event when it changed something."""
        unknown = NotFound(f"no team with id {team_id} or no user with id {user_id}")
        pair = {"team_id": team_id, "user_id": user_id}
        changed = add_pair(self._db, team_members, pair, {}, unknown)
        if changed:
            self._record(team_id, user_id, "join", actor_id, now)
        return changed

    def remove_member(
        self, team_id: int, user_id: int, actor_id: int | None, now: datetime
    ) -> bool:
        """Remove a member (idempotent); True and a ``leave`` event when it changed something."""
        changed = remove_pair(self._db, team_members, {"team_id": team_id, "user_id": user_id})
        if changed:
            self._record(team_id, user_id, "leave", actor_id, now)
        return changed

    def _record(
        self, team_id: int, user_id: int, action: str, actor_id: int | None, now: datetime
    ) -> None:
        self._db.execute(
            insert(team_events).values(
                team_id=team_id, user_id=user_id, action=action, actor_id=actor_id, at=now
            )
        )

    def history(self, team_id: int) -> builtins.list[TeamEvent]:
        """The team's membership events, oldest first."""
        rows = self._db.execute(
            select(team_events).where(team_events.c.team_id == team_id).order_by(team_events.c.id)
        )
        return [
            TeamEvent(
                team_id=row.team_id,
                user_id=row.user_id,
                action=row.action,
                actor_id=row.actor_id,
                at=row.at,
            )
            for row in rows
        ]
