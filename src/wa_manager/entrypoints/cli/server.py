"""``wa-manager serve`` and ``wa-manager demo``: the HTTP API and web UI, for real or as a tour."""

from __future__ import annotations

import secrets
import socket

import click

from wa_manager.bootstrap import App, add_demo_number, new_encryption_key
from wa_manager.config import DEFAULT_DATABASE_URL, parse_sync_every
from wa_manager.domain.errors import AlreadyExists, WaManagerError
from wa_manager.domain.model import CLI, Role
from wa_manager.entrypoints.cli.messages import fetch_all_history
from wa_manager.entrypoints.cli.output import echo_table, sync_summary, user_names
from wa_manager.entrypoints.cli.runtime import (
    DEFAULT_REQUEST_TIMEOUT,
    Runtime,
    ServerOptions,
    pass_runtime,
)
from wa_manager.entrypoints.cli.syncing import redact_database_url
from wa_manager.redaction import WEBHOOK_PREFIX
from wa_manager.services.messages import DEFAULT_HISTORY_LIMIT

LOOPBACK = "127.0.0.1"
DEFAULT_SERVER_OPTIONS = ServerOptions()
DEMO_INSTANCE_ID = "instance12345"
DEMO_SUPPORT_ID = "instance67890"  # the demo's second number: the shop's repair hotline
DEMO_SUPPORT_LABEL = "Repair hotline"
DEMO_ADMIN = "admin"
DEMO_USER = "maria"
DEMO_LINKS = 3
DEMO_INBOUND_EVERY = (20.0, 40.0)

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


def serve_app(
    runtime: Runtime,
    app: App,
    *,
    host: str,
    port: int,
    options: ServerOptions = DEFAULT_SERVER_OPTIONS,
) -> None:
    """Run the HTTP API and web UI for ``app`` until interrupted."""
    from wa_manager.entrypoints.http.app import create_app

    check_port_free(host, port)
    mark_interrupted_syncs(app)
    asgi_app = create_app(app)
    runtime.wiring.run_server(asgi_app, host=host, port=port, options=options)


def mark_interrupted_syncs(app: App) -> None:
    """Syncs left ``running`` by a process that died are marked ``interrupted`` (a sync
    still running in a live process is left alone); say so when there were any."""
    marked = app.syncs.mark_interrupted(CLI)
    if marked:
        click.echo(
            f"note: {marked} sync(s) in the history were interrupted (their process "
            "stopped); see `wa-manager sync history`",
            err=True,
        )


