"""SARIF 2.1.0 for GitHub code scanning (docs/formats.md section 1).

One SARIF run per scanner (`finding.scanner`), each with its own `automationDetails.id`
(`posture-gate/<scanner>/`), so GitHub never combines or replaces runs of one upload.
A run is emitted for every scanner in `run.scanners`, even with no results, so a scanner
that found nothing closes its old alerts instead of leaving them open.

Fingerprints (docs/formats.md 1.5): every result carries `partialFingerprints["postureGate/v1"]`
(our line-independent sha256) AND `partialFingerprints["primaryLocationLineHash"]` set to
the same value. Reasons for setting `primaryLocationLineHash` ourselves instead of letting
`upload-sarif` compute it:
* REST API uploads get no fingerprints computed at all (duplicate alerts on every upload);
* the action hashes the text of the region's first line; dependency / OS / whole-file
  findings are all placed at line 1 of a manifest, so their line hashes collide and only an
  occurrence counter (order dependent) tells them apart, and findings placed in files that
  are not in the checkout get no hash at all;
* our fingerprint already ignores line numbers (rule + file + flagged source text, or
  package + advisory), which is what GitHub needs to keep an alert open when code moves.
The cost: `upload-sarif` logs a warning for each result whose supplied value differs
from the one it would compute; it keeps ours.

Splitting (docs/formats.md 1.2): GitHub rejects a file over 25,000 results per run, 20 runs
or 10 MB gzip-compressed. `files()` stays well under: at most RESULTS_PER_RUN results per
run (a scanner over it becomes several runs `posture-gate/<scanner>/part-N/`),
RUNS_PER_FILE runs and GZIP_BUDGET compressed bytes per file (posture-gate.sarif,
posture-gate-2.sarif, ...). Every split run says so in `properties.postureGateSplit` and
in an `invocations[].toolExecutionNotifications` note. Upload each file with its own
`upload-sarif` step (no `category` input: the ids in the file win).

Text: every untrusted string goes through `textutil` once, then JSON escaping. Messages and
`help.text` keep their newlines (`clean`): GitHub shows them as plain text, and advisory
descriptions are paragraphs. Names, ids, versions and descriptions are one line
(`one_line`); `help.markdown` is the cleaned text with Markdown metacharacters escaped.
"""

from __future__ import annotations

import datetime
import functools
import gzip
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any
from urllib.parse import quote

from .. import jsonout
from ..model import Finding, RunStatus, ScannerRun, ScanResult, Severity, sort_findings
from ..policy.evaluate import Verdict
from ..scanners import SCANNERS
from ..textutil import clean, one_line
from ..workers import pool as worker_pool
from .base import DATA_FRESHNESS_KEYS
from .sarif_location import IMAGE_SAFE, URI_SAFE, location
from .sarif_location import artifact_uri as artifact_uri  # re-exported (tests, callers)
from .sarif_location import image_placeholder as image_placeholder
from .threatinfo import finding_properties, run_properties

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "postureGate/v1"
RESULTS_PER_RUN = 5_000  # GitHub: 25,000 (and only 5,000 displayed)
RUNS_PER_FILE = 15  # GitHub: 20
GZIP_BUDGET = 5 * 1024 * 1024  # GitHub: 10 MB gzip-compressed per upload
MAX_TEXT = 1024  # shortDescription / fullDescription limit
MAX_MESSAGE = 4000
MAX_TAGS = 10  # GitHub displays 10 of at most 20

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
    Severity.UNKNOWN: "note",
}
# Representative scores (trivy's severityToScore) so GitHub's bucket equals ours.
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                     Severity.LOW: "2.0"}
PRECISION = {"high": "high", "medium": "medium", "low": "low"}
INFORMATION_URI = {s.name: s.information_uri for s in SCANNERS.values()}
DEFAULT_INFORMATION_URI = "https://pypi.org/project/posture-gate/"

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~-])")


