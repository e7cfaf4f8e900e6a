"""``wa-manager instances members add|remove|list``: who is a member of a WhatsApp
number (an UltraMsg instance), and so sees every conversation of it.

``members`` hangs under the ``instances`` group (``entrypoints/cli/instances.py``).
"""

from __future__ import annotations

import click

from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import CLI
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.cli.output import echo_json, echo_table
from wa_manager.entrypoints.cli.runtime import Runtime, pass_runtime


@click.group("members")
def members() -> None:
    """Members of a WhatsApp number see every conversation of it, new ones included.
    INSTANCE_ID is the instance's id, e.g. instance12345 (the contacts' source)."""


def _member(username: str | None, team: str | None) -> tuple[str | None, str | None]:
    """Exactly one of USERNAME and --team, else a usage error saying so."""
    if (username is None) == (team is None):
        raise InvalidInput("give either a USERNAME or --team TEAM (one of them)")
    return username, team


@members.command("add")
@click.argument("instance_id")
@click.argument("username", required=False)
@click.option("--team", help="A team (name or id) instead of a user.")
@pass_runtime
def add_member(runtime: Runtime, instance_id: str, username: str | None, team: str | None) -> None:
    """Make USERNAME (or --team TEAM) a member of INSTANCE_ID (idempotent); prints the
    members as JSON."""
    username, team = _member(username, team)
    use = runtime.app().instance_members
    if username is not None:
        result = use.add_user(CLI, instance_id, username)
    else:
        result = use.add_team(CLI, instance_id, str(team))
    echo_json(shapes.InstanceMembers.of(result))


@members.command("remove")
@click.argument("instance_id")
@click.argument("username", required=False)
@click.option("--team", help="A team (name or id) instead of a user.")
@pass_runtime
def remove_member(
    runtime: Runtime, instance_id: str, username: str | None, team: str | None
) -> None:
    """End USERNAME's (or --team TEAM's) membership of INSTANCE_ID (idempotent): what it
    let them see goes at once, and so do their assignments there; prints the members."""
    username, team = _member(username, team)
    use = runtime.app().instance_members
    if username is not None:
        result = use.remove_user(CLI, instance_id, username)
    else:
        result = use.remove_team(CLI, instance_id, str(team))
    echo_json(shapes.InstanceMembers.of(result))


@members.command("list")
@click.argument("instance_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_runtime
def list_members(runtime: Runtime, instance_id: str | None, as_json: bool) -> None:
    """The members of INSTANCE_ID, or of every instance that has any."""
    app = runtime.app()
    found = (
        [app.instance_members.members(CLI, instance_id)]
        if instance_id is not None
        else app.instance_members.list(CLI)
    )
    if as_json:
        echo_json([shapes.InstanceMembers.of(members) for members in found])
        return
    users = app.accounts.usernames(CLI)
    teams = {team.id: team.name for team in app.teams.list(CLI)}
    echo_table(
        ("INSTANCE", "USERS", "TEAMS"),
        (
            (
                m.instance_id,
                ", ".join(users.get(u, str(u)) for u in m.user_ids),
                ", ".join(teams.get(t, str(t)) for t in m.team_ids),
            )
            for m in found
        ),
        empty="No members yet; add one with "
        "`wa-manager instances members add INSTANCE_ID USERNAME`.",
    )
