"""What one CLI invocation works with: settings (environment + ``--env-file``) and the App.

``Wiring`` says how the CLI builds things: ``bootstrap`` and ``upgrade_database``
by default. Tests hand their own to Click (``runner.invoke(cli, args, obj=Wiring(...))``
or just an app factory as ``obj``) instead of patching anything.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import click
from attrs import define, field, frozen
from dotenv import dotenv_values
from dotenv.parser import parse_stream

from wa_manager.bootstrap import (
    App,
    DemoUpstream,
    bootstrap,
    start_demo_upstream,
    upgrade_database,
)
from wa_manager.config import Settings
from wa_manager.domain.errors import ConfigError
from wa_manager.redaction import RedactingFilter

AppFactory = Callable[[Settings], App]
SECRET_VARIABLES = (
    "ULTRAMSG_TOKEN",
    "WA_MANAGER_SECRET_KEY",
    "WA_MANAGER_WEBHOOK_SECRET",
    "WA_MANAGER_ENCRYPTION_KEY",
)


DEFAULT_REQUEST_TIMEOUT = 30.0


@frozen
class ServerOptions:
    """uvicorn's limits for ``serve``; the defaults are the documented ones."""

    forwarded_allow_ips: tuple[str, ...] = ()  # believe X-Forwarded-* from these only
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT  # seconds for a whole request to arrive
    keep_alive_timeout: int = 5  # seconds an idle connection stays open between requests
    limit_concurrency: int = 1000  # connections and tasks at once, then 503


class ServerRunner(Protocol):
    """Runs an ASGI app until interrupted (uvicorn in production, ``serving``)."""

    def __call__(self, asgi_app: Any, *, host: str, port: int, options: ServerOptions) -> None: ...


def run_with_uvicorn(asgi_app: Any, *, host: str, port: int, options: ServerOptions) -> None:
    """Serve ``asgi_app`` with uvicorn, limited by ``options``, until Ctrl-C or SIGTERM
    (then gracefully, exit 0; ``serving``)."""
    from wa_manager.entrypoints.cli.serving import serve_with_uvicorn

    serve_with_uvicorn(asgi_app, host=host, port=port, options=options)


class WorkersRunner(Protocol):
    """Runs N worker processes, each building the app from ``environ`` (uvicorn)."""

    def __call__(
        self,
        environ: Mapping[str, str],
        *,
        host: str,
        port: int,
        workers: int,
        options: ServerOptions,
    ) -> None: ...


def run_uvicorn_workers(
    environ: Mapping[str, str], *, host: str, port: int, workers: int, options: ServerOptions
) -> None:
    """``workers`` uvicorn worker processes behind one socket (``serving``)."""
    from wa_manager.entrypoints.cli.serving import serve_workers

    serve_workers(environ, host=host, port=port, workers=workers, options=options)


@define
class Wiring:
    """How the CLI builds its App, migrates the database, runs a server and, for the demo,
    a local UltraMsg."""

    app_factory: AppFactory = bootstrap
    upgrade: Callable[[Settings], None] = upgrade_database
    run_server: ServerRunner = run_with_uvicorn
    run_workers: WorkersRunner = run_uvicorn_workers
    demo_upstream: Callable[[str, str], DemoUpstream] = start_demo_upstream


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of a dotenv file, read by python-dotenv.

    ``KEY=VALUE`` lines; blank lines, ``# comments`` (also after an unquoted value),
    ``export`` prefixes and quoted values are allowed. Values are taken literally
    (no ``${VAR}`` expansion). A line that is not ``KEY=VALUE`` is a ``ConfigError``
    naming the line, never its content (it may be a secret pasted on its own).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the env file {path}: {error}") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or (binding.key is not None and binding.value is None):
            raise ConfigError(f"{path}, line {binding.original.line}: expected KEY=VALUE")
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {key: value for key, value in values.items() if value is not None}


@define
class Runtime:
    """Settings and App of one invocation, built on first use and closed at the end."""

    wiring: Wiring
    env_file: Path | None = None
    debug: bool = False
    _environ: dict[str, str] | None = field(default=None, init=False)
    _settings: Settings | None = field(default=None, init=False)
    _app: App | None = field(default=None, init=False)
    _log_handler: logging.Handler | None = field(default=None, init=False)

    @classmethod
    def from_obj(cls, obj: object, *, env_file: Path | None, debug: bool) -> Runtime:
        """A runtime for Click's ``obj``: a ``Wiring``, an app factory, or None (production)."""
        if isinstance(obj, Wiring):
            wiring = obj
        elif callable(obj):
            wiring = Wiring(app_factory=obj)
        else:
            wiring = Wiring()
        return cls(wiring, env_file, debug)

    def environ(self) -> Mapping[str, str]:
        """The process environment, with the env file filling what it does not set."""
        if self._environ is None:
            from_file = read_env_file(self.env_file) if self.env_file is not None else {}
            self._environ = {**from_file, **os.environ}
        return self._environ

    def settings(self, **overrides: Any) -> Settings:
        """The settings of this invocation (``overrides`` give a one-off variant)."""
        if overrides:
            return Settings.from_env(self.environ(), **overrides)
        if self._settings is None:
            self._settings = Settings.from_env(self.environ())
        return self._settings

    def app(self) -> App:
        """The App for these settings, built once."""
        if self._app is None:
            self._app = self.wiring.app_factory(self.settings())
        return self._app

    def build_app(self, settings: Settings) -> App:
        """Another App, for other settings (the demo's); closed with this runtime."""
        if self._app is not None:
            self._app.close()
        self._app = self.wiring.app_factory(settings)
        return self._app

    def secrets(self) -> Iterator[str]:
        """Every secret value this invocation might know, for scrubbing output."""
        sources: list[Mapping[str, str]] = [os.environ]
        if self._environ is not None:
            sources.append(self._environ)
        for source in sources:
            for name in SECRET_VARIABLES:
                if value := source.get(name):
                    yield value
        for settings in (self._settings, self._app.settings if self._app else None):
            if settings is None:
                continue
            for secret in (
                settings.token,
                settings.secret_key,
                settings.webhook_secret,
                settings.encryption_key,
            ):
                if secret:
                    yield secret.get()

    def enable_debug_logging(self) -> None:
        """Send wa-manager's own log records to stderr, secrets scrubbed."""
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter(self.secrets))
        logger = logging.getLogger("wa_manager")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        self._log_handler = handler

    def close(self) -> None:
        """Release the App's database connections (and the debug log handler)."""
        if self._log_handler is not None:
            logger = logging.getLogger("wa_manager")
            logger.removeHandler(self._log_handler)
            logger.setLevel(logging.NOTSET)
            self._log_handler = None
        if self._app is not None:
            self._app.close()
            self._app = None


pass_runtime = click.make_pass_decorator(Runtime)
