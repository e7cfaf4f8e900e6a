"""``wa-manager contacts list``, ``links add|remove|list`` and
``conversations list|assign|status``."""

from __future__ import annotations

from collections.abc import Iterator

import click

from wa_manager.bootstrap import App
from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import CLI, Contact, User
from wa_manager.domain.times import iso_time
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.cli.output import echo_json, echo_table, user_names
from wa_manager.entrypoints.cli.runtime import Runtime, pass_runtime
from wa_manager.services.conversations import STATUSES, Assigned

PAGE_SIZE = 200
json_option = click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")


SOURCE_OPTION = click.option(
    "--source",
    metavar="INSTANCE_ID",
    help="Only those of this WhatsApp number (instance id, e.g. instance12345).",
)


def iter_contacts(
    app: App,
    *,
    search: str | None,
    limit: int | None,
    vanished: bool | None = None,
    source: str | None = None,
) -> Iterator[Contact]:
    """Contacts newest first, page after page, at most ``limit`` of them."""
    before_id: int | None = None
    remaining = limit
    while remaining is None or remaining > 0:
        size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining)
        page = app.contacts.page(
            CLI, search=search, limit=size, before_id=before_id, vanished=vanished, source=source
        )
        yield from page.items
        if remaining is not None:
            remaining -= len(page.items)
        if page.next_before_id is None:
            return
        before_id = page.next_before_id


@click.group()
def contacts() -> None:
    """The synced WhatsApp contacts."""


@contacts.command("list")
@click.option("--search", metavar="TEXT", help="Only contacts whose name, phone or wa_id has TEXT.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many (default: all).")
@click.option(
    "--vanished/--present",
    default=None,
    help="Only contacts gone from the chat list, or only present ones (default: all).",
)
@SOURCE_OPTION
@json_option
@pass_runtime
def list_contacts(
    runtime: Runtime,
    search: str | None,
    limit: int | None,
    vanished: bool | None,
    source: str | None,
    as_json: bool,
) -> None:
    """List contacts, newest first."""
    found = list(
        iter_contacts(runtime.app(), search=search, limit=limit, vanished=vanished, source=source)
    )
    if as_json:
        echo_json([shapes.Contact.of(contact) for contact in found])
        return
    names = runtime.app().accounts.usernames(CLI)
    echo_table(
        ("ID", "NAME", "PHONE", "KIND", "WA_ID", "NUMBER", "USERS"),
        (
            (c.id, c.name, c.phone, c.kind, c.wa_id, c.source, user_names(c.user_ids, names))
            for c in found
        ),
        empty="No contacts; run `wa-manager sync` first."
        if not (search or source)
        else f"No contact matches {search or source!r}.",
    )


@click.group()
def links() -> None:
    """Who may see which contact's conversation.

    CONTACT is a contact's id, its wa_id (4915112345678@c.us) or its phone in
    E.164 (+4915112345678).
    """


_TEAM_OPTION = click.option(
    "--team", metavar="TEAM", help="A team (name or id) instead of USERNAME: all its members."
)


def _change_link(
    runtime: Runtime, contact: str, username: str | None, team: str | None, *, add: bool
) -> None:
    """Link or unlink a user or (``--team``) a team, and say what happened."""
    if (username is None) == (team is None):
        raise click.UsageError("give either USERNAME or --team TEAM")
    contacts_ = runtime.app().contacts
    if team is not None:
        who = f"team {team}"
        changed = (contacts_.link_team if add else contacts_.unlink_team)(CLI, contact, team)
    else:
        assert username is not None
        who = username
        changed = (contacts_.link if add else contacts_.unlink)(CLI, contact, username)
    if add:
        click.echo(
            f"Linked {contact} to {who}" if changed else f"{contact} was already linked to {who}"
        )
    else:
        click.echo(
            f"Unlinked {contact} from {who}" if changed else f"{contact} was not linked to {who}"
        )


@links.command("add")
@click.argument("contact")
@click.argument("username", required=False)
@_TEAM_OPTION
@pass_runtime
def add_link(runtime: Runtime, contact: str, username: str | None, team: str | None) -> None:
    """Let USERNAME (or every member of --team) see CONTACT's conversation (idempotent)."""
    _change_link(runtime, contact, username, team, add=True)


@links.command("remove")
@click.argument("contact")
@click.argument("username", required=False)
@_TEAM_OPTION
@pass_runtime
def remove_link(runtime: Runtime, contact: str, username: str | None, team: str | None) -> None:
    """Stop USERNAME (or --team) seeing CONTACT's conversation (idempotent)."""
    _change_link(runtime, contact, username, team, add=False)


