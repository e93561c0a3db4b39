"""findings.json back into data: the saved run and verdict, for `gate`, `report`,
`baseline write` and `policy test` (the writer is reporters/jsonfile.py).

Every field is checked for its type; anything malformed is one InputError naming the file
and the field (exit 2), never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from . import strictjson as sj
from .coverage import from_dict as coverage_from_dict
from .effectiveness import from_dict as effectiveness_from_dict
from .errors import InputError
from .model import (
    RUN_SCHEMA,
    Finding,
    PolicyTrust,
    RepoConfigFile,
    ScannerRun,
    ScanResult,
    Severity,
)
from .policy.model import GateKind, GateResult, Verdict, VerdictStatus
from .posture import from_dict as posture_from_dict
from .textutil import one_line
from .threat.data import ThreatSource

T = TypeVar("T")


def gate_dict(g: GateResult) -> dict[str, Any]:
    return {"name": g.name, "kind": g.kind.value, "severity": g.severity, "limit": g.limit,
            "count": g.count, "passed": g.passed, "target": g.target,
            "baseline_count": g.baseline_count, "delta": g.delta,
            "fingerprints": list(g.fingerprints),
            # only when the gate counted a finding of unknown severity as `unknown_as`
            **({"unknown": g.unknown, "unknown_as": g.unknown_as} if g.unknown else {})}


def read_run(doc: Mapping[str, Any], source: str) -> ScanResult:
    """A saved findings.json -> ScanResult (for `gate`, `report`, `baseline write`).
    InputError naming the file and the field for anything malformed."""
    if not isinstance(doc, Mapping) or doc.get("schema") != RUN_SCHEMA:
        raise InputError(f"{source}: not a posture-gate findings file (schema {RUN_SCHEMA})")
    try:
        tool = sj.obj(sj.field(doc, "tool", dict), "tool")
        policy = sj.field(doc, "policy", dict)
        repo_config = sj.field(doc, "repo_config", list, required=False) or []
        return ScanResult(
            tool_version=sj.field(tool, "version", str, "tool."),
            started_at=sj.field(doc, "started_at", str),
            finished_at=sj.field(doc, "finished_at", str),
            root=sj.field(doc, "root", str),
            policy=sj.field(policy, "source", str, "policy."),
            policy_digest=sj.field(policy, "digest", str, "policy."),
            scanners=tuple(ScannerRun.from_dict(s, f"scanners[{i}].")
                           for i, s in enumerate(sj.field(doc, "scanners", list))),
            findings=tuple(Finding.from_dict(f, f"findings[{i}].")
                           for i, f in enumerate(sj.field(doc, "findings", list))),
            commit=sj.field(doc, "commit", str, required=False),
            branch=sj.field(doc, "branch", str, required=False),
            image=sj.field(doc, "image", str, required=False),
            policy_trust=_trust(policy) if "trusted" in policy else None,
            repo_config=tuple(_repo_config(c, f"repo_config[{i}].")
                              for i, c in enumerate(repo_config)),
            outside_links=sj.text_list(doc, "outside_links"),
            threat=tuple(ThreatSource.from_dict(t, f"threat[{i}].") for i, t in
                         enumerate(sj.field(doc, "threat", list, required=False) or [])),
            coverage=_block(doc, "coverage", coverage_from_dict),
            effectiveness=_block(doc, "effectiveness", effectiveness_from_dict),
            posture=_block(doc, "posture", posture_from_dict),
        )
    except sj.ShapeError as exc:
        raise InputError(f"{source}: malformed findings file: {exc}") from None


def _trust(policy: Mapping[str, Any]) -> PolicyTrust:
    sj.field(policy, "trusted", str, "policy.", required=False)
    sj.field(policy, "repository_local", str, "policy.", required=False)
    sj.text_list(policy, "tightened", "policy.")
    return PolicyTrust.from_dict(policy)


def _repo_config(c: object, where: str) -> RepoConfigFile:
    d = sj.obj(c, where.rstrip("."))
    sj.field(d, "path", str, where)
    sj.field(d, "scanner", str, where)
    sj.field(d, "honoured", bool, where)
    sj.field(d, "note", str, where, required=False)
    return RepoConfigFile.from_dict(d)


def _gate_of(g: object, where: str) -> GateResult:
    d = sj.obj(g, where.rstrip("."))
    # required: never None ("or 0" only satisfies the type)
    limit, count = sj.count(d, "limit", where) or 0, sj.count(d, "count", where) or 0
    kind = sj.field(d, "kind", str, where)
    if kind not in {k.value for k in GateKind}:
        raise sj.ShapeError(f"{where}kind is {kind[:20]!r}, not one of "
                            + ", ".join(k.value for k in GateKind))
    return GateResult(name=sj.field(d, "name", str, where), kind=GateKind(kind),
                      severity=sj.field(d, "severity", str, where), limit=limit, count=count,
                      passed=sj.field(d, "passed", bool, where),
                      target=sj.field(d, "target", str, where, required=False),
                      baseline_count=sj.count(d, "baseline_count", where, required=False),
                      fingerprints=sj.text_list(d, "fingerprints", where),
                      unknown=sj.count(d, "unknown", where, required=False) or 0,
                      unknown_as=_severity(d, "unknown_as", where))


def _severity(d: Mapping[str, Any], key: str, where: str) -> str:
    value = sj.field(d, key, str, where, required=False)
    if value is None:
        return Severity.HIGH.value
    if value not in {s.value for s in Severity}:
        raise sj.ShapeError(f"{where}{key} is {value[:20]!r}, not a severity")
    return str(value)


def _block(doc: Mapping[str, Any], key: str, build: Callable[[Mapping[str, Any]], T]
           ) -> T | None:
    """An optional section (coverage, effectiveness, posture) read by its own from_dict:
    whatever that trips on is a ShapeError naming the section."""
    raw = sj.field(doc, key, dict, required=False)
    if raw is None:
        return None
    try:
        return build(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise sj.ShapeError(f"{key} is malformed ({one_line(exc, 80)})") from None


def read_verdict(doc: Mapping[str, Any], run: ScanResult, source: str) -> Verdict:
    """The verdict saved beside the findings (for `report`, which never re-decides)."""
    try:
        v = sj.field(doc, "verdict", dict)
        at = "verdict."
        status = sj.field(v, "status", str, at)
        if status not in {s.value for s in VerdictStatus}:
            raise sj.ShapeError(f"verdict.status is {status[:20]!r}, not pass, fail or error")
        ages = sj.field(v, "ages", dict, at, required=False)
        for key in ages or {}:
            sj.count(ages, key, "verdict.ages.")
        return Verdict(status=VerdictStatus(status),
                       gates=tuple(_gate_of(g, f"verdict.gates[{i}].")
                                   for i, g in enumerate(sj.field(v, "gates", list, at))),
                       findings=run.findings,
                       new_fingerprints=frozenset(sj.text_list(v, "new", at)),
                       errors=sj.text_list(v, "errors", at),
                       warnings=sj.text_list(v, "warnings", at),
                       baseline=sj.field(v, "baseline", str, at, required=False),
                       ages=dict(ages) if ages is not None else None,
                       new_since_last=sj.text_list(v, "new_since_last", at)
                       if v.get("new_since_last") is not None else None,
                       fixed_since_last=sj.text_list(v, "fixed_since_last", at)
                       if v.get("fixed_since_last") is not None else None)
    except sj.ShapeError as exc:
        raise InputError(f"{source}: malformed verdict: {exc}") from None
