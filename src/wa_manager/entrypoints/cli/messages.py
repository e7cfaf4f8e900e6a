"""``wa-manager messages list|send|history``: read and answer conversations from the shell.

``list`` and ``send`` act as the user named by ``--as`` (what they may see is what
they may read and answer); ``history`` fetches the latest messages of one
conversation, or of all of them (``--all``, a few at a time, with a progress bar
on a terminal), as the system.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor, as_completed

import click

from wa_manager.bootstrap import App
from wa_manager.domain.errors import InvalidInput, WaManagerError
from wa_manager.domain.messages import MAX_HISTORY_LIMIT
from wa_manager.domain.model import CLI, Message
from wa_manager.domain.times import iso_time
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.cli.output import echo_json, echo_table
from wa_manager.entrypoints.cli.runtime import Runtime, pass_runtime
from wa_manager.services.contacts import MAX_PAGE_SIZE
from wa_manager.services.messages import DEFAULT_HISTORY_LIMIT

HISTORY_WORKERS = 4
EXIT_SOME_FAILED = 1

as_option = click.option("--as", "username", required=True, metavar="USERNAME", help="Act as.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _who(message: Message) -> str:
    if message.direction == "in":
        return message.sender_name or message.author or "them"
    return "phone" if message.sent_by_user_id is None else f"user {message.sent_by_user_id}"


@click.group()
def messages() -> None:
    """Read and answer conversations."""


@messages.command("list")
@click.argument("conversation_id", type=click.IntRange(min=1))
@as_option
@click.option(
    "--limit", type=click.IntRange(1, MAX_PAGE_SIZE), default=50, show_default=True,
    help="How many of the newest.",
)  # fmt: skip
@json_option
@pass_runtime
def list_messages(
    runtime: Runtime, conversation_id: int, username: str, limit: int, as_json: bool
) -> None:
    """List CONVERSATION_ID's newest messages as USERNAME may see them (oldest at the top)."""
    app = runtime.app()
    viewer = app.accounts.user(CLI, username)
    page = app.messages(viewer, conversation_id, limit=limit)
    if as_json:
        echo_json([shapes.Message.of(message) for message in page.items])
        return
    echo_table(
        ("ID", "TIME", "DIR", "FROM", "STATUS", "TEXT"),
        (
            (m.id, iso_time(m.created_at), m.direction, _who(m), m.status, m.body or m.media_url)
            for m in reversed(page.items)
        ),
        empty="No messages yet; `wa-manager messages history ID` fetches them from UltraMsg.",
    )


@messages.command("send")
@click.argument("conversation_id", type=click.IntRange(min=1))
@as_option
@click.option("--body", metavar="TEXT", help="The text; without it, stdin is read.")
@json_option
@pass_runtime
def send_message(
    runtime: Runtime, conversation_id: int, username: str, body: str | None, as_json: bool
) -> None:
    """Reply in CONVERSATION_ID as USERNAME (the text from --body or stdin)."""
    if body is None:
        if sys.stdin.isatty():
            raise InvalidInput("give the text with --body TEXT, or pipe it into stdin")
        body = sys.stdin.read()
    app = runtime.app()
    sender = app.accounts.user(CLI, username)
    message = app.send_message(sender, conversation_id, body)
    if as_json:
        echo_json(shapes.Message.of(message))
    else:
        click.echo(
            f"Sent message {message.id} to conversation {conversation_id} ({message.status})"
        )


@messages.command("history")
@click.argument("conversation_id", type=click.IntRange(min=1), required=False)
@click.option("--all", "every", is_flag=True, help="Every conversation, a few at a time.")
@click.option(
    "--limit", type=click.IntRange(1, MAX_HISTORY_LIMIT), default=DEFAULT_HISTORY_LIMIT,
    show_default=True, help="How many of each chat's latest messages.",
)  # fmt: skip
@pass_runtime
def fetch_history(runtime: Runtime, conversation_id: int | None, every: bool, limit: int) -> None:
    """Fetch the latest messages of CONVERSATION_ID (or --all) from UltraMsg."""
    if (conversation_id is None) == (not every):
        raise InvalidInput("give a CONVERSATION_ID or --all (not both)")
    app = runtime.app()
    if conversation_id is not None:
        result = app.messaging.fetch_history(CLI, conversation_id, limit=limit)
        click.echo(f"Fetched {result.fetched} messages, {result.created} new")
        return
    failed = fetch_all_history(app, limit=limit, show_progress=sys.stderr.isatty())
    if failed:
        raise click.exceptions.Exit(EXIT_SOME_FAILED)


def fetch_all_history(app: App, *, limit: int, show_progress: bool) -> int:
    """History for every conversation, ``HISTORY_WORKERS`` at a time; returns how many
    failed (each named on stderr) after printing the totals."""
    ids = [conversation.id for conversation in app.conversations.all(CLI)]
    fetched = created = failed = 0
    with (
        ThreadPoolExecutor(max_workers=HISTORY_WORKERS) as pool,
        click.progressbar(
            length=len(ids), label="Fetching history", file=sys.stderr, hidden=not show_progress
        ) as progress,
    ):
        futures = {
            pool.submit(app.messaging.fetch_history, CLI, cid, limit=limit): cid for cid in ids
        }
        for future in as_completed(futures):
            progress.update(1)
            try:
                result = future.result()
            except WaManagerError as error:
                failed += 1
                click.echo(f"error: conversation {futures[future]}: {error}", err=True)
                continue
            fetched += result.fetched
            created += result.created
    click.echo(
        f"Fetched {fetched} messages of {len(ids)} conversations, {created} new"
        + (f", {failed} failed" if failed else "")
    )
    return failed


COMMANDS = (messages,)
