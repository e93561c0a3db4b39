"""`export openvex`: a saved run's ignores and VEX decisions as an OpenVEX document."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import UsageError
from ..export import openvex
from ..fsutil import write_atomic
from ..textutil import json_escape_invisible
from .common import load_saved


@click.group("export")
def export_group() -> None:
    """Write the gate's decisions in exchange formats other tools read."""


@export_group.command("openvex")
@click.argument("findings", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path),
              default="posture-gate.openvex.json", show_default=True)
@click.option("--author", default="posture-gate", show_default=True,
              help="The document's author (who stands behind these decisions).")
def openvex_cmd(findings: Path, output: Path, author: str) -> None:
    """FINDINGS (a saved findings.json): each dependency/OS finding a policy ignore or a VEX
    statement suppressed, as an OpenVEX v0.2.0 statement about its package version."""
    _, run = load_saved(findings)
    doc = openvex.document(run, author=author)
    if doc is None:
        raise UsageError(f"{findings}: no dependency or OS finding is ignored or "
                         "VEX-suppressed: nothing to export")
    write_atomic(output, json_escape_invisible(json.dumps(doc, indent=2,
                                                          ensure_ascii=False)) + "\n")
    click.echo(f"wrote {output}: {len(doc['statements'])} statement(s)")


COMMANDS = (export_group,)
