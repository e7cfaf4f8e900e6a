"""``wa-manager db upgrade`` and ``wa-manager sync``."""

from __future__ import annotations

import re

import click

from wa_manager.domain.model import CLI
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.cli.errors import EXIT_FAILURE, message_for, one_line
from wa_manager.entrypoints.cli.output import echo_json, sync_summary
from wa_manager.entrypoints.cli.runtime import Runtime, pass_runtime
from wa_manager.redaction import redact

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
@click.option("--instance", metavar="ID", help="Sync this instance only (default: every one).")
@click.pass_context
@pass_runtime
def sync(
    runtime: Runtime, ctx: click.Context, as_json: bool, dry_run: bool, instance: str | None
) -> None:
    """Fetch the chats from UltraMsg and update contacts and conversations, for every
    configured WhatsApp number (or --instance), one after the other.

    With several, one failing does not stop the others; the exit code is 1 if any
    failed, and --json prints {"reports": [...]}. `wa-manager sync history` lists the
    syncs run so far.
    """
    if ctx.invoked_subcommand is not None:
        return
    syncs = runtime.app().syncs
    targets = syncs.targets(CLI, instance)
    if len(targets) == 1:
        report = syncs.run(CLI, dry_run=dry_run, instance=targets[0])
        if as_json:
            echo_json(report)
        else:
            click.echo(sync_summary(report))
        return
    outcomes = syncs.run_all(CLI, dry_run=dry_run, instances=targets)
    if as_json:
        echo_json(shapes.SyncReports.of(outcomes))
    for outcome in outcomes:
        if outcome.report is not None and not as_json:
            click.echo(sync_summary(outcome.report))
        elif outcome.error is not None:
            message = one_line(message_for(outcome.error))
            click.echo(
                f"error: {outcome.instance_id}: {redact(message, runtime.secrets())}", err=True
            )
    if any(outcome.error is not None for outcome in outcomes):
        raise click.exceptions.Exit(EXIT_FAILURE)


COMMANDS = (db, sync)
