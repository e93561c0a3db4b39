"""findings.json: our own versioned schema (schemas/finding-v1.schema.json).

A faithful record, read back by `gate`, `report` and `baseline write`: paths, rule ids,
packages, fingerprints and every other value a policy or a baseline matches on are kept
exactly as found. Only prose meant for people (finding titles and messages, scanner
reasons and warnings, verdict errors and warnings) goes through `textutil.clean`, newlines
kept. So that no reader of the file (a terminal, an editor, a diff) is shown an escape
sequence or a bidi override, every character the cleaner would remove is written as a
JSON `\\u` escape (`textutil.json_escape_invisible`): the parsed data is unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .. import strictjson as sj
from ..errors import InputError
from ..model import RUN_SCHEMA, Finding, PolicyTrust, RepoConfigFile, ScannerRun, ScanResult
from ..policy.evaluate import GateResult, Verdict, totals
from ..textutil import clean, json_escape_invisible
from ..threat.data import ThreatSource


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


def _prose(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The text fields meant for people, cleaned; identifiers stay exact."""
    for k in keys:
        v = d.get(k)
        if isinstance(v, str):
            d[k] = clean(v)
        elif isinstance(v, list):
            d[k] = [clean(x) for x in v]
    return d


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
        "outside_links": list(run.outside_links),
        **({"threat": [t.to_dict() for t in run.threat]} if run.threat else {}),
        "scanners": [_prose(s.to_dict(), "reason", "warnings") for s in run.scanners],
        "totals": _table(verdict.findings),
        "totals_by_target": {t: _table(verdict.findings, t) for t in targets},
        "suppressed": sum(1 for f in verdict.findings if f.suppression is not None),
        "verdict": {
            "status": verdict.status,
            "exit_code": verdict.exit_code,
            "errors": [clean(e) for e in verdict.errors],
            "warnings": [clean(w) for w in verdict.warnings],
            "baseline": verdict.baseline,
            "new": sorted(verdict.new_fingerprints),
            "gates": [_gate(g) for g in verdict.gates],
            **_history(verdict),
        },
        "findings": [_prose(f.to_dict(), "title", "message") for f in verdict.findings],
    }


class JsonReporter:
    name = "json"
    filename = "findings.json"

    def render(self, run: ScanResult, verdict: Verdict) -> str:
        return json_escape_invisible(
            json.dumps(document(run, verdict), indent=2, ensure_ascii=False)) + "\n"


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
    return GateResult(name=sj.field(d, "name", str, where), kind=sj.field(d, "kind", str, where),
                      severity=sj.field(d, "severity", str, where), limit=limit, count=count,
                      passed=sj.field(d, "passed", bool, where),
                      target=sj.field(d, "target", str, where, required=False),
                      baseline_count=sj.count(d, "baseline_count", where, required=False),
                      fingerprints=sj.text_list(d, "fingerprints", where))


def read_verdict(doc: Mapping[str, Any], run: ScanResult, source: str) -> Verdict:
    """The verdict saved beside the findings (for `report`, which never re-decides)."""
    try:
        v = sj.field(doc, "verdict", dict)
        at = "verdict."
        status = sj.field(v, "status", str, at)
        if status not in ("pass", "fail", "error"):
            raise sj.ShapeError(f"verdict.status is {status[:20]!r}, not pass, fail or error")
        ages = sj.field(v, "ages", dict, at, required=False)
        for key in ages or {}:
            sj.count(ages, key, "verdict.ages.")
        return Verdict(status=status,
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
