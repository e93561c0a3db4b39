"""summary.md: the verdict first, for a pull request or `$GITHUB_STEP_SUMMARY`.

Order: verdict, totals (category x severity), each failed gate with its explanation,
the top blocking findings (at most MAX_FINDINGS), the scanner table, warnings.
Untrusted text (titles, paths, reasons) goes through `md`: `textutil.one_line` (ANSI,
controls, bidi and zero-width characters out, newlines folded: a newline would end a table
row or start a heading, list or HTML block), then Markdown and HTML metacharacters
backslash-escaped or entity-encoded so a finding can neither break a table nor inject a
link, image or HTML.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..model import Category, Finding, RunStatus, ScanResult, Severity, sort_findings
from ..policy.evaluate import GateResult, Verdict, totals
from ..textutil import one_line
from ..trends import markdown_table
from .base import data_freshness, policy_lines
from .sections import coverage_markdown, effectiveness_markdown, floor_note, posture_markdown
from .threatinfo import finding_note, source_lines
from .unknowns import unknown_line
from .vexinfo import vex_lines

MAX_FINDINGS = 20
_SEV = Severity.ordered()
_MD_ESCAPE = re.compile(r"([\\`*_\[\]|~])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def md(text: object, limit: int = 200) -> str:
    """Untrusted text as one line of inert Markdown."""
    s = "".join(_HTML.get(c, c) for c in one_line(text, limit))
    # Every value lands after "| " or "- ", never at the start of a line, so only the
    # inline metacharacters need escaping (links and images need "[", HTML is entities).
    return _MD_ESCAPE.sub(r"\\\1", s)


def _threshold(g: GateResult) -> str:
    floor = floor_note(g)
    if floor:
        return floor
    if g.kind == "ratchet":
        return "over the baseline's allowance with new findings"
    text = "any severity" if g.severity == "any" else f"{md(g.severity, 20)} or worse"
    if g.unknown:  # an advisory without a score counted as high is not a high one: say so
        text += f"; {g.unknown} of them unknown, counted as {md(g.unknown_as, 20)}"
    return text


def _gate_line(g: GateResult) -> str:
    where = f" (target {md(g.target, 80)})" if g.target else ""
    text = f"- **{md(g.name, 120)}**{where}: {g.count} > {g.limit} ({_threshold(g)})"
    if g.delta is not None:
        text += f"; baseline {g.baseline_count}, {g.delta:+d} vs baseline"
    return text


def _where(f: Finding) -> str:
    if f.location is not None and f.location.path:
        line = f":{f.location.start_line}" if f.location.start_line else ""
        return md(f.location.path, 120) + line
    if f.package is not None:
        return md(f"{f.package.name} {f.package.version or ''}".strip(), 120)
    return md(f.image or "", 120)


def _titled(f: Finding) -> str:
    note = finding_note(f)
    return md(f.title, 120) + (f" ({md(note, 120)})" if note else "")


def _finding_table(findings: list[Finding], verdict: Verdict) -> list[str]:
    """Findings as table rows; with a history, each finding's age in days too."""
    ages = verdict.ages
    age_head, age_rule = (" age (days) |", "---:|") if ages is not None else ("", "")
    out = [f"| severity | category | rule | title | where | fingerprint |{age_head}",
           f"|---|---|---|---|---|---|{age_rule}"]
    for f in findings:
        age = f" {ages.get(f.fingerprint, 0)} |" if ages is not None else ""
        out.append(f"| {f.severity.value} | {f.category.value} | {md(f.rule_id, 80)} | "
                   f"{_titled(f)} | {_where(f)} | {md(f.fingerprint[:12], 12)} |{age}")
    return out


def _since_last(verdict: Verdict) -> list[str]:
    """New and fixed since the previous run in the history (nightly scans)."""
    if verdict.new_since_last is None and verdict.fixed_since_last is None:
        return []
    new = set(verdict.new_since_last or ())
    fixed = verdict.fixed_since_last or ()
    fresh = [f for f in sort_findings(verdict.findings) if f.fingerprint in new]
    out = ["### Since the last run", "",
           f"{len(new)} new, {len(fixed)} fixed.", ""]
    if fresh:
        out += _finding_table(fresh[:MAX_FINDINGS], verdict)
        out.append("")
    if fixed:
        shown = ", ".join(md(fp[:12], 12) for fp in fixed[:MAX_FINDINGS])
        more = f" and {len(fixed) - MAX_FINDINGS} more" if len(fixed) > MAX_FINDINGS else ""
        out += [f"Fixed: {shown}{more}.", ""]
    return out


def _inert_trends(run: ScanResult) -> ScanResult:
    """The history's own text (timestamps, statuses) made inert before it is tabulated."""
    if not run.trends:
        return run
    return replace(run, trends=tuple(replace(p, at=md(p.at, 40), status=md(p.status, 20))
                                     for p in run.trends))


