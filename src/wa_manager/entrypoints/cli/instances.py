"""``wa-manager instances …``: the WhatsApp numbers (UltraMsg instances) beyond the default.

``add``, ``set-token``, ``remove``, ``list``; ``new-key`` prints a fresh
``WA_MANAGER_ENCRYPTION_KEY`` and ``rotate-key`` seals every stored token again
with the first key of it. Tokens are read from stdin only (never an argument, so
never in the shell history or the process list) and never printed.
"""

from __future__ import annotations

import sys

import click

from wa_manager.bootstrap import new_encryption_key
from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.instances import MAX_TOKEN_LENGTH
from wa_manager.domain.model import CLI
from wa_manager.domain.times import iso_time
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.cli.output import echo_json, echo_table
from wa_manager.entrypoints.cli.runtime import Runtime, pass_runtime


def read_token_from_stdin() -> str:
    """One line of stdin (a hidden prompt when stdin is a terminal)."""
    stdin = sys.stdin
    if stdin.isatty():
        token: str = click.prompt("UltraMsg token", hide_input=True, err=True)
        return token
    token = stdin.readline(MAX_TOKEN_LENGTH + 2).rstrip("\r\n")
    if not token.strip():
        raise InvalidInput("--token-stdin: stdin was empty; pipe the instance's token in")
    return token


def _require_stdin_flag(token_stdin: bool) -> None:
    if not token_stdin:
        raise InvalidInput(
            "give --token-stdin and pipe the token in (a token is never a command-line "
            "argument: it would land in the shell history)"
        )


@click.group()
def instances() -> None:
    """WhatsApp numbers: UltraMsg instances stored beside the default one
    (ULTRAMSG_INSTANCE_ID); their tokens encrypted with WA_MANAGER_ENCRYPTION_KEY."""


@instances.command("add")
@click.argument("instance_id")
@click.option("--label", help="A name people recognise, e.g. Support.")
@click.option("--token-stdin", is_flag=True, help="Read the instance's token from stdin.")
@pass_runtime
def add(runtime: Runtime, instance_id: str, label: str | None, token_stdin: bool) -> None:
    """Store the UltraMsg instance INSTANCE_ID with its token (encrypted)."""
    _require_stdin_flag(token_stdin)
    token = read_token_from_stdin()
    added = runtime.app().instances.add(CLI, instance_id, token, label)
    click.echo(f"Added {added.instance_id}; point its UltraMsg webhook at {added.webhook_path}")


@instances.command("set-token")
@click.argument("instance_id")
@click.option("--token-stdin", is_flag=True, help="Read the new token from stdin.")
@pass_runtime
def set_token(runtime: Runtime, instance_id: str, token_stdin: bool) -> None:
    """Replace the token of the stored instance INSTANCE_ID."""
    _require_stdin_flag(token_stdin)
    token = read_token_from_stdin()
    runtime.app().instances.set_token(CLI, instance_id, token)
    click.echo(f"Stored a new token for {instance_id}")


@instances.command("remove")
@click.argument("instance_id")
@pass_runtime
def remove(runtime: Runtime, instance_id: str) -> None:
    """Forget the stored instance INSTANCE_ID; its contacts, conversations and history stay."""
    runtime.app().instances.remove(CLI, instance_id)
    click.echo(f"Removed {instance_id}; its contacts and conversations are kept")


@instances.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_runtime
def list_instances(runtime: Runtime, as_json: bool) -> None:
    """List the WhatsApp numbers, the default first: label, contacts, last sync, webhook
    path (never a token)."""
    summaries = runtime.app().instances.list(CLI)
    if as_json:
        echo_json([shapes.Instance.of(summary) for summary in summaries])
        return
    echo_table(
        ("INSTANCE", "LABEL", "CONTACTS", "LAST SYNC", "WEBHOOK PATH"),
        (
            (
                item.instance_id + ("" if item.stored else " (default)"),
                item.label,
                item.contacts,
                iso_time(item.last_sync_at),
                item.webhook_path,
            )
            for item in summaries
        ),
        empty="No WhatsApp numbers; set ULTRAMSG_INSTANCE_ID or run `wa-manager instances add`.",
    )


@instances.command("new-key")
def new_key() -> None:
    """Print a fresh random key for WA_MANAGER_ENCRYPTION_KEY."""
    click.echo(new_encryption_key())


@instances.command("rotate-key")
@pass_runtime
def rotate_key(runtime: Runtime) -> None:
    """Encrypt every stored token again with the first key of WA_MANAGER_ENCRYPTION_KEY.

    Rotation: put a new key first (NEW,OLD), run this, then drop the old key.
    """
    count = runtime.app().instances.rotate_key(CLI)
    click.echo(f"Encrypted {count} stored token(s) with the first key")


COMMANDS = (instances,)
