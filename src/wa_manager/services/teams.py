"""Teams: named groups of users; a contact linked to a team is seen by all its members.

``Teams`` is bound to its store and clock once (by ``bootstrap``); every method
takes the actor first (admins and the system only). Membership changes take
effect at once, since visibility is read from the tables on every query, and
each one is recorded in the team's audit trail.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable

from attrs import frozen

from wa_manager.domain.model import Actor, Team, TeamEvent
from wa_manager.domain.ports import Clock, UnitOfWorkFactory
from wa_manager.domain.rules import validate_label
from wa_manager.services.contacts import set_exactly
from wa_manager.services.inbox import release_hidden_assignments
from wa_manager.services.lookups import existing_user, resolve_team, unknown_ids
from wa_manager.services.permissions import Action, actor_id, authorize

MAX_TEAM_NAME_LENGTH = 64


def check_team_name(name: str) -> str:
    """A team name: 1-64 characters, not blank, no control characters."""
    return validate_label(name, "team name", MAX_TEAM_NAME_LENGTH)


@frozen
class Teams:
    """The team use cases."""

    store: UnitOfWorkFactory
    clock: Clock

    def add(self, actor: Actor, name: str) -> Team:
        """Create a team; ``AlreadyExists`` for a taken name."""
        authorize(actor, Action.MANAGE_TEAMS)
        name = check_team_name(name)
        with self.store() as uow:
            team = uow.teams.add(name, self.clock())
            uow.commit()
        return team

    def list(self, actor: Actor) -> list[Team]:
        """Every team with its members, by id."""
        authorize(actor, Action.SEE_TEAMS)
        with self.store() as uow:
            return uow.teams.list()

    def get(self, actor: Actor, ref: str | int) -> Team:
        """One team by id or name, or ``NotFound``."""
        authorize(actor, Action.SEE_TEAMS)
        with self.store() as uow:
            return resolve_team(uow, ref)

    def add_member(self, actor: Actor, team: str | int, username: str) -> Team:
        """Put ``username`` in the team (idempotent); the team after."""
        return self._change_member(actor, team, username, add=True)

    def remove_member(self, actor: Actor, team: str | int, username: str) -> Team:
        """Take ``username`` out of the team (idempotent): they lose what it let them see."""
        return self._change_member(actor, team, username, add=False)

    def _change_member(self, actor: Actor, ref: str | int, username: str, *, add: bool) -> Team:
        authorize(actor, Action.MANAGE_TEAMS)
        with self.store() as uow:
            team = resolve_team(uow, ref)
            user = existing_user(uow, username)
            by, now = actor_id(actor), self.clock()
            change = uow.teams.add_member if add else uow.teams.remove_member
            if change(team.id, user.id, by, now) and not add:
                release_hidden_assignments(uow, user.id, by, now)
            result = resolve_team(uow, team.id)
            uow.commit()
        return result

    def set_members(self, actor: Actor, team_id: int, user_ids: Iterable[int]) -> Team:
        """Make exactly ``user_ids`` the members; unknown users are ``InvalidInput``."""
        authorize(actor, Action.MANAGE_TEAMS)
        wanted = set(user_ids)
        with self.store() as uow:
            team = resolve_team(uow, team_id)
            unknown_ids(uow, "user", wanted)
            by, now = actor_id(actor), self.clock()
            set_exactly(
                wanted,
                team.user_ids,
                lambda user_id: uow.teams.add_member(team.id, user_id, by, now),
                lambda user_id: uow.teams.remove_member(team.id, user_id, by, now),
            )
            for user_id in sorted(set(team.user_ids) - wanted):
                release_hidden_assignments(uow, user_id, by, now)
            result = resolve_team(uow, team.id)
            uow.commit()
        return result

    def history(self, actor: Actor, ref: str | int) -> builtins.list[TeamEvent]:
        """Who joined and left the team, and who made it so, oldest first."""
        authorize(actor, Action.SEE_TEAMS)
        with self.store() as uow:
            return uow.teams.history(resolve_team(uow, ref).id)
