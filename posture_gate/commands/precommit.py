"""`pre-commit FILES...`: the fast gate of a commit (posture_gate/hooks.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import hooks
from ..fsutil import write_atomic
from ..model import Finding
from ..pipeline import CONSOLE
from ..policy.trust import LOCAL_POLICY
from ..textutil import one_line
from .common import today


def _finding_line(f: Finding) -> str:
    where = f.location.path if f.location else (f.target or "-")
    if f.location and f.location.start_line:
        where += f":{f.location.start_line}"
    return f"{where}: {f.severity.value}: {f.rule_id}: {one_line(f.title, 160)}"


@click.command("pre-commit")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--policy", "-p", help=f"Policy file or preset. Default: ./{LOCAL_POLICY} "
              "if present, else 'default'.")
@click.option("--output-dir", "-o", type=click.Path(path_type=Path),
              help="Also keep findings.json and the raw scanner output here.")
@click.option("--today", "today_iso", hidden=True, help="Evaluate as of this date (tests).")
def precommit_cmd(files: tuple[Path, ...], policy: str | None, output_dir: Path | None,
                  today_iso: str | None) -> None:
    """Fast gate for a commit: bandit, semgrep (Python files) and trivy's secret scan on
    FILES only, merged and rated as the full scan does.

    Run from the repository root (pre-commit does). Exit 1 when the policy blocks.
    """
    outcome = hooks.run_hook(files, root=Path.cwd(), policy_ref=policy,
                             today=today(today_iso), output_dir=output_dir)
    if outcome is None:
        sys.exit(0)
    if output_dir is not None:
        for name, text in outcome.files.items():
            write_atomic(output_dir / name, text)
    counted = outcome.verdict.counted()
    for f in counted:
        click.echo(_finding_line(f))
    if counted:
        click.echo()
    click.echo(outcome.text(CONSOLE), nl=False)
    for e in outcome.verdict.errors:
        click.echo(f"posture-gate: error: scanner {one_line(e, 400)}", err=True)
    sys.exit(outcome.verdict.exit_code)


COMMANDS = (precommit_cmd,)