def _markdown(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def _sarif_time(value: str) -> str | None:
    try:
        t = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if t.tzinfo is not None:  # year 1 with a positive offset is year 0 in UTC
            t = t.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    return t.isoformat(timespec="seconds") + "Z"  # four-digit years; strftime's %Y pads none


def rule_id(f: Finding) -> str:
    """The rule id as SARIF shows it (and groups results by): cleaned, never empty."""
    return _rule_text(f.rule_id)


@functools.lru_cache(maxsize=4096)
def _rule_text(raw: str) -> str:
    # a few hundred ids among 100k findings, each asked for four times a finding
    return one_line(raw, 255) or "unknown"


def _tags(findings: Sequence[Finding]) -> list[str]:
    cwes = sorted({one_line(c, 40) for f in findings for c in f.cwes},
                  key=lambda c: (len(c), c))
    cats = sorted({f.category.value for f in findings})
    tags = ["security", *cats, *cwes]
    for c in cwes:
        tags.append(f"external/cwe/cwe-{c[4:].lower()}")
    return list(dict.fromkeys(t for t in tags if t))[:MAX_TAGS]


def _help(f: Finding) -> tuple[str, str]:
    lines = [clean(f.message, MAX_MESSAGE) or clean(f.title, MAX_MESSAGE) or rule_id(f)]
    md = [_markdown(lines[0])]
    if f.package is not None:
        pkg = f"{f.package.name} {f.package.version or ''}".strip()
        fix = ", ".join(f.package.fixed_versions) or "none known"
        lines.append(f"Package: {one_line(pkg, 300)}; fixed in: {one_line(fix, 300)}")
        md.append(f"**Package:** {_markdown(one_line(pkg, 300))}; "
                  f"**fixed in:** {_markdown(one_line(fix, 300))}")
    ids = [i for i in f.identifiers if i != f.rule_id]
    if ids:
        lines.append("Identifiers: " + one_line(", ".join(ids), 500))
        md.append("**Identifiers:** " + _markdown(one_line(", ".join(ids), 500)))
    refs = [r for r in f.references if r.startswith(("https://", "http://"))]
    if refs:
        lines.append("References:")
        lines += [f"- {one_line(r, 500)}" for r in refs[:10]]
        md.append("**References:**")
        md += [f"- <{quote(one_line(r, 500), safe=URI_SAFE + '%?#')}>" for r in refs[:10]]
    return "\n".join(lines), "\n\n".join(md)


def _rule(rid: str, findings: Sequence[Finding]) -> dict[str, Any]:
    worst = max(findings, key=lambda f: (f.severity.rank, f.fingerprint))
    first = findings[0]
    text, markdown = _help(first)
    props: dict[str, Any] = {"tags": _tags(findings)}
    if worst.severity in SECURITY_SEVERITY:
        props["security-severity"] = SECURITY_SEVERITY[worst.severity]
    confidences = {f.confidence.value for f in findings if f.confidence}
    if len(confidences) == 1:
        props["precision"] = PRECISION[confidences.pop()]
    return {
        "id": rid,
        "shortDescription": {"text": one_line(first.title, MAX_TEXT) or rid},
        "fullDescription": {"text": one_line(first.message, MAX_TEXT)
                            or one_line(first.title, MAX_TEXT) or rid},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": LEVEL[worst.severity]},
        "properties": props,
    }


def _result(f: Finding, rid: str, index: int, verdict: Verdict) -> dict[str, Any]:
    """`rid`: rule_id(f)."""
    message = clean(f.message, MAX_MESSAGE) or clean(f.title, MAX_MESSAGE) or rid
    title = one_line(f.title, 300)
    if title and not message.startswith(title):
        message = f"{title}: {message}"
    props: dict[str, Any] = {
        "severity": f.severity.value,
        "category": f.category.value,
        "foundBy": [one_line(x, 100) for x in f.found_by or (f.scanner,)],
    }
    if f.confidence:
        props["confidence"] = f.confidence.value
    if f.cvss:
        props["cvss"] = {"version": one_line(f.cvss.version, 10),
                         "vector": one_line(f.cvss.vector, 200),
                         "score": f.cvss.score}
    if f.package is not None:
        props["package"] = {"name": one_line(f.package.name, 300),
                            "version": one_line(f.package.version, 100),
                            "fixedVersions": [one_line(v, 100)
                                              for v in f.package.fixed_versions]}
    if f.image:
        props["image"] = one_line(f.image, 500)
    if f.target:
        props["target"] = one_line(f.target, 200)
    if f.merged_fingerprints:
        props["mergedFingerprints"] = [one_line(x, 200) for x in f.merged_fingerprints]
    props.update(finding_properties(f))  # kev / epss
    fingerprint = one_line(f.fingerprint, 200)
    result: dict[str, Any] = {
        "ruleId": rid,
        "ruleIndex": index,
        "level": LEVEL[f.severity],
        "message": {"text": message},
        "locations": [location(f)],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint,
                                "primaryLocationLineHash": fingerprint},
        "properties": props,
    }
    if verdict.baseline is not None:
        result["baselineState"] = "new" if f.fingerprint in verdict.new_fingerprints \
            else "unchanged"
    if f.suppression is not None:
        sup: dict[str, Any] = {
            "kind": "inSource" if f.suppression.kind == "inline" else "external",
            "status": "accepted",
        }
        why = " ".join(x for x in (f.suppression.kind, f.suppression.reason,
                                   f"owner {f.suppression.owner}" if f.suppression.owner
                                   else None,
                                   f"expires {f.suppression.expires}"
                                   if f.suppression.expires else None) if x)
        sup["justification"] = one_line(why, 1000)
        result["suppressions"] = [sup]
    return result


