"""JUnit XML for GitLab's test report and Jenkins (docs/formats.md section 3).

One test case per policy gate (failure when over its limit) and one per scanner job
(error when a required scanner failed, skipped when an optional one did). Class names are
dot-separated (`posture_gate.gates.<category>`, `posture_gate.scanners`) so Jenkins splits
package/class sensibly; test names are unique because GitLab keeps only the first of
duplicates. Every text goes through `textutil.clean` once (which also removes every
character XML 1.0 forbids) and ElementTree escapes the rest. Element text (failure output,
system-out) keeps its newlines: it is a listing, one finding or detail per line, shown
preformatted by GitLab and Jenkins. Attributes (names, messages) are one line: XML would
normalize a raw newline in an attribute to a space anyway, and a test name is a title.
"""

from __future__ import annotations

import re

from junit_xml import TestCase, TestSuite, to_xml_report_string

from ..model import Finding, RunStatus, ScannerRun, ScanResult
from ..policy.evaluate import GateResult, Verdict
from ..textutil import clean, one_line
from .threatinfo import source_lines

LISTED = 10  # offending findings written into a failure
_CLASS_SAFE = re.compile(r"[^A-Za-z0-9_]+")


def _class_part(text: str) -> str:
    return _CLASS_SAFE.sub("_", text).strip("_").lower() or "other"


def _threshold(g: GateResult) -> str:
    if g.kind == "ratchet":
        return f"baseline allows {g.limit}"
    return "any severity" if g.severity == "any" else f"{g.severity} or worse"


def _describe(f: Finding) -> str:
    where = ""
    if f.location is not None:
        where = f.location.path + (f":{f.location.start_line}" if f.location.start_line else "")
    elif f.image:
        where = f.image
    parts = [f"[{f.severity.value.upper()}] {f.title or f.rule_id}", f"rule {f.rule_id}"]
    if where:
        parts.append(where)
    parts.append(f"fingerprint {f.fingerprint[:12]}")
    return one_line(" - ".join(parts), 600)


def _gate_case(g: GateResult, by_fp: dict[str, Finding], policy_file: str | None,
               name: str) -> TestCase:
    category = g.name.split(".", 1)[0] if g.kind != "ratchet" else "ratchet"
    case = TestCase(name=name, classname=f"posture_gate.gates.{_class_part(category)}",
                    file=policy_file, elapsed_sec=0.0)
    if not g.passed:
        delta = f", {g.delta:+d} vs baseline ({g.baseline_count})" if g.delta is not None \
            else ""
        where = f" [target {g.target}]" if g.target else ""
        message = one_line(f"{g.name}{where}: {g.count} > {g.limit} ({_threshold(g)}){delta}",
                           500)
        listed = [by_fp[fp] for fp in g.fingerprints if fp in by_fp][:LISTED]
        lines = [message, ""]
        lines += [_describe(f) for f in listed]
        more = g.count - len(listed)
        if more > 0:
            lines.append(f"... and {more} more (see findings.json)")
        case.add_failure_info(message=message, output=clean("\n".join(lines), 20000),
                              failure_type="policy")
    return case


def _scanner_case(s: ScannerRun, name: str) -> TestCase:
    details = [f"status: {s.status.value}", f"required: {str(s.required).lower()}"]
    if s.version:
        details.append(f"version: {one_line(s.version, 100)}")
    if s.exit_code is not None:
        details.append(f"exit code: {s.exit_code}")
    if s.status is RunStatus.OK:
        details.append(f"raw findings: {s.raw_count}")
    details += [f"warning: {one_line(w, 500)}" for w in s.warnings]
    case = TestCase(name=name, classname="posture_gate.scanners",
                    elapsed_sec=round(max(s.duration_s, 0.0), 3),
                    stdout=clean("\n".join(details), 4000))
    if s.status is not RunStatus.OK:
        message = one_line(f"{s.name} {s.status.value}: {s.reason or s.status.value}", 500)
        if s.required:
            case.add_error_info(message=message, output=message, error_type="scanner")
        else:
            case.add_skipped_info(message=one_line(f"optional scanner skipped: {message}", 500),
                                  output=message)
    return case


def _unique(name: str, seen: set[str]) -> str:
    out, n = name, 1
    while out in seen:
        n += 1
        out = f"{name} #{n}"
    seen.add(out)
    return out


class JunitReporter:
    name = "junit"
    filename = "junit.xml"

    def render(self, run: ScanResult, verdict: Verdict) -> str:
        by_fp: dict[str, Finding] = {}
        for f in verdict.findings:
            for fp in f.all_fingerprints:
                by_fp.setdefault(fp, f)
        policy_file = None if run.policy.startswith("preset:") else one_line(run.policy, 500)
        seen: set[str] = set()
        gates = [_gate_case(g, by_fp, policy_file, _unique(one_line(
            g.name + (f" [target {g.target}]" if g.target else ""), 500), seen))
            for g in verdict.gates]
        scanners = [_scanner_case(s, _unique(one_line(f"scanner {s.name}", 500), seen))
                    for s in run.scanners]
        stamp = one_line(run.started_at, 40).removesuffix("Z")
        notes = [f"verdict: {verdict.status} (exit {verdict.exit_code})"]
        notes += [f"error: {one_line(e, 1000)}" for e in verdict.errors]
        notes += [f"warning: {one_line(w, 1000)}" for w in verdict.warnings]
        suites = [
            TestSuite("posture-gate policy", gates, timestamp=stamp,
                      stdout=clean("\n".join(notes), 20000),
                      properties={"policy": one_line(run.policy, 500),
                                  "policy_digest": one_line(run.policy_digest, 500),
                                  "tool_version": one_line(run.tool_version, 500),
                                  **{f"threat.{s.kind}": one_line(line, 500)
                                     for s, line in zip(run.threat, source_lines(run),
                                                        strict=True)}}),
            TestSuite("posture-gate scanners", scanners, timestamp=stamp),
        ]
        text: str = to_xml_report_string(suites, prettyprint=True, encoding="utf-8")
        return text if text.endswith("\n") else text + "\n"
