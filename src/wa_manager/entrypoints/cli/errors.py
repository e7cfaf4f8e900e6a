"""The CLI's one place for errors: exit codes, the ``error: …`` line, secret scrubbing.

Exit codes (``docs/interface.md#exit-codes-and-error-lines``): 0 success; 1 failure at run time
(UltraMsg, database, a duplicate or unknown name, anything unexpected); 2 usage
or configuration (``ConfigError``, ``InvalidInput``, Click's usage errors).
A message is one line on stderr; a traceback only with ``--debug``; secrets are
scrubbed from both, however they got there.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable

import click

from wa_manager.domain.errors import ConfigError, InvalidInput, WaManagerError
from wa_manager.redaction import redact

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def exit_code_for(error: BaseException) -> int:
    """The exit code of an error: 2 for usage and configuration, 1 for everything else."""
    if isinstance(error, ConfigError | InvalidInput):
        return EXIT_USAGE
    if isinstance(error, click.ClickException):
        return error.exit_code
    return EXIT_FAILURE


def one_line(text: str) -> str:
    """Collapse a message to one line."""
    return " ".join(text.split())


def message_for(error: BaseException) -> str:
    """What went wrong, for the ``error:`` line."""
    if isinstance(error, WaManagerError):
        return error.message
    if isinstance(error, click.UsageError):
        hint = ""
        if error.ctx is not None:
            hint = f" (see `{error.ctx.command_path} --help`)"
        return error.format_message() + hint
    if isinstance(error, click.ClickException):
        return error.format_message()
    detail = str(error)
    kind = type(error).__name__
    return (
        f"unexpected {kind}: {detail}; run again with --debug for the traceback"
        if detail
        else f"unexpected {kind}; run again with --debug for the traceback"
    )


def report(error: BaseException, *, debug: bool, secrets: Iterable[str] = ()) -> int:
    """Print the ``error:`` line (and with ``debug`` the traceback) to stderr; return the code."""
    secrets = tuple(secrets)
    if debug and not isinstance(error, click.ClickException):
        formatted = "".join(traceback.format_exception(error))
        click.echo(redact(formatted, secrets).rstrip("\n"), err=True)
    click.echo(f"error: {redact(one_line(message_for(error)), secrets)}", err=True)
    return exit_code_for(error)
