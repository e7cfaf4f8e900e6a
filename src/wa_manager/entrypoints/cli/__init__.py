"""The ``wa-manager`` command line (Click); every command goes through ``bootstrap.App``.

Modules: ``root`` (the group, global options, error handling), ``runtime``
(settings, env file, the injectable ``Wiring``), ``errors`` (exit codes and
``error:`` lines), ``output`` (JSON and tables), and one module per command family:
``syncing``, ``accounts``, ``contacts``, ``identity`` (duplicates, merge), ``messages``,
``server``, ``instances``, ``instance_members`` (``instances members …``), ``extras``
(sync history, export, status).
"""

from __future__ import annotations

from wa_manager.entrypoints.cli import contacts, extras, identity, syncing
from wa_manager.entrypoints.cli.accounts import COMMANDS as ACCOUNT_COMMANDS
from wa_manager.entrypoints.cli.contacts import COMMANDS as CONTACT_COMMANDS
from wa_manager.entrypoints.cli.instance_members import members as instance_members
from wa_manager.entrypoints.cli.instances import COMMANDS as INSTANCE_COMMANDS
from wa_manager.entrypoints.cli.instances import instances
from wa_manager.entrypoints.cli.messages import COMMANDS as MESSAGE_COMMANDS
from wa_manager.entrypoints.cli.root import cli
from wa_manager.entrypoints.cli.runtime import Runtime, Wiring
from wa_manager.entrypoints.cli.server import COMMANDS as SERVER_COMMANDS
from wa_manager.entrypoints.cli.syncing import COMMANDS as SYNC_COMMANDS

for _command in (
    *SYNC_COMMANDS,
    *ACCOUNT_COMMANDS,
    *CONTACT_COMMANDS,
    *MESSAGE_COMMANDS,
    *SERVER_COMMANDS,
    *INSTANCE_COMMANDS,
):
    cli.add_command(_command)
syncing.sync.add_command(extras.history)
contacts.contacts.add_command(extras.export)
contacts.contacts.add_command(identity.duplicates)
contacts.contacts.add_command(identity.merge)
cli.add_command(extras.status)
instances.add_command(instance_members)


def main() -> None:
    """The console script ``wa-manager``."""
    cli.main(prog_name="wa-manager")


__all__ = ["Runtime", "Wiring", "cli", "main"]
