"""Members of WhatsApp numbers: users, and teams, who see every conversation of an
UltraMsg instance, current and future (the third way into visibility, beside links
to a contact and team links).

``InstanceMemberships`` is bound to its store and clock once (by ``bootstrap``);
every method takes the actor first (admins and the system only). An instance is
named by its id (the contacts' ``source``), stored or the environment's default
alike. Taking a membership away (a user's, or a team's) also releases, in the same
transaction, the assignments of conversations its people may no longer see.
"""

from __future__ import annotations

from collections.abc import Iterable

from attrs import frozen

from wa_manager.domain.model import Actor, InstanceMembers
from wa_manager.domain.ports import Clock, UnitOfWorkFactory
from wa_manager.domain.rules import validate_label
from wa_manager.services.contacts import set_exactly
from wa_manager.services.inbox import release_for_teams, release_hidden_assignments
from wa_manager.services.lookups import existing_user, resolve_team, unknown_ids
from wa_manager.services.permissions import Action, actor_id, authorize

MAX_INSTANCE_ID_LENGTH = 128


def check_instance_id(instance_id: str) -> str:
    """An instance id (e.g. ``instance12345``): 1-128 characters, no control characters."""
    return validate_label(instance_id, "WhatsApp number's instance id", MAX_INSTANCE_ID_LENGTH)


@frozen
class InstanceMemberships:
    """The use cases of who is a member of which WhatsApp number."""

    store: UnitOfWorkFactory
    clock: Clock

    def members(self, actor: Actor, instance_id: str) -> InstanceMembers:
        """The instance's member users and teams (none: empty lists)."""
        authorize(actor, Action.SEE_INSTANCE_MEMBERS)
        with self.store(read_only=True) as uow:
            return uow.instance_members.members(check_instance_id(instance_id))

    def list(self, actor: Actor) -> list[InstanceMembers]:
        """Every instance with at least one member, by instance id."""
        authorize(actor, Action.SEE_INSTANCE_MEMBERS)
        with self.store(read_only=True) as uow:
            return uow.instance_members.list()

    def add_user(self, actor: Actor, instance_id: str, username: str) -> InstanceMembers:
        """Make ``username`` a member (idempotent); the members after."""
        return self._change(actor, instance_id, username=username, add=True)

    def remove_user(self, actor: Actor, instance_id: str, username: str) -> InstanceMembers:
        """End ``username``'s membership (idempotent): they lose what it let them see."""
        return self._change(actor, instance_id, username=username, add=False)

    def add_team(self, actor: Actor, instance_id: str, team: str | int) -> InstanceMembers:
        """Make the team (id or name) a member (idempotent); the members after."""
        return self._change(actor, instance_id, team=team, add=True)

    def remove_team(self, actor: Actor, instance_id: str, team: str | int) -> InstanceMembers:
        """End the team's membership (idempotent): its members lose what it let them see."""
        return self._change(actor, instance_id, team=team, add=False)

    def _change(
        self,
        actor: Actor,
        instance_id: str,
        *,
        add: bool,
        username: str | None = None,
        team: str | int | None = None,
    ) -> InstanceMembers:
        authorize(actor, Action.MANAGE_INSTANCE_MEMBERS)
        instance_id = check_instance_id(instance_id)
        now = self.clock()
        with self.store() as uow:
            members = uow.instance_members
            if username is not None:
                user_id = existing_user(uow, username).id
                if add:
                    members.add_user(instance_id, user_id, now)
                elif members.remove_user(instance_id, user_id):
                    release_hidden_assignments(uow, user_id, actor_id(actor), now)
            else:
                assert team is not None
                team_id = resolve_team(uow, team).id
                if add:
                    members.add_team(instance_id, team_id, now)
                elif members.remove_team(instance_id, team_id):
                    release_for_teams(uow, [team_id], actor_id(actor), now)
            result = members.members(instance_id)
            uow.commit()
        return result

    def set_members(
        self,
        actor: Actor,
        instance_id: str,
        user_ids: Iterable[int],
        team_ids: Iterable[int],
    ) -> InstanceMembers:
        """Make exactly these users and teams the members; unknown ids are ``InvalidInput``
        and change nothing."""
        authorize(actor, Action.MANAGE_INSTANCE_MEMBERS)
        instance_id = check_instance_id(instance_id)
        wanted_users, wanted_teams = set(user_ids), set(team_ids)
        now = self.clock()
        with self.store() as uow:
            unknown_ids(uow, "user", wanted_users)
            unknown_ids(uow, "team", wanted_teams)
            members = uow.instance_members
            before = members.members(instance_id)
            set_exactly(
                wanted_users,
                before.user_ids,
                lambda user_id: members.add_user(instance_id, user_id, now),
                lambda user_id: members.remove_user(instance_id, user_id),
            )
            set_exactly(
                wanted_teams,
                before.team_ids,
                lambda team_id: members.add_team(instance_id, team_id, now),
                lambda team_id: members.remove_team(instance_id, team_id),
            )
            for user_id in sorted(set(before.user_ids) - wanted_users):
                release_hidden_assignments(uow, user_id, actor_id(actor), now)
            release_for_teams(
                uow, sorted(set(before.team_ids) - wanted_teams), actor_id(actor), now
            )
            result = members.members(instance_id)
            uow.commit()
        return result