@links.command("list")
@json_option
@pass_runtime
def list_links(runtime: Runtime, as_json: bool) -> None:
    """List every link between a contact and a user."""
    found = runtime.app().contacts.links(CLI)
    if as_json:
        echo_json([shapes.Link.of(*row) for row in found])
        return
    echo_table(
        ("CONTACT_ID", "WA_ID", "NAME", "USERNAME"),
        (
            (link.contact_id, contact.wa_id, contact.name, user.username)
            for link, contact, user in found
        ),
        empty="No links yet; add one with `wa-manager links add CONTACT USERNAME`.",
    )


@click.group()
def conversations() -> None:
    """Conversations, as a given user sees them."""


def _assigned_filter(app: App, viewer: User, assigned: str | None) -> Assigned:
    """``--assigned``: me, none, or a username (as a user id)."""
    if assigned is None or assigned in ("me", "none"):
        return assigned  # type: ignore[return-value]
    return app.accounts.user(CLI, assigned).id


@conversations.command("list")
@click.option("--as", "username", required=True, metavar="USERNAME", help="The viewing user.")
@click.option("--status", type=click.Choice(STATUSES), help="Only conversations with this status.")
@click.option(
    "--assigned",
    metavar="me|none|USERNAME",
    help="Only those assigned to the viewer (me), to nobody (none), or to USERNAME.",
)
@SOURCE_OPTION
@json_option
@pass_runtime
def list_conversations(
    runtime: Runtime,
    username: str,
    status: str | None,
    assigned: str | None,
    source: str | None,
    as_json: bool,
) -> None:
    """List what USERNAME may see (admins everything, users their linked contacts),
    by last activity, newest first."""
    app = runtime.app()
    viewer = app.accounts.user(CLI, username)
    found = app.conversations.all(
        viewer, status=status, assigned=_assigned_filter(app, viewer, assigned), source=source
    )
    if as_json:
        echo_json([shapes.Conversation.of(conversation) for conversation in found])
        return
    names = app.accounts.usernames(CLI)
    echo_table(
        ("ID", "CONTACT", "PHONE", "STATUS", "ASSIGNED", "LAST_ACTIVITY", "NUMBER"),
        (
            (
                c.id,
                c.contact.name,
                c.contact.phone or c.contact.wa_id,
                c.status,
                names.get(c.assigned_user_id) if c.assigned_user_id is not None else None,
                iso_time(c.activity_at),
                c.contact.source,
            )
            for c in found
        ),
        empty=f"{username} sees no conversations"
        + (" that match." if status or assigned or source else "."),
    )


@conversations.command("assign")
@click.argument("conversation_id", type=click.IntRange(min=1))
@click.argument("assignee", required=False, metavar="USERNAME")
@click.option("--none", "nobody", is_flag=True, help="Assign it to nobody.")
@click.option("--as", "username", required=True, metavar="USERNAME", help="Who is acting.")
@json_option
@pass_runtime
def assign_conversation(
    runtime: Runtime,
    conversation_id: int,
    assignee: str | None,
    nobody: bool,
    username: str,
    as_json: bool,
) -> None:
    """Give CONVERSATION_ID to USERNAME (or to nobody with --none), acting as --as.

    A user may take a conversation or give it up; only an admin may give it to
    someone else. The assignee must be allowed to see it (link them first).
    """
    if (assignee is None) == (not nobody):
        raise InvalidInput("give the assignee's USERNAME or --none (not both)")
    app = runtime.app()
    actor = app.accounts.user(CLI, username)
    target = None if nobody else app.accounts.user(CLI, str(assignee)).id
    conversation = app.conversations.assign(actor, conversation_id, target)
    if as_json:
        echo_json(shapes.Conversation.of(conversation))
        return
    click.echo(
        f"Conversation {conversation_id} is assigned to {assignee}"
        if target is not None
        else f"Conversation {conversation_id} is assigned to nobody"
    )


@conversations.command("status")
@click.argument("conversation_id", type=click.IntRange(min=1))
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--as", "username", required=True, metavar="USERNAME", help="Who is acting.")
@json_option
@pass_runtime
def set_conversation_status(
    runtime: Runtime, conversation_id: int, status: str, username: str, as_json: bool
) -> None:
    """Set CONVERSATION_ID's status (active, pending, resolved), acting as --as."""
    app = runtime.app()
    actor = app.accounts.user(CLI, username)
    conversation = app.conversations.set_status(actor, conversation_id, status)
    if as_json:
        echo_json(shapes.Conversation.of(conversation))
        return
    click.echo(f"Conversation {conversation_id} is {conversation.status}")


COMMANDS = (contacts, links, conversations)
