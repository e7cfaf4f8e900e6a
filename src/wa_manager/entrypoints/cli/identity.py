"""``wa-manager contacts duplicates`` and ``contacts merge``: one person, one contact."""

from __future__ import annotations

import click

from wa_manager.domain.model import CLI
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.cli.output import echo_json, echo_table
from wa_manager.entrypoints.cli.runtime import Runtime, pass_runtime


@click.command("duplicates")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_runtime
def duplicates(runtime: Runtime, as_json: bool) -> None:
    """Pairs of contacts of one number that are likely one person, and why."""
    found = runtime.app().identities.duplicates(CLI)
    if as_json:
        echo_json([shapes.Duplicate.of(item) for item in found])
        return
    echo_table(
        ("ID", "NAME", "WA_ID", "ID", "NAME", "WA_ID", "REASON"),
        (
            (
                item.first.id,
                item.first.name,
                item.first.wa_id,
                item.second.id,
                item.second.name,
                item.second.wa_id,
                item.pair.reason,
            )
            for item in found
        ),
        empty="No possible duplicates.",
    )


@click.command("merge")
@click.argument("contact_id", metavar="ID", type=click.IntRange(min=1))
@click.argument("into_id", metavar="INTO_ID", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the surviving contact as JSON.")
@pass_runtime
def merge(runtime: Runtime, contact_id: int, into_id: int, as_json: bool) -> None:
    """Merge contact ID into contact INTO_ID (same number): INTO_ID stays, with both
    contacts' links, team links, messages and history; ID's chat id becomes an alias of
    it, and whoever could see either contact sees it."""
    survivor = runtime.app().identities.merge(CLI, contact_id, into_id)
    if as_json:
        echo_json(shapes.Contact.of(survivor))
        return
    click.echo(f"Merged contact {contact_id} into {survivor.id} ({survivor.wa_id})")
