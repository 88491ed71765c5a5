"""The `receptionist` command line: one console script, subcommands as the contract lists them.

One module per family of commands; each registers its commands on the group in `base` when imported here.
"""

from receptionist.cli import (  # noqa: F401 - registers the commands
    accounts,
    asap,
    calls,
    campaigns,
    patients,
    processes,
    recall,
    stats,
    sync,
)
from receptionist.cli.base import UserError, cli, main

__all__ = ["UserError", "cli", "main"]
