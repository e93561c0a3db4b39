"""`posture-gate pre-commit FILES...`: the fast hook (code and secret scans, seconds).

Runs bandit, semgrep (on the Python files) and trivy's secret scanner on exactly the files
pre-commit passes, through the same adapters, merge, policy and gates as `scan`: a finding
gets the severity the full scan gives it (bandit rates B105 low; merged with semgrep's
pg-hardcoded-password it is high). semgrep's start-up costs a few seconds; dependency and
image scans are left to the full hook (`posture-gate-full`).

The files are copied into a private snapshot directory under their repo-relative paths and
scanned there: trivy takes one target, and the snapshot keeps findings' paths, fingerprints,
targets and path-scoped ignores identical to a full `scan` of the repository.
The command (commands/precommit.py) prints and exits; this module picks the policy and the
files and runs the pipeline.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from . import pipeline
from .errors import UsageError
from .policy import schema as policy_schema
from .policy.model import Policy
from .policy.trust import LOCAL_POLICY
from .scan import ScanOptions
from .scanners import SCANNERS
from .scanners.base import ScannerSettings

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
    """The policy's own scanner settings, each narrowed by its scanner for the commit hook
    (Scanner.precommit: bandit to the Python files, trivy to the secret scan; the others
    are left to the full hook).

    A scanner the policy leaves out (or disables) stays out; gates, ignores and targets are
    unchanged, except that targets lose their images (no image scan in a commit hook).
    """
    scanners: dict[str, ScannerSettings] = {}
    for name, settings in policy.scanner_settings().items():
        narrowed = SCANNERS[name].precommit(settings, python_files) if settings.enabled \
            else None
        if narrowed is not None:
            scanners[name] = narrowed
    return replace(policy, scanners=scanners, advisories=None,
                   targets=tuple(replace(t, image=None) for t in policy.targets))


def default_policy(root: Path, given: str | None) -> str:
    """The policy given, else the project's own posture-gate.yml, else the default preset.
    (No trust rules here: the hook runs on the developer's machine, for the developer.)"""
    if given:
        return given
    return str(root / LOCAL_POLICY) if (root / LOCAL_POLICY).is_file() else "default"


def run_hook(files: Sequence[Path], *, root: Path, policy_ref: str | None,
             today: datetime.date, output_dir: Path | None) -> pipeline.Outcome | None:
    """The fast scan of `files` judged by the policy; None when there is nothing to scan
    (no regular file, or no fast scanner the policy runs)."""
    policy = policy_schema.load_policy(default_policy(root, policy_ref), today=today)
    rel = _relative(files, root)
    if not rel:
        return None
    python_files = [r for r in rel if r.endswith(PYTHON_SUFFIXES)]
    narrowed = fast_policy(policy, python_files)
    if not narrowed.scanners:
        return None
    with tempfile.TemporaryDirectory(prefix="posture-gate-hook-") as work:
        snapshot = Path(work) / "files"
        for r in rel:
            dest = snapshot / r
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / r, dest)
        out = output_dir or Path(work) / "report"
        return pipeline.run(policy, pipeline.Options(
            scan=ScanOptions(root=snapshot, output_dir=out, only=tuple(narrowed.scanners)),
            formats=("json", pipeline.CONSOLE), scan_policy=narrowed,
            root=str(root.resolve())), pipeline.Clock(today=today))
