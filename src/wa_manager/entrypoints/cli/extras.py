"""``wa-manager sync history``, ``contacts export`` and ``status``.

``history``, ``export`` and ``status`` are attached by the package to the
``sync`` group, the ``contacts`` group and the top level.
"""

from __future__ import annotations

from typing import IO

import click

from wa_manager.domain.model import CLI
from wa_manager.domain.times import iso_time
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.cli.contacts import SOURCE_OPTION
from wa_manager.entrypoints.cli.output import echo_json, echo_table
from wa_manager.entrypoints.cli.runtime import Runtime, pass_runtime
from wa_manager.services.status import InstanceStatus

EXIT_NOT_CONNECTED = 1


@click.command("history")
@click.option(
    "--limit", type=click.IntRange(1, 200), default=20, show_default=True, help="How many."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_runtime
def history(runtime: Runtime, limit: int, as_json: bool) -> None:
    """List recorded syncs, newest first: trigger, who, when, counts or error."""
    app = runtime.app()
    runs = app.syncs.history(CLI, limit=limit).items
    names = app.accounts.usernames(CLI)
    if as_json:
        echo_json([shapes.SyncRun.of(run, names) for run in runs])
        return
    echo_table(
        (
            "ID",
            "STARTED",
            "TRIGGER",
            "WHO",
            "STATE",
            "FETCHED",
            "NEW",
            "RENAMED",
            "SKIPPED",
            "ERROR",
        ),
        (
            (
                run.id,
                iso_time(run.started_at),
                run.trigger,
                names.get(run.actor_id or 0),
                run.state,
                run.report.fetched if run.report else None,
                run.report.created_contacts if run.report else None,
                run.report.updated_contacts if run.report else None,
                run.report.skipped if run.report else None,
                run.error,
            )
            for run in runs
        ),
        empty="No syncs yet; run `wa-manager sync`.",
    )


@click.command("export")
@click.option(
    "--output",
    "-o",
    type=click.File("w", encoding="utf-8", lazy=True),
    default="-",
    help="Write to this file instead of stdout.",
)
@click.option("--bom", is_flag=True, help="Start with a UTF-8 byte order mark (for Excel).")
@click.option("--search", metavar="TEXT", help="Only contacts whose name, phone or wa_id has TEXT.")
@click.option(
    "--vanished/--present",
    default=None,
    help="Only contacts gone from the chat list, or only present ones (default: all).",
)
@SOURCE_OPTION
@pass_runtime
def export(
    runtime: Runtime,
    output: IO[str],
    bom: bool,
    search: str | None,
    vanished: bool | None,
    source: str | None,
) -> None:
    """Write every contact as CSV (UTF-8, spreadsheet-safe), streamed page by page.

    Cells that a spreadsheet would run as a formula (starting with = + - @, a tab
    or a carriage return) get a leading ' so they stay text.
    """
    chunks = runtime.app().contacts.export_csv(
        CLI, search=search, vanished=vanished, bom=bom, source=source
    )
    for chunk in chunks:
        output.write(chunk)
    output.flush()


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_runtime
def status(runtime: Runtime, as_json: bool) -> None:
    """Say whether each UltraMsg instance is connected, and when the last sync ran.

    Exits 0 when every instance is connected, 1 when one is not (or UltraMsg fails),
    2 when none is configured. With several instances, the JSON's top-level keys are
    the first (default) instance's and "instances" lists every one.
    """
    app = runtime.app()
    answers = app.syncs.instance_statuses(CLI)
    if len(answers) == 1 and not isinstance(answers[0], InstanceStatus):
        assert answers[0].error is not None
        raise answers[0].error  # one instance: its error, as before
    entries = [shapes.InstanceStatusEntry.of(answer) for answer in answers]
    last = app.syncs.last(CLI)
    if as_json:
        names = app.accounts.usernames(CLI)
        first = answers[0]
        report = shapes.StatusReport.with_last_sync(
            first if isinstance(first, InstanceStatus) else InstanceStatus(first.instance_id, None),
            last,
            names,
        )
        if len(entries) > 1:
            report.instances = entries
            report.explanation = entries[0].explanation
        echo_json(report)
    else:
        for entry in entries:
            mark = "connected" if entry.connected else "NOT connected"
            click.echo(f"UltraMsg {entry.instance_id}: {mark} ({entry.status or 'unknown'})")
            click.echo(f"  {entry.explanation}")
        if last is None:
            click.echo("Last sync: never; run `wa-manager sync`")
        else:
            outcome = f"failed: {last.error}" if last.error else "ok"
            of = f" of {last.instance_id}" if len(entries) > 1 else ""
            click.echo(f"Last sync: {iso_time(last.started_at)}{of} ({last.trigger}), {outcome}")
    if not all(entry.connected for entry in entries):
        raise click.exceptions.Exit(EXIT_NOT_CONNECTED)
