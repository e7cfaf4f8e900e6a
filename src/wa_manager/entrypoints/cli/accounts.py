"""``wa-manager users …`` and ``wa-manager tokens create``."""

from __future__ import annotations

import sys

import click

from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import CLI, Role
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
        ("ID", "USERNAME", "ROLE"),
        ((user.id, user.username, user.role) for user in found),
        empty="No users yet; add one with `wa-manager users add NAME --role admin`.",
    )


@click.group()
def tokens() -> None:
    """API tokens for the HTTP API (Authorization: Bearer TOKEN)."""


@tokens.command("create")
@click.argument("username")
@pass_runtime
def create_token(runtime: Runtime, username: str) -> None:
    """Print a new API token for USERNAME, alone on stdout; it is shown only once."""
    click.echo(runtime.app().accounts.create_token(CLI, username, name="cli"))


COMMANDS = (users, tokens)
