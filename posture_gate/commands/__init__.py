"""The command groups, one module each. cli.py attaches COMMANDS to the root group, whose
error and signal boundary covers every one of them."""

from __future__ import annotations

import click

from . import baseline, doctor, export, history, init, policy, precommit, scan

COMMANDS: tuple[click.Command, ...] = (
    *scan.COMMANDS, *baseline.COMMANDS, *policy.COMMANDS, *doctor.COMMANDS,
    *history.COMMANDS, *precommit.COMMANDS, *init.COMMANDS, *export.COMMANDS,
)
