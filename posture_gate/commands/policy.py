"""`policy validate`, `policy test`: policy tooling."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..policy import schema as policy_schema
from ..textutil import one_line
from .common import today


@click.group("policy")
def policy_group() -> None:
    """Policy tooling."""


@policy_group.command("validate")
@click.argument("policy")
@click.option("--today", "today_iso", hidden=True)
def policy_validate(policy: str, today_iso: str | None) -> None:
    """Check a policy file; every error with file:line and key path."""
    problems, _ = policy_schema.check(policy, today=today(today_iso))
    for p in problems:
        click.echo(p, err=True)
    if problems:
        sys.exit(2)
    click.echo(f"{policy}: ok")


@policy_group.command("test")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--today", "today_iso", hidden=True)
def policy_test(directory: Path, today_iso: str | None) -> None:
    """Run policy test cases (policy + fixture findings + expected verdict) under DIRECTORY."""
    from ..policy.testing import run_all

    results = run_all(directory, today(today_iso))
    for r in results:
        click.echo(f"{'PASS' if r.passed else 'FAIL'} {r.name}: {one_line(r.detail, 400)}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


COMMANDS = (policy_group,)
