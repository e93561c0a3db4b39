"""`baseline write`: the accepted findings for new-only gating and the ratchet."""

from __future__ import annotations

import datetime
from pathlib import Path

import click

from .. import baseline as baseline_mod
from ..fsutil import write_atomic
from .common import load_saved


@click.group("baseline")
def baseline_group() -> None:
    """Baselines for new-only gating and the ratchet."""


@baseline_group.command("write")
@click.argument("findings", type=click.Path(path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path))
@click.option("--allow-increase", is_flag=True,
              help="Let totals grow above the existing baseline's allowance.")
def baseline_write(findings: Path, output: Path, allow_increase: bool) -> None:
    """Write a baseline from a saved findings.json (never raises an existing total)."""
    _, run = load_saved(findings)
    previous = baseline_mod.load(output) if output.exists() else None
    b = baseline_mod.build(run.findings, now=datetime.datetime.now(datetime.timezone.utc),
                           previous=previous, allow_increase=allow_increase)
    write_atomic(output, baseline_mod.to_json(b))
    click.echo(f"wrote {output}: {len(b.entries)} finding(s)")


COMMANDS = (baseline_group,)