def _blocking(verdict: Verdict) -> list[Finding]:
    fps: list[str] = []
    for g in verdict.failed_gates:
        fps += g.fingerprints
    wanted = set(fps)
    hits = [f for f in verdict.findings if f.suppression is None and
            f.all_fingerprints & wanted]
    return list(sort_findings(hits))


def _tree_lines(run: ScanResult) -> list[str]:
    """Scanner config files in the tree and symlinks leading out of it (repoconfig.py)."""
    if not run.repo_config and not run.outside_links:
        return []
    out = ["### Scanner configuration in the scanned tree", ""]
    for c in run.repo_config:
        state = "honoured by the trusted policy" if c.honoured else "present, not honoured"
        note = f"; {md(c.note, 200)}" if c.note else ""
        out.append(f"- {md(c.path, 120)} ({md(c.scanner, 20)}): {state}{note}")
    if run.outside_links:
        more = f" and {len(run.outside_links) - 10} more" if len(run.outside_links) > 10 else ""
        out.append("- symlinks leading outside the scanned root, not followed: "
                   + ", ".join(md(p, 120) for p in run.outside_links[:10]) + more)
    return [*out, ""]


class MarkdownReporter:
    name = "markdown"
    filename = "summary.md"

    def render(self, run: ScanResult, verdict: Verdict) -> str:
        out: list[str] = []
        if verdict.status == "pass":
            out.append("## posture-gate: ✅ PASS")
        elif verdict.status == "fail":
            out.append("## posture-gate: ❌ FAIL (policy failed, exit 1)")
        else:
            out.append("## posture-gate: ⚠️ ERROR (could not evaluate, exit 2)")
        out.append("")
        for e in verdict.errors:
            out.append(f"- error: {md(e, 300)}")
        if verdict.errors:
            out.append("")
        out.append(f"Policy {md(run.policy, 120)}"
                   + (f", commit {md(run.commit[:12], 12)}" if run.commit else "")
                   + f", {md(run.started_at, 40)}.")
        out += [f"{md(line[0].upper() + line[1:], 300)}." for line in policy_lines(run)]
        out += [f"Data: {md(line, 200)}." for line in data_freshness(run)]
        out += [f"Threat data: {md(line, 300)}." for line in source_lines(run)]
        out.append("")

        table = totals(verdict.findings)
        out.append("| category | " + " | ".join(s.value for s in _SEV) + " | total |")
        out.append("|---|" + "---:|" * (len(_SEV) + 1))
        for c in Category:
            row = [str(table[c][s]) for s in _SEV]
            out.append(f"| {c.value} | " + " | ".join(row)
                       + f" | {sum(table[c].values())} |")
        col = [str(sum(table[c][s] for c in Category)) for s in _SEV]
        total = sum(sum(r.values()) for r in table.values())
        out.append("| **total** | " + " | ".join(col) + f" | **{total}** |")
        suppressed = sum(1 for f in verdict.findings if f.suppression is not None)
        if suppressed:
            out.append("")
            out.append(f"{suppressed} suppressed finding(s) not counted.")
        unknown = unknown_line(verdict.findings)
        if unknown:
            out += ["", f"{unknown[0].upper()}{unknown[1:]}."]
        out.append("")
        trend = markdown_table(_inert_trends(run).trends or ())
        if trend:
            out += [trend, ""]

        failed = verdict.failed_gates
        if failed:
            out.append("### Failed gates")
            out.append("")
            out += [_gate_line(g) for g in failed]
            out.append("")
            blocking = _blocking(verdict)
            if blocking:
                shown = blocking[:MAX_FINDINGS]
                out.append(f"### Blocking findings ({len(shown)} of {len(blocking)})")
                out.append("")
                out += _finding_table(shown, verdict)
                out.append("")

        out += posture_markdown(run.posture)
        out += coverage_markdown(run.coverage)
        out += effectiveness_markdown(run.effectiveness)
        out += _since_last(verdict)

        out.append("### Scanners")
        out.append("")
        out.append("| scanner | status | version | findings | time | detail |")
        out.append("|---|---|---|---:|---:|---|")
        for s in run.scanners:
            if s.status is RunStatus.OK:
                state = "ok"
            elif s.required:
                state = f"**{s.status.value}** (required)"
            else:
                state = f"skipped (optional, {s.status.value})"
            detail = md(s.reason, 200) if s.status is not RunStatus.OK else ""
            count = str(s.raw_count) if s.status is RunStatus.OK else "-"
            out.append(f"| {md(s.name, 40)} | {state} | {md(s.version or '-', 40)} | "
                       f"{count} | {s.duration_s:.1f}s | {detail} |")
        out.append("")

        vex = vex_lines(verdict.findings)
        if vex:
            out += ["### Suppressed by VEX", "", *[f"- {md(line, 600)}" for line in vex], ""]
        out += _tree_lines(run)
        warnings = [*verdict.warnings, *(f"{s.name}: {w}" for s in run.scanners
                                         for w in s.warnings)]
        if warnings:
            out.append("### Warnings")
            out.append("")
            out += [f"- {md(w, 300)}" for w in warnings]
            out.append("")
        return "\n".join(out).rstrip("\n") + "\n"
