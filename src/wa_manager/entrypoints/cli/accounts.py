"""``wa-manager users …``, ``tokens …`` and ``teams …``."""

from __future__ import annotations

import sys
from typing import Any

import click

from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import CLI, Role, User
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.cli.output import echo_json, echo_table
from wa_manager.entrypoints.cli.runtime import Runtime, pass_runtime
from wa_manager.services.accounts import MAX_PASSWORD_LENGTH


def read_password_from_stdin() -> str:
    """One line of stdin (a hidden, confirmed prompt when stdin is a terminal)."""
    stdin = sys.stdin
    if stdin.isatty():
        password: str = click.prompt(
            "Password", hide_input=True, confirmation_prompt=True, err=True
        )
        return password
    # One more than the longest allowed, so that a longer one is refused, not cut.
    password = stdin.readline(MAX_PASSWORD_LENGTH + 2).rstrip("\r\n")
    if not password:
        raise InvalidInput("--password-stdin: stdin was empty; pipe the password in")
    return password


@click.group()
def users() -> None:
    """Create and list team members."""


@users.command("add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    required=True,
    help="admin: sees and manages everything; user: sees conversations linked to them.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read a password from stdin (for the web login); without it the user has none.",
)
@pass_runtime
def add_user(runtime: Runtime, username: str, role: str, password_stdin: bool) -> None:
    """Create the user USERNAME."""
    password = read_password_from_stdin() if password_stdin else None
    user = runtime.app().accounts.add_user(CLI, username, role, password)
    click.echo(f"Created {user.role} {user.username!r} (id {user.id})")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_runtime
def list_users(runtime: Runtime, as_json: bool) -> None:
    """List every user."""
    found = runtime.app().accounts.users(CLI)
    if as_json:
        echo_json([shapes.User.of(user) for user in found])
        return
    echo_table(
        ("ID", "USERNAME", "ROLE", "STATUS"),
        (
            (user.id, user.username, user.role, "disabled" if user.disabled else "enabled")
            for user in found
        ),
        empty="No users yet; add one with `wa-manager users add NAME --role admin`.",
    )


def _change_user(runtime: Runtime, username: str, **change: Any) -> User:
    accounts = runtime.app().accounts
    return accounts.change_user(CLI, accounts.user(CLI, username).id, **change)


@users.command("disable")
@click.argument("username")
@pass_runtime
def disable_user(runtime: Runtime, username: str) -> None:
    """Lock USERNAME out: their sessions and API tokens are refused at once."""
    _change_user(runtime, username, disabled=True)
    click.echo(f"Disabled {username!r}")


@users.command("enable")
@click.argument("username")
@pass_runtime
def enable_user(runtime: Runtime, username: str) -> None:
    """Let USERNAME sign in again (their unrevoked tokens work again too)."""
    _change_user(runtime, username, disabled=False)
    click.echo(f"Enabled {username!r}")


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@pass_runtime
def set_password(runtime: Runtime, username: str, password_stdin: bool) -> None:
    """Give USERNAME a new password (read from stdin); their sessions end."""
    _change_user(runtime, username, password=read_password_from_stdin())
    click.echo(f"New password set for {username!r}")


@users.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice([role.value for role in Role]))
@pass_runtime
def set_role(runtime: Runtime, username: str, role: str) -> None:
    """Make USERNAME an admin or a user (the last enabled admin stays one)."""
    user = _change_user(runtime, username, role=role)
    click.echo(f"{username!r} is now {user.role}")


@click.group()
def tokens() -> None:
    """API tokens for the HTTP API (Authorization: Bearer TOKEN)."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label to recognise it by.")
@pass_runtime
def create_token(runtime: Runtime, username: str, name: str) -> None:
    """Print a new API token for USERNAME, alone on stdout; it is shown only once."""
    _, secret = runtime.app().accounts.issue_token(CLI, username, name)
    click.echo(secret)


@tokens.command("list")
@click.argument("username", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_runtime
def list_tokens(runtime: Runtime, username: str | None, as_json: bool) -> None:
    """List API tokens (of USERNAME, or everyone's); never their secrets."""
    found = [
        shapes.Token.of(token, owner)
        for token, owner in runtime.app().accounts.tokens(CLI, username)
    ]
    if as_json:
        echo_json(found)
        return
    echo_table(
        ("ID", "USERNAME", "NAME", "CREATED", "LAST USED", "REVOKED"),
        ((t.id, t.username, t.name, t.created_at, t.last_used_at, t.revoked_at) for t in found),
        empty="No API tokens; make one with `wa-manager tokens create USERNAME`.",
    )


@tokens.command("revoke")
@click.argument("token_id", type=click.IntRange(min=1))
@pass_runtime
def revoke_token(runtime: Runtime, token_id: int) -> None:
    """Revoke the token TOKEN_ID (see `tokens list`): refused from now on."""
    runtime.app().accounts.revoke_token(CLI, token_id)
    click.echo(f"Revoked token {token_id}")


@click.group()
def teams() -> None:
    """Teams: a contact linked to a team is seen by every member."""


@teams.command("add")
@click.argument("name")
@pass_runtime
def add_team(runtime: Runtime, name: str) -> None:
    """Create the team NAME."""
    team = runtime.app().teams.add(CLI, name)
    click.echo(f"Created team {team.name!r} (id {team.id})")


@teams.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_runtime
def list_teams(runtime: Runtime, as_json: bool) -> None:
    """List every team and its members."""
    app = runtime.app()
    found = app.teams.list(CLI)
    if as_json:
        echo_json([shapes.Team.of(team) for team in found])
        return
    names = app.accounts.usernames(CLI)
    echo_table(
        ("ID", "NAME", "MEMBERS"),
        ((t.id, t.name, ", ".join(names.get(u, str(u)) for u in t.user_ids)) for t in found),
        empty="No teams yet; add one with `wa-manager teams add NAME`.",
    )


@teams.group("members")
def members() -> None:
    """Who is in a team. TEAM is its name or id."""


@members.command("add")
@click.argument("team")
@click.argument("username")
@pass_runtime
def add_member(runtime: Runtime, team: str, username: str) -> None:
    """Put USERNAME in TEAM (idempotent); prints the team as JSON."""
    echo_json(shapes.Team.of(runtime.app().teams.add_member(CLI, team, username)))


@members.command("remove")
@click.argument("team")
@click.argument("username")
@pass_runtime
def remove_member(runtime: Runtime, team: str, username: str) -> None:
    """Take USERNAME out of TEAM (idempotent): they lose its contacts at once."""
    echo_json(shapes.Team.of(runtime.app().teams.remove_member(CLI, team, username)))


COMMANDS = (users, tokens, teams)
