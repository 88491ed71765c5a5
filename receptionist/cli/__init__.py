"""The `receptionist` command line: one console script, subcommands as the contract lists them.

One module per family of commands; each registers its commands on the group in `base` when imported here.
"""

from receptionist.cli import accounts, asap, calls, campaigns, patients, processes, stats, sync  # noqa: F401 - registers the commands
from receptionist.cli.base import UserError, cli, main

__all__ = ["UserError", "cli", "main"]
