"""``wa-manager db upgrade`` and ``wa-manager sync``."""

from __future__ import annotations

import re

import click

from wa_manager.domain.model import CLI
from wa_manager.entrypoints.cli.output import echo_json, sync_summary
from wa_manager.entrypoints.cli.runtime import Runtime, pass_runtime

_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]*@")


def redact_database_url(url: str) -> str:
    """A database URL with its password (if any) replaced by ***."""
    return _URL_PASSWORD.sub(r"\g<1>***@", url)


@click.group()
def db() -> None:
    """Manage the database schema."""


@db.command()
@pass_runtime
def upgrade(runtime: Runtime) -> None:
    """Create or migrate the schema (Alembic); safe to run again."""
    settings = runtime.settings()
    runtime.wiring.upgrade(settings)
    click.echo(f"Database schema is up to date: {redact_database_url(settings.database_url)}")


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--dry-run", is_flag=True, help="Fetch and count, but write nothing.")
@click.pass_context
@pass_runtime
def sync(runtime: Runtime, ctx: click.Context, as_json: bool, dry_run: bool) -> None:
    """Fetch the chats from UltraMsg and update contacts and conversations.

    `wa-manager sync history` lists the syncs run so far.
    """
    if ctx.invoked_subcommand is not None:
        return
    report = runtime.app().syncs.run(CLI, dry_run=dry_run)
    if as_json:
        echo_json(report)
    else:
        click.echo(sync_summary(report))


COMMANDS = (db, sync)