def _invocation(s: ScannerRun, run: ScanResult, notes: Sequence[str]) -> dict[str, Any]:
    inv: dict[str, Any] = {"executionSuccessful": s.status is RunStatus.OK}
    if s.exit_code is not None:
        inv["exitCode"] = s.exit_code
    for key, value in (("startTimeUtc", run.started_at), ("endTimeUtc", run.finished_at)):
        t = _sarif_time(value)
        if t:
            inv[key] = t
    notifications = []
    if s.status is not RunStatus.OK:
        state = "failed" if s.required else "skipped (optional)"
        notifications.append({
            "level": "error" if s.required else "warning",
            "message": {"text": one_line(f"{s.name} {state}: {s.reason or s.status.value}",
                                          1000)},
        })
    notifications += [{"level": "warning", "message": {"text": one_line(w, 1000)}}
                      for w in s.warnings]
    notifications += [{"level": "note", "message": {"text": n}} for n in notes]
    if notifications:
        inv["toolExecutionNotifications"] = notifications
    inv["properties"] = {"scannerJob": one_line(s.name, 200), "status": s.status.value,
                         "required": s.required}
    return inv


def _scanner_order(run: ScanResult, findings: Iterable[Finding]) -> list[str]:
    names = [s.scanner for s in run.scanners] + sorted({f.scanner for f in findings})
    return list(dict.fromkeys(names))


_Ruled = tuple[Finding, str]  # a finding and its rule id as SARIF shows it


def _chunks(items: Sequence[_Ruled], size: int) -> list[Sequence[_Ruled]]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [items]


def sarif_runs(run: ScanResult, verdict: Verdict,
               results_per_run: int = RESULTS_PER_RUN) -> Iterator[dict[str, Any]]:
    """The runs, one at a time (the reporter sizes each while the next is built)."""
    by_scanner: dict[str, list[Finding]] = {}
    for f in sort_findings(verdict.findings):
        by_scanner.setdefault(f.scanner, []).append(f)
    for scanner in _scanner_order(run, verdict.findings):
        findings = by_scanner.get(scanner, [])
        jobs = [s for s in run.scanners if s.scanner == scanner] or [
            ScannerRun(name=scanner, scanner=scanner, status=RunStatus.OK)]
        versions = sorted({s.version for s in jobs if s.version}
                          | {f.scanner_version for f in findings if f.scanner_version})
        ruled = [(f, rule_id(f)) for f in findings]  # each finding's id, asked for once
        by_rule: dict[str, list[Finding]] = {}
        for f, rid in ruled:
            by_rule.setdefault(rid, []).append(f)
        # a rule's descriptor, built once per scanner (not once per part it appears in)
        descriptors: dict[str, dict[str, Any]] = {}
        chunks = _chunks(ruled, results_per_run)
        for part, chunk in enumerate(chunks, 1):
            notes: list[str] = []
            label = one_line(scanner, 100)
            props: dict[str, Any] = {"scanner": label,
                                     "scannerVersions": [one_line(v, 100) for v in versions],
                                     "verdict": verdict.status}
            # How old the vulnerability data was (trivy DB, newest served advisory).
            fresh = {f"{one_line(s.name, 100)}.{k}": one_line(s.properties[k], 60) for s in jobs
                     for k in DATA_FRESHNESS_KEYS if isinstance(s.properties.get(k), str)}
            if fresh:
                props["dataFreshness"] = fresh
            if run.threat:
                props["threatData"] = run_properties(run)
            auto_id = f"posture-gate/{IMAGE_SAFE.sub('_', scanner)}/"
            if len(chunks) > 1:
                auto_id += f"part-{part}/" if part > 1 else ""
                split = {"part": part, "parts": len(chunks), "results": len(chunk),
                         "resultsTotal": len(findings), "resultsPerRun": results_per_run}
                props["postureGateSplit"] = split
                notes.append(f"posture-gate split the {len(findings)} results of {label} "
                             f"into {len(chunks)} runs of at most {results_per_run} "
                             f"(GitHub limits); this is part {part} of {len(chunks)}, "
                             f"category {auto_id.rstrip('/')}")
            # A rule's descriptor (highest severity, tags) comes from all of the
            # scanner's findings, so every part describes it the same way.
            index = {rid: n for n, rid in enumerate(dict.fromkeys(rid for _, rid in chunk))}
            yield {
                "tool": {"driver": {
                    "name": f"posture-gate/{label}",
                    "version": one_line(run.tool_version, 100) or "0",
                    "informationUri": INFORMATION_URI.get(scanner, DEFAULT_INFORMATION_URI),
                    "rules": [descriptors.get(rid) or descriptors.setdefault(
                        rid, _rule(rid, by_rule[rid])) for rid in index],
                }},
                "automationDetails": {"id": auto_id},
                "invocations": [_invocation(s, run, notes) for s in jobs],
                "results": [_result(f, rid, index[rid], verdict) for f, rid in chunk],
                "columnKind": "unicodeCodePoints",
                "properties": props,
            }


