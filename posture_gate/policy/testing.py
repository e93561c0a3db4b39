"""`posture-gate policy test DIR`: a team's unit tests for its own policy.

A case is a directory holding `policy.yml` (or naming one in expect.yml), `findings.json`
(a saved posture-gate run, or a JSON list of findings) and `expect.yml`:

    status: fail                 # pass | fail | error
    failed_gates: [code.max.high] # optional: exactly these gates fail
    today: 2026-12-01            # optional: evaluate as of this date
    baseline: baseline.json      # optional
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import baseline as bl
from ..errors import InputError, PostureGateError
from ..model import Finding, ScannerRun
from ..serialize import read_run
from .evaluate import evaluate
from .schema import load_policy


@dataclass(frozen=True, kw_only=True)
class CaseResult:
    name: str
    passed: bool
    detail: str


def _findings(path: Path) -> tuple[list[Finding], list[ScannerRun]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read findings ({exc})") from None
    if isinstance(doc, list):
        try:
            return [Finding.from_dict(d) for d in doc], []
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: malformed finding ({exc})") from None
    run = read_run(doc, str(path))
    return list(run.findings), list(run.scanners)


def run_case(case: Path, default_today: datetime.date) -> CaseResult:
    expect_path = case / "expect.yml"
    try:
        expect = yaml.safe_load(expect_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{expect_path}: cannot read ({type(exc).__name__})") from None
    if not isinstance(expect, dict) or expect.get("status") not in ("pass", "fail", "error"):
        raise InputError(f"{expect_path}: needs 'status: pass|fail|error'")
    today = expect.get("today") or default_today
    if isinstance(today, str):
        try:
            today = datetime.date.fromisoformat(today)
        except ValueError:
            raise InputError(f"{expect_path}: today: not a YYYY-MM-DD date") from None
    if isinstance(today, datetime.datetime):
        today = today.date()
    if not isinstance(today, datetime.date):
        raise InputError(f"{expect_path}: today: not a YYYY-MM-DD date")
    policy = load_policy(str(case / str(expect.get("policy", "policy.yml"))), today=today)
    findings, runs = _findings(case / str(expect.get("findings", "findings.json")))
    base = bl.load(case / expect["baseline"]) if expect.get("baseline") else None
    # A bare list of findings says nothing about which scanners ran.
    verdict = evaluate(policy, findings, runs, today=today, baseline=base,
                       check_coverage=bool(runs))
    failed = sorted(g.name for g in verdict.failed_gates)
    problems = []
    if verdict.status != expect["status"]:
        problems.append(f"status {verdict.status}, expected {expect['status']}")
    if "failed_gates" in expect and failed != sorted(expect["failed_gates"] or []):
        problems.append(f"failed gates {failed}, expected {sorted(expect['failed_gates'] or [])}")
    return CaseResult(name=case.name, passed=not problems,
                      detail="; ".join(problems) or f"{verdict.status}, failed gates {failed}")


def run_all(directory: Path, today: datetime.date) -> list[CaseResult]:
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory")
    cases = sorted(p.parent for p in directory.rglob("expect.yml"))
    if not cases:
        raise InputError(f"{directory}: no test cases (directories with expect.yml)")
    results = []
    for case in cases:
        try:
            results.append(run_case(case, today))
        except PostureGateError as exc:
            results.append(CaseResult(name=case.name, passed=False, detail=exc.one_line()))
    return results
