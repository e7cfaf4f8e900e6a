"""``SqlInstanceMemberRepository``: the users and teams that are members of a WhatsApp
number (an UltraMsg instance, by id: the contacts' ``source``).

What a membership lets a user see is read by ``teams.visible_contact_ids``, the one
statement of visibility; this module only keeps the memberships.
"""

from __future__ import annotations

import builtins
from datetime import datetime

from sqlalchemy import Column, Table, literal, select, union_all

from wa_manager.adapters.sql.database import Database
from wa_manager.adapters.sql.grants import add_pair, remove_pair
from wa_manager.adapters.sql.tables import instance_teams, instance_users
from wa_manager.domain.errors import NotFound
from wa_manager.domain.model import InstanceMembers


class SqlInstanceMemberRepository:
    """Who is a member of which instance: users directly, and teams."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def members(self, instance_id: str) -> InstanceMembers:
        """The instance's members, ascending: two index reads."""
        found = self._read(instance_id)
        return found[0] if found else InstanceMembers(instance_id)

    def list(self) -> builtins.list[InstanceMembers]:
        """Every instance with a member, by instance id: one query."""
        return self._read(None)

    def _read(self, instance_id: str | None) -> builtins.list[InstanceMembers]:
        parts = [
            select(table.c.instance_id, literal(kind).label("kind"), member.label("member"))
            for kind, table, member in (
                ("user", instance_users, instance_users.c.user_id),
                ("team", instance_teams, instance_teams.c.team_id),
            )
        ]
        if instance_id is not None:
            parts = [part.where(part.selected_columns[0] == instance_id) for part in parts]
        rows = self._db.execute(union_all(*parts).order_by("instance_id", "kind", "member"))
        grouped: dict[str, dict[str, list[int]]] = {}
        for instance, kind, member in rows:
            grouped.setdefault(instance, {"user": [], "team": []})[kind].append(int(member))
        return [
            InstanceMembers(instance, tuple(ids["user"]), tuple(ids["team"]))
            for instance, ids in grouped.items()
        ]

    def add_user(self, instance_id: str, user_id: int, now: datetime) -> bool:
        """Make the user a member (idempotent); ``NotFound`` for an unknown user."""
        unknown = NotFound(f"no user with id {user_id}")
        return self._add(
            instance_users, instance_users.c.user_id, instance_id, user_id, now, unknown
        )

    def remove_user(self, instance_id: str, user_id: int) -> bool:
        """End the user's membership (idempotent)."""
        return remove_pair(
            self._db, instance_users, {"instance_id": instance_id, "user_id": user_id}
        )

    def add_team(self, instance_id: str, team_id: int, now: datetime) -> bool:
        """Make the team a member (idempotent); ``NotFound`` for an unknown team."""
        unknown = NotFound(f"no team with id {team_id}")
        return self._add(
            instance_teams, instance_teams.c.team_id, instance_id, team_id, now, unknown
        )

    def remove_team(self, instance_id: str, team_id: int) -> bool:
        """End the team's membership (idempotent)."""
        return remove_pair(
            self._db, instance_teams, {"instance_id": instance_id, "team_id": team_id}
        )

    def _add(
        self,
        table: Table,
        member: Column[int],
        instance_id: str,
        member_id: int,
        now: datetime,
        unknown: NotFound,
    ) -> bool:
        pair: dict[str, int | str] = {"instance_id": instance_id, member.name: member_id}
        return add_pair(self._db, table, pair, {"created_at": now}, unknown)
