"""``wa-manager serve`` and ``wa-manager demo``: the HTTP API and web UI, for real or as a tour."""

from __future__ import annotations

import secrets
import socket

import click

from wa_manager.bootstrap import App
from wa_manager.config import DEFAULT_DATABASE_URL, parse_sync_every
from wa_manager.domain.errors import AlreadyExists, WaManagerError
from wa_manager.domain.model import CLI, Role
from wa_manager.entrypoints.cli.output import echo_table, sync_summary, user_names
from wa_manager.entrypoints.cli.runtime import Runtime, pass_runtime
from wa_manager.entrypoints.cli.syncing import redact_database_url

LOOPBACK = "127.0.0.1"
DEMO_INSTANCE_ID = "instance12345"
DEMO_ADMIN = "admin"
DEMO_USER = "maria"
DEMO_LINKS = 3

port_option = click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port."
)


def warn_if_sqlite(app: App) -> None:
    """SQLite serves one process: say so when ``serve`` runs on it."""
    if app.settings.database_url.startswith("sqlite"):
        click.echo(
            "warning: the database is SQLite, which serves one process on one machine; "
            "to run several `wa-manager serve` processes, use PostgreSQL "
            "(README: Running several processes)",
            err=True,
        )


def check_port_free(host: str, port: int) -> None:
    """Fail with one clear line (not a server log) when ``host:port`` cannot be bound."""
    if port == 0:
        return
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        raise WaManagerError(
            f"cannot listen on {host}:{port} ({error.strerror or error}); "
            "pick another with --port, or stop what is using it"
        ) from None


def serve_app(runtime: Runtime, app: App, *, host: str, port: int) -> None:
    """Run the HTTP API and web UI for ``app`` until interrupted."""
    from wa_manager.entrypoints.http.app import create_app

    check_port_free(host, port)

    asgi_app = create_app(app)
    runtime.wiring.run_server(asgi_app, host=host, port=port)


@click.command()
@click.option("--host", default=LOOPBACK, show_default=True, help="Interface to listen on.")
@port_option
@click.option(
    "--sync-every",
    metavar="DURATION",
    help="Also sync in the background every DURATION (90s, 15m, 1h); "
    "default: WA_MANAGER_SYNC_EVERY, else never.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes (uvicorn) sharing the port; they share all state "
    "through the database (use PostgreSQL).",
)
@pass_runtime
def serve(runtime: Runtime, host: str, port: int, sync_every: str | None, workers: int) -> None:
    """Serve the HTTP API and the web UI (uvicorn) until Ctrl-C or SIGTERM.

    SIGTERM stops gracefully: no new connections, requests in flight finish (30 s
    at most), then exit 0. Session keys, sessions, the login throttle and the turn
    of the scheduled sync live in the database, so any number of processes can
    serve one PostgreSQL database behind a load balancer.
    """
    overrides: dict[str, float] = {}
    if sync_every is not None:
        overrides["sync_every_seconds"] = parse_sync_every("--sync-every", sync_every)
    app = runtime.build_app(runtime.settings(**overrides)) if overrides else runtime.app()
    check_port_free(host, port)
    warn_if_sqlite(app)
    if workers == 1:
        serve_app(runtime, app, host=host, port=port)
        return
    app.sessions.signing_key()  # made once here, not raced for by the workers
    environ = dict(runtime.environ())
    if sync_every is not None:
        environ["WA_MANAGER_SYNC_EVERY"] = sync_every
    runtime.close()
    runtime.wiring.run_workers(environ, host=host, port=port, workers=workers)


def ensure_demo_user(app: App, username: str, role: Role) -> str | None:
    """Create ``username`` with a fresh password and return it; None if it existed already."""
    password = secrets.token_urlsafe(12)
    try:
        app.accounts.add_user(CLI, username, role, password)
    except AlreadyExists:
        return None
    return password


def print_login(username: str, password: str | None) -> None:
    """The login of a demo user: its password once, when it was just created."""
    if password is None:
        click.echo(
            f"  {username}: exists already, password unchanged "
            "(delete the demo database for new ones)"
        )
    else:
        click.echo(f"  {username} / {password}   (shown only this once)")


def link_demo_contacts(app: App, username: str) -> None:
    """Link the first few person contacts to ``username`` so they see something."""
    people = [c for c in app.contacts.page(CLI, limit=200).items if c.kind == "person" and c.phone]
    for contact in sorted(people, key=lambda c: c.id)[:DEMO_LINKS]:
        app.contacts.link(CLI, str(contact.id), username)


@click.command()
@port_option
@click.option("--no-serve", is_flag=True, help="Stop after the sync instead of serving.")
@pass_runtime
def demo(runtime: Runtime, port: int, no_serve: bool) -> None:
    """A local tour: a fake UltraMsg with sample chats, demo logins, a sync, and the web UI.

    Everything runs on 127.0.0.1; no UltraMsg account is needed. The data goes to
    WA_MANAGER_DATABASE_URL, or wa_manager.db in the current directory.
    """
    fake_token = secrets.token_urlsafe(24)
    database_url = runtime.environ().get("WA_MANAGER_DATABASE_URL") or DEFAULT_DATABASE_URL
    with runtime.wiring.demo_upstream(DEMO_INSTANCE_ID, fake_token) as fake:
        settings = runtime.settings(
            instance_id=DEMO_INSTANCE_ID,
            token=fake_token,
            base_url=fake.base_url,
            database_url=database_url,
        )
        runtime.wiring.upgrade(settings)
        app = runtime.build_app(settings)
        click.echo(f"Demo database: {redact_database_url(database_url)}")
        click.echo(f"Fake UltraMsg with sample chats at {fake.base_url}")
        click.echo("Logins:")
        print_login(DEMO_ADMIN, ensure_demo_user(app, DEMO_ADMIN, Role.ADMIN))
        print_login(DEMO_USER, ensure_demo_user(app, DEMO_USER, Role.USER))
        click.echo(sync_summary(app.syncs.run(CLI)))
        link_demo_contacts(app, DEMO_USER)
        names = app.accounts.usernames(CLI)
        echo_table(
            ("ID", "NAME", "PHONE", "KIND", "USERS"),
            (
                (c.id, c.name, c.phone, c.kind, user_names(c.user_ids, names))
                for c in app.contacts.page(CLI, limit=200).items
            ),
            empty="No contacts.",
        )
        url = f"http://{LOOPBACK}:{port}/login"
        if no_serve:
            click.echo(f"Done. `wa-manager demo` without --no-serve serves the web UI at {url}")
            return
        click.echo(f"Open {url} (Ctrl-C to stop)")
        serve_app(runtime, app, host=LOOPBACK, port=port)


COMMANDS = (serve, demo)