def parse_forwarded_allow_ips(value: str | None) -> tuple[str, ...]:
    """``--forwarded-allow-ips``: comma-separated addresses or networks; ``*`` is refused
    (it would let every client choose its address)."""
    if not value:
        return ()
    import ipaddress

    entries = tuple(part.strip() for part in value.split(",") if part.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise click.BadParameter(
                "every entry must be an IP address or network (comma-separated); give "
                "your reverse proxy's address, e.g. 127.0.0.1 or 10.0.0.0/8",
                param_hint="--forwarded-allow-ips",
            ) from None
    return entries


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
    "--forwarded-allow-ips",
    metavar="ADDRESSES",
    envvar="WA_MANAGER_FORWARDED_ALLOW_IPS",
    help="Believe X-Forwarded-For/-Proto only from these comma-separated addresses or "
    "networks (your reverse proxy); default: from nobody. "
    "Env: WA_MANAGER_FORWARDED_ALLOW_IPS.",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(1, 3600),
    default=DEFAULT_REQUEST_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Close a connection whose request (headers and body) has not arrived in full "
    "within SECONDS.",
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
def serve(
    runtime: Runtime,
    host: str,
    port: int,
    sync_every: str | None,
    forwarded_allow_ips: str | None,
    request_timeout: float,
    workers: int,
) -> None:
    """Serve the HTTP API and the web UI (uvicorn) until Ctrl-C or SIGTERM.

    SIGTERM stops gracefully: no new connections, requests in flight finish (30 s
    at most), then exit 0. Session keys, sessions, the login throttle and the turn
    of the scheduled sync live in the database, so any number of processes can
    serve one PostgreSQL database behind a load balancer.
    """
    options = ServerOptions(
        forwarded_allow_ips=parse_forwarded_allow_ips(forwarded_allow_ips),
        request_timeout=request_timeout,
    )
    overrides: dict[str, float] = {}
    if sync_every is not None:
        overrides["sync_every_seconds"] = parse_sync_every("--sync-every", sync_every)
    app = runtime.build_app(runtime.settings(**overrides)) if overrides else runtime.app()
    check_port_free(host, port)
    warn_if_sqlite(app)
    if workers == 1:
        serve_app(runtime, app, host=host, port=port, options=options)
        return
    mark_interrupted_syncs(app)
    app.sessions.signing_key()  # made once here, not raced for by the workers
    environ = dict(runtime.environ())
    if sync_every is not None:
        environ["WA_MANAGER_SYNC_EVERY"] = sync_every
    runtime.close()
    runtime.wiring.run_workers(environ, host=host, port=port, workers=workers, options=options)


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


def store_demo_number(app: App, instance_id: str, token: str) -> str:
    """Store the demo's second number (or give it this run's token); its webhook path."""
    try:
        app.instances.add(CLI, instance_id, token, DEMO_SUPPORT_LABEL)
    except AlreadyExists:
        app.instances.set_token(CLI, instance_id, token)
    paths = {item.instance_id: item.webhook_path for item in app.instances.list(CLI)}
    path = paths[instance_id]
    assert path is not None
    return path


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
    """A local tour: a fake UltraMsg with a small shop's chats, demo logins, a sync with
    message history, and the web UI with live replies, ticks and incoming messages.

    Everything runs on 127.0.0.1; no UltraMsg account is needed. The data goes to
    WA_MANAGER_DATABASE_URL, or wa_manager.db in the current directory.
    """
    fake_token = secrets.token_urlsafe(24)
    webhook_secret = secrets.token_urlsafe(24)
    database_url = runtime.environ().get("WA_MANAGER_DATABASE_URL") or DEFAULT_DATABASE_URL
    if not no_serve:
        check_port_free(LOOPBACK, port)
        port = port or free_port(LOOPBACK)
    support_token = secrets.token_urlsafe(24)
    with runtime.wiring.demo_upstream(DEMO_INSTANCE_ID, fake_token) as fake:
        support = add_demo_number(fake, DEMO_SUPPORT_ID, support_token)
        settings = runtime.settings(
            instance_id=DEMO_INSTANCE_ID,
            token=fake_token,
            base_url=fake.base_url,
            database_url=database_url,
            webhook_secret=webhook_secret,
            encryption_key=runtime.environ().get("WA_MANAGER_ENCRYPTION_KEY")
            or new_encryption_key(),
        )
        runtime.wiring.upgrade(settings)
        app = runtime.build_app(settings)
        click.echo(f"Demo database: {redact_database_url(database_url)}")
        click.echo(f"Fake UltraMsg with a bike shop's chats at {fake.base_url}")
        click.echo("Logins:")
        print_login(DEMO_ADMIN, ensure_demo_user(app, DEMO_ADMIN, Role.ADMIN))
        print_login(DEMO_USER, ensure_demo_user(app, DEMO_USER, Role.USER))
        support_webhook = store_demo_number(app, DEMO_SUPPORT_ID, support_token)
        for outcome in app.syncs.run_all(CLI):
            if outcome.error is not None:
                raise outcome.error
            assert outcome.report is not None
            click.echo(sync_summary(outcome.report))
        fetch_all_history(app, limit=DEFAULT_HISTORY_LIMIT, show_progress=False)
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
        fake.post_webhooks_to(
            f"http://{LOOPBACK}:{port}{WEBHOOK_PREFIX}{webhook_secret}",
            inbound_every=DEMO_INBOUND_EVERY,
        )
        support.post_webhooks_to(f"http://{LOOPBACK}:{port}{support_webhook}", inbound_every=None)
        low, high = DEMO_INBOUND_EVERY
        click.echo("Live (the fake UltraMsg posts its webhooks to this app):")
        click.echo("  - a reply sent from a thread gets its ticks: sent, delivered, read")
        click.echo(f"  - a customer, supplier or teammate writes every {low:g}-{high:g} s")
        click.echo(f"Open {url} (Ctrl-C to stop)")
        serve_app(runtime, app, host=LOOPBACK, port=port)


def free_port(host: str) -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        chosen: int = probe.getsockname()[1]
        return chosen


COMMANDS = (serve, demo)
