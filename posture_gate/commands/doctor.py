"""`doctor`: which scanners are installed, and at versions we test."""

from __future__ import annotations

import sys

import click

from .. import toolpath
from ..scanners import SCANNERS


@click.command("doctor")
def doctor() -> None:
    """List each scanner, where it was found (beside posture-gate's Python, which comes
    first, or on PATH), its version, and whether we test it."""
    from ..runner import scanner_version

    bad = False
    for name, scanner in SCANNERS.items():
        where, origin = toolpath.locate(scanner.executable)
        if where is None:
            click.echo(f"{name}: {origin}")
            bad = True
            continue
        version = scanner_version(scanner)
        tested = "tested" if version in scanner.tested_versions else \
            f"untested (tested: {', '.join(sorted(scanner.tested_versions))})"
        click.echo(f"{name}: {where} ({origin}) version {version or '?'} {tested}")
    sys.exit(1 if bad else 0)


COMMANDS = (doctor,)
