"""findings.json: our own versioned schema (schemas/finding-v1.schema.json)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from ..model import RUN_SCHEMA, Finding, PolicyTrust, RepoConfigFile, ScannerRun, ScanResult
from ..policy.evaluate import GateResult, Verdict, totals


def _gate(g: GateResult) -> dict[str, Any]:
    return {"name": g.name, "kind": g.kind, "severity": g.severity, "limit": g.limit,
            "count": g.count, "passed": g.passed, "target": g.target,
            "baseline_count": g.baseline_count, "delta": g.delta,
            "fingerprints": list(g.fingerprints)}


def _table(findings: tuple[Finding, ...], target: str | None = None) -> dict[str, Any]:
    return {c.value: {s.value: n for s, n in row.items()}
            for c, row in totals(findings, target).items()}


def _history(verdict: Verdict) -> dict[str, Any]:
    """Ages and changes since the previous run: present only when a history was used."""
    out: dict[str, Any] = {}
    if verdict.ages is not None:
        out["ages"] = dict(sorted(verdict.ages.items()))
    if verdict.new_since_last is not None:
        out["new_since_last"] = list(verdict.new_since_last)
    if verdict.fixed_since_last is not None:
        out["fixed_since_last"] = list(verdict.fixed_since_last)
    return out


def document(run: ScanResult, verdict: Verdict) -> dict[str, Any]:
    targets = sorted({f.target for f in verdict.findings if f.target})
    return {
        "schema": RUN_SCHEMA,
        "tool": {"name": "posture-gate", "version": run.tool_version},
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "root": run.root,
        "commit": run.commit,
        "branch": run.branch,
        "image": run.image,
        "policy": {"source": run.policy, "digest": run.policy_digest,
                   **(run.policy_trust.to_dict() if run.policy_trust else {})},
        "repo_config": [c.to_dict() for c in run.repo_config],
        "scanners": [s.to_dict() for s in run.scanners],
        "totals": _table(verdict.findings),
        "totals_by_target": {t: _table(verdict.findings, t) for t in targets},
        "suppressed": sum(1 for f in verdict.findings if f.suppression is not None),
        "verdict": {
            "status": verdict.status,
            "exit_code": verdict.exit_code,
            "errors": list(verdict.errors),
            "warnings": list(verdict.warnings),
            "baseline": verdict.baseline,
            "new": sorted(verdict.new_fingerprints),
            "gates": [_gate(g) for g in verdict.gates],
            **_history(verdict),
        },
        "findings": [f.to_dict() for f in verdict.findings],
    }


class JsonReporter:
    name = "json"
    filename = "findings.json"

    def render(self, run: ScanResult, verdict: Verdict) -> str:
        return json.dumps(document(run, verdict), indent=2, ensure_ascii=False) + "\n"


def read_run(doc: Mapping[str, Any], source: str) -> ScanResult:
    """A saved findings.json -> ScanResult (for `gate`, `report`, `baseline write`)."""
    if not isinstance(doc, Mapping) or doc.get("schema") != RUN_SCHEMA:
        raise InputError(f"{source}: not a posture-gate findings file (schema {RUN_SCHEMA})")
    try:
        return ScanResult(
            tool_version=str(doc["tool"]["version"]),
            started_at=str(doc["started_at"]),
            finished_at=str(doc["finished_at"]),
            root=str(doc["root"]),
            policy=str(doc["policy"]["source"]),
            policy_digest=str(doc["policy"]["digest"]),
            scanners=tuple(ScannerRun.from_dict(s) for s in doc["scanners"]),
            findings=tuple(Finding.from_dict(f) for f in doc["findings"]),
            commit=doc.get("commit"),
            branch=doc.get("branch"),
            image=doc.get("image"),
            policy_trust=PolicyTrust.from_dict(doc["policy"])
            if "trusted" in doc["policy"] else None,
            repo_config=tuple(RepoConfigFile.from_dict(c) for c in doc.get("repo_config") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{source}: malformed findings file ({type(exc).__name__}: {exc})") \
            from None


def read_verdict(doc: Mapping[str, Any], run: ScanResult, source: str) -> Verdict:
    """The verdict saved beside the findings (for `report`, which never re-decides)."""
    try:
        v = doc["verdict"]
        gates = tuple(
            GateResult(name=g["name"], kind=g["kind"], severity=g["severity"],
                       limit=int(g["limit"]), count=int(g["count"]), passed=bool(g["passed"]),
                       target=g.get("target"), baseline_count=g.get("baseline_count"),
                       fingerprints=tuple(g.get("fingerprints") or ()))
            for g in v["gates"])
        return Verdict(status=str(v["status"]), gates=gates, findings=run.findings,
                       new_fingerprints=frozenset(v.get("new") or ()),
                       errors=tuple(v.get("errors") or ()),
                       warnings=tuple(v.get("warnings") or ()), baseline=v.get("baseline"),
                       ages={str(k): int(n) for k, n in v["ages"].items()}
                       if isinstance(v.get("ages"), dict) else None,
                       new_since_last=tuple(v["new_since_last"])
                       if v.get("new_since_last") is not None else None,
                       fixed_since_last=tuple(v["fixed_since_last"])
                       if v.get("fixed_since_last") is not None else None)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{source}: malformed verdict ({type(exc).__name__}: {exc})") from None
