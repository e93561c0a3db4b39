"""`doctor`: which scanners are installed, and at versions we test."""

from __future__ import annotations

import sys

import click

from .. import proc
from ..scanners import SCANNERS


@click.command("doctor")
def doctor() -> None:
    """List each scanner, where it was found, its version, and whether we test it."""
    from ..runner import scanner_version

    bad = False
    for name, scanner in SCANNERS.items():
        where = proc.which(scanner.executable)
        if where is None:
            click.echo(f"{name}: not found on PATH")
            bad = True
            continue
        version = scanner_version(scanner)
        tested = "tested" if version in scanner.tested_versions else \
            f"untested (tested: {', '.join(sorted(scanner.tested_versions))})"
        click.echo(f"{name}: {where} version {version or '?'} {tested}")
    sys.exit(1 if bad else 0)


COMMANDS = (doctor,)
