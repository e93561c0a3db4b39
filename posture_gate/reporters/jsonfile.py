"""findings.json: our own versioned schema (schemas/finding-v1.schema.json).

A faithful record, read back by serialize.py for `gate`, `report` and `baseline write`:
paths, rule ids, packages, fingerprints and every other value a policy or a baseline
matches on are kept exactly as found. Only prose meant for people (finding titles and
messages, scanner reasons and warnings, verdict errors and warnings) goes through
`textutil.clean`, newlines kept. So that no reader of the file (a terminal, an editor, a
diff) is shown an escape sequence or a bidi override, every character the cleaner would
remove is written as a JSON `\\u` escape (`textutil.json_escape_invisible`): the parsed
data is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..fsutil import Chunks
from ..jsonout import list_chunks
from ..model import RUN_SCHEMA, Finding, ScanResult
from ..policy.evaluate import totals
from ..policy.model import Verdict
from ..serialize import gate_dict

# Reading findings.json back is data, not reporting: serialize.py. Re-exported for callers.
from ..serialize import read_run as read_run
from ..serialize import read_verdict as read_verdict
from ..textutil import clean


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
    return {**_head(run, verdict), "findings": [_finding(f) for f in verdict.findings]}


def _finding(f: Finding) -> dict[str, Any]:
    return _prose(f.to_dict(), "title", "message")


def _head(run: ScanResult, verdict: Verdict) -> dict[str, Any]:
    """The document but its findings (written last, in chunks)."""
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
        **({"posture": run.posture.to_dict()} if run.posture is not None else {}),
        **({"coverage": run.coverage.to_dict()} if run.coverage is not None else {}),
        **({"effectiveness": run.effectiveness.to_dict()}
           if run.effectiveness is not None else {}),
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
            "gates": [gate_dict(g) for g in verdict.gates],
            **_history(verdict),
        },
    }


class JsonReporter:
    name = "json"
    filename = "findings.json"

    def render(self, run: ScanResult, verdict: Verdict) -> str:
        return b"".join(self.chunks(run, verdict)).decode("utf-8")

    def stream(self, run: ScanResult, verdict: Verdict) -> Iterator[tuple[str, Chunks]]:
        yield self.filename, self.chunks(run, verdict)

    def chunks(self, run: ScanResult, verdict: Verdict) -> Iterator[bytes]:
        """The file's UTF-8 text, a thousand findings at a time (findings come last)."""
        doc = {**_head(run, verdict), "findings": []}
        yield from list_chunks(doc, "findings", map(_finding, verdict.findings))
        yield b"\n"
