"""The ``wa-manager`` command group: global options and error handling.

Run-time errors are caught in ``WaManagerGroup.invoke`` (where ``--debug`` and
the secrets are known) and Click's own usage errors in ``WaManagerGroup.main``;
both are reported through ``errors.report`` — the one place that maps errors to
exit codes and ``error: …`` lines.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from wa_manager import __version__
from wa_manager.entrypoints.cli import errors
from wa_manager.entrypoints.cli.runtime import Runtime


class WaManagerGroup(click.Group):
    """A Click group whose errors are one ``error: …`` line and a contract exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn any non-Click exception into its exit code."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise  # Click's own, and a closed pipe (`wa-manager ... | head`), Click handles
        except Exception as error:
            runtime = ctx.obj if isinstance(ctx.obj, Runtime) else None
            code = errors.report(
                error,
                debug=bool(ctx.params.get("debug")),
                secrets=runtime.secrets() if runtime is not None else (),
            )
            raise click.exceptions.Exit(code) from error

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's ``main``, with usage errors reported as one ``error:`` line."""
        prog_name = prog_name or "wa-manager"
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as error:
            sys.exit(errors.report(error, debug=False))
        except click.Abort:
            click.echo("error: interrupted", err=True)
            sys.exit(errors.EXIT_FAILURE)
        sys.exit(result if isinstance(result, int) else errors.EXIT_OK)


@click.group(cls=WaManagerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--env-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read KEY=VALUE lines from this file; the environment wins over it.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and wa-manager's debug log.")
@click.version_option(__version__, "--version", prog_name="wa-manager")
@click.pass_context
def cli(ctx: click.Context, env_file: Path | None, debug: bool) -> None:
    """Sync WhatsApp chats from UltraMsg into contacts and conversations, and decide
    which team member may see which conversation.

    Configure it with environment variables (ULTRAMSG_INSTANCE_ID, ULTRAMSG_TOKEN,
    WA_MANAGER_DATABASE_URL, ...) or --env-file. Try `wa-manager demo` for a local
    tour that needs no UltraMsg account.
    """
    runtime = Runtime.from_obj(ctx.obj, env_file=env_file, debug=debug)
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)
    if debug:
        runtime.enable_debug_logging()
