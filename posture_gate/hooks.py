"""`posture-gate pre-commit FILES...`: the fast hook (code and secret scans, seconds).

Runs bandit and trivy's secret scanner on exactly the files pre-commit passes, through the
same adapters, policy and gates as `scan`. semgrep is left to the full hook
(`posture-gate-full`): it takes about 7 s to start even on one file, bandit and trivy about
1 s each.

The files are copied into a private snapshot directory under their repo-relative paths and
scanned there: trivy takes one target, and the snapshot keeps findings' paths, fingerprints,
targets and path-scoped ignores identical to a full `scan` of the repository.
"""

from __future__ import annotations

import datetime
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import click

from .errors import PostureGateError, UsageError
from .model import Finding
from .policy import schema as policy_schema
from .policy.evaluate import Verdict, evaluate
from .policy.model import Policy
from .reporters import REPORTERS
from .scan import ScanOptions, scan
from .scanners.base import ScannerSettings
from .textutil import one_line

POLICY_FILE = "posture-gate.yml"  # same default as `scan`
PYTHON_SUFFIXES = (".py", ".pyw")


def _relative(files: Sequence[Path], root: Path) -> list[str]:
    """Repo-relative POSIX paths of the regular files given (deleted or odd ones skipped)."""
    out: list[str] = []
    for f in files:
        p = f if f.is_absolute() else root / f
        if p.is_symlink() or not p.is_file():
            continue
        try:
            rel = p.resolve().relative_to(root.resolve())
        except ValueError:
            raise UsageError(f"{f}: not inside {root}") from None
        out.append(rel.as_posix())
    return list(dict.fromkeys(out))


def fast_policy(policy: Policy, python_files: Sequence[str]) -> Policy:
    """The policy's own bandit and trivy settings, narrowed to the files and the secret scan.

    A scanner the policy leaves out (or disables) stays out; gates, ignores and targets are
    unchanged, except that targets lose their images (no image scan in a commit hook).
    """
    configured = policy.scanner_settings()
    scanners: dict[str, ScannerSettings] = {}
    bandit = configured.get("bandit")
    if bandit is not None and bandit.enabled and python_files:
        scanners["bandit"] = replace(bandit, options={**bandit.options,
                                                      "paths": list(python_files)})
    trivy = configured.get("trivy")
    if trivy is not None and trivy.enabled:
        scanners["trivy"] = replace(trivy, options={**trivy.options, "scanners": ["secret"],
                                                    "fs": True})
    return replace(policy, scanners=scanners, advisories=None,
                   targets=tuple(replace(t, image=None) for t in policy.targets))


def _finding_line(f: Finding) -> str:
    where = f.location.path if f.location else (f.target or "-")
    if f.location and f.location.start_line:
        where += f":{f.location.start_line}"
    return f"{where}: {f.severity.value}: {f.rule_id}: {one_line(f.title, 160)}"


def _print(verdict: Verdict, rendered: str) -> None:
    counted = verdict.counted()
    for f in counted:
        click.echo(_finding_line(f))
    if counted:
        click.echo()
    click.echo(rendered, nl=False)


def run_hook(files: Sequence[Path], *, root: Path, policy_ref: str | None,
             today: datetime.date, output_dir: Path | None) -> int:
    ref = policy_ref or (str(root / POLICY_FILE) if (root / POLICY_FILE).is_file()
                         else "default")
    policy = policy_schema.load_policy(ref, today=today)
    rel = _relative(files, root)
    if not rel:
        return 0
    python_files = [r for r in rel if r.endswith(PYTHON_SUFFIXES)]
    narrowed = fast_policy(policy, python_files)
    if not narrowed.scanners:
        return 0
    with tempfile.TemporaryDirectory(prefix="posture-gate-hook-") as work:
        snapshot = Path(work) / "files"
        for r in rel:
            dest = snapshot / r
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / r, dest)
        out = output_dir or Path(work) / "report"
        run, _ = scan(narrowed, ScanOptions(root=snapshot, output_dir=out,
                                            only=tuple(narrowed.scanners)))
        run = replace(run, root=str(root.resolve()))
        verdict = evaluate(policy, run.findings, run.scanners, today=today)
        if output_dir is not None:
            from .fsutil import write_atomic

            write_atomic(output_dir / "findings.json", REPORTERS["json"].render(run, verdict))
        _print(verdict, REPORTERS["console"].render(run, verdict))
    for e in verdict.errors:
        click.echo(f"posture-gate: error: scanner {one_line(e, 400)}", err=True)
    return verdict.exit_code


@click.command("pre-commit")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--policy", "-p", help=f"Policy file or preset. Default: ./{POLICY_FILE} "
              "if present, else 'default'.")
@click.option("--output-dir", "-o", type=click.Path(path_type=Path),
              help="Also keep findings.json and the raw scanner output here.")
@click.option("--today", hidden=True, help="Evaluate as of this date (tests).")
def precommit_cmd(files: tuple[Path, ...], policy: str | None, output_dir: Path | None,
                  today: str | None) -> None:
    """Fast gate for a commit: bandit and trivy's secret scan on FILES only.

    Run from the repository root (pre-commit does). Exit 1 when the policy blocks.
    """
    try:
        day = datetime.datetime.now(datetime.timezone.utc).date() if today is None \
            else datetime.date.fromisoformat(today)
    except ValueError:
        click.echo(f"posture-gate: error: --today: not a date (YYYY-MM-DD): {today}", err=True)
        sys.exit(2)
    try:
        code = run_hook(files, root=Path.cwd(), policy_ref=policy, today=day,
                        output_dir=output_dir)
    except PostureGateError as exc:
        click.echo(f"posture-gate: error: {exc.one_line()}", err=True)
        sys.exit(2)
    except OSError as exc:
        click.echo(f"posture-gate: error: {one_line(str(exc) or type(exc).__name__)}", err=True)
        sys.exit(2)
    sys.exit(code)