def _log(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": list(runs)}


def _gz_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))  # the text as written


def _sized(runs: Iterator[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """Each run with its compressed size (all 0 for one run: nothing to split). zlib lets
    go of the GIL: a worker compresses a run while the next is built (100k findings: 0.9 s
    off the wall time when a core is free); at most two runs' text wait for it."""
    head = list(itertools.islice(runs, 2))
    if len(head) < 2:
        return [(r, 0) for r in head]
    out: list[tuple[dict[str, Any], Future[int]]] = []
    with worker_pool("sarif-gz") as pool:
        for r in itertools.chain(head, runs):
            if len(out) >= 2:
                out[-2][1].result()  # back-pressure: older runs' text is freed
            out.append((r, pool.submit(_gz_size, jsonout.dumps_bytes(r, exact=False))))
    return [(r, size.result()) for r, size in out]


class SarifReporter:
    name = "sarif"
    filename = "posture-gate.sarif"

    def __init__(self, results_per_run: int = RESULTS_PER_RUN,
                 runs_per_file: int = RUNS_PER_FILE, gzip_budget: int = GZIP_BUDGET) -> None:
        self.results_per_run = results_per_run
        self.runs_per_file = runs_per_file
        self.gzip_budget = gzip_budget

    def render(self, run: ScanResult, verdict: Verdict) -> str:
        """The first file (all of it unless the output had to be split)."""
        return next(iter(self.files(run, verdict).values()))

    def files(self, run: ScanResult, verdict: Verdict) -> dict[str, str]:
        return {name: b"".join(chunks).decode("utf-8")
                for name, chunks in self.stream(run, verdict)}

    def stream(self, run: ScanResult, verdict: Verdict
               ) -> Iterator[tuple[str, Iterator[bytes]]]:
        """Each file in chunks of one run, each run dropped once written."""
        runs = _sized(sarif_runs(run, verdict, self.results_per_run))
        groups: list[list[dict[str, Any]]] = [[]]
        size = 0
        for r, n in runs:
            # Summing per-run compressed sizes over-estimates the file's: safe.
            if groups[-1] and (len(groups[-1]) >= self.runs_per_file
                               or size + n > self.gzip_budget):
                groups.append([])
                size = 0
            groups[-1].append(r)
            size += n
        if len(groups) > 1:
            note = (f"posture-gate split this SARIF into {len(groups)} files "
                    f"(GitHub allows 20 runs and 10 MB gzip-compressed per upload); "
                    f"upload each file")
            for n, group in enumerate(groups, 1):
                for r in group:
                    r["properties"]["postureGateFiles"] = {"file": n, "files": len(groups)}
                    for inv in r["invocations"][:1]:
                        inv.setdefault("toolExecutionNotifications", []).append(
                            {"level": "note", "message": {"text": note}})
        del runs
        for n, group in enumerate(groups, 1):
            name = self.filename if n == 1 else f"posture-gate-{n}.sarif"
            yield name, _log_chunks(group)


def _log_chunks(runs: list[dict[str, Any]]) -> Iterator[bytes]:
    """UTF-8 of jsonout.dumps(_log(runs)), a run at a time, emptying `runs` as it goes."""
    def drain() -> Iterator[dict[str, Any]]:
        while runs:
            yield runs.pop(0)
    yield from jsonout.list_chunks(_log([]), "runs", drain(), batch=1, escape=False)
    yield b"\n"
