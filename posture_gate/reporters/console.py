"""The console table: totals (category x severity), verdict, failed gates, scanners.

Every untrusted text is one line through `textutil.one_line`: no escape sequence reaches
the terminal, and a newline in a name could otherwise forge a line such as `VERDICT: PASS`.
Colour (on a terminal only, see termstyle.py) is added after that, by this module alone.

Under each failed gate, the findings that failed it (at most `listed`, worst first), each as
`path:line  severity  rule  title  [found_by]`, then "... and N more" and where to see them.
"""

from __future__ import annotations

from ..model import (
    Category,
    Finding,
    RunStatus,
    ScannerRun,
    ScanResult,
    Severity,
    sort_findings,
)
from ..policy.evaluate import GateResult, Verdict, totals
from ..termstyle import Style
from ..textutil import one_line
from .base import data_freshness, policy_lines
from .sections import coverage_console, floor_note, posture_console
from .threatinfo import source_lines
from .unknowns import unknown_line
from .vexinfo import vex_lines

_SEV = Severity.ordered()
LISTED = 10  # blocking findings shown under each failed gate
_WARNINGS = 10  # scanner warnings shown per scanner


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                     enumerate(zip(cells, widths, strict=True))).rstrip()


def _tree_lines(run: ScanResult) -> list[str]:
    """Scanner config files in the tree and symlinks leading out of it (repoconfig.py)."""
    out = []
    for c in run.repo_config:
        state = "honoured by the trusted policy" if c.honoured else "present, not honoured"
        note = f" ({one_line(c.note, 200)})" if c.note else ""
        out.append(f"repo config: {one_line(c.path, 120)} ({one_line(c.scanner, 20)}) "
                   f"{state}{note}")
    if run.outside_links:
        more = f" and {len(run.outside_links) - 10} more" if len(run.outside_links) > 10 else ""
        out.append("symlinks leading outside the scanned root, not followed: "
                   + ", ".join(one_line(p, 120) for p in run.outside_links[:10]) + more)
    return out


def _cached(s: ScannerRun) -> str:
    """Where a scanner's results came from when not (wholly) from this run."""
    if s.cache == "hit":
        return ", from the result cache"
    if s.cache == "partial":
        n = s.properties.get("rescanned_files")
        return f", {n} changed file(s) re-scanned, the rest from the result cache" \
            if isinstance(n, int) else ", changed files re-scanned, the rest from the cache"
    n = s.properties.get("changed_files")
    if isinstance(n, int):
        return f", {n} changed file(s) only (--changed-since)"
    return ""


class ConsoleReporter:
    name = "console"
    filename = "summary.txt"

    def __init__(self, *, style: Style | None = None, listed: int = LISTED,
                 report: str | None = None) -> None:
        """`report`: where every finding can be read (the output dir's findings.json)."""
        self.style = style or Style(enabled=False)
        self.listed = listed
        self.report = report

    def render(self, run: ScanResult, verdict: Verdict) -> str:
        table = totals(verdict.findings)
        header = ["category", *[s.value for s in _SEV], "total"]
        rows = [[c.value, *[str(table[c][s]) for s in _SEV], str(sum(table[c].values()))]
                for c in Category]
        rows.append(["total", *[str(sum(table[c][s] for c in Category)) for s in _SEV],
                     str(sum(sum(r.values()) for r in table.values()))])
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        out = [_row(header, widths), _row(["-" * w for w in widths], widths)]
        out += [_row(r, widths) for r in rows]
        suppressed = sum(1 for f in verdict.findings if f.suppression is not None)
        if suppressed:
            out.append(f"({suppressed} suppressed finding(s) not counted)")
        out += [f"  vex: {line}" for line in vex_lines(verdict.findings)]
        unknown = unknown_line(verdict.findings)
        if unknown:
            out.append(f"({unknown})")
        out.append("")
        out += policy_lines(run)
        out.append("scanners:")
        for s in run.scanners:
            state = s.status.value if s.status is RunStatus.OK or s.required else \
                f"skipped (optional, {s.status.value})"
            ver = f" (version {one_line(s.version, 40)})" if s.version else ""
            detail = f"{s.raw_count} raw finding(s), {s.duration_s:.1f}s{_cached(s)}" \
                if s.status is RunStatus.OK else one_line(s.reason or "", 200)
            out.append(f"  {one_line(s.name, 80)}: {state} - {detail}{ver}")
            # A scanner's warnings (unaudited pins, skipped files) belong where people look,
            # not only in findings.json; capped so a noisy tool cannot bury the verdict.
            out += [f"    warning: {one_line(w, 300)}" for w in s.warnings[:_WARNINGS]]
            if len(s.warnings) > _WARNINGS:
                out.append(f"    ... and {len(s.warnings) - _WARNINGS} more warning(s) "
                           "in findings.json")
        out += [f"  {line}" for line in data_freshness(run)]
        out += [f"threat data: {line}" for line in source_lines(run)]
        out += _tree_lines(run)
        if verdict.new_since_last is not None or verdict.fixed_since_last is not None:
            out.append(f"since the last run: {len(verdict.new_since_last or ())} new, "
                       f"{len(verdict.fixed_since_last or ())} fixed")
        out += coverage_console(run.coverage)
        out += posture_console(run.posture)
        for w in verdict.warnings:
            out.append(f"warning: {one_line(w, 300)}")
        out.append("")
        out += self.verdict_lines(verdict)
        return "\n".join(out) + "\n"

    def verdict_lines(self, verdict: Verdict) -> list[str]:
        """The verdict, its errors, and each failed gate with the findings that failed it."""
        st = self.style
        out = [verdict_line(verdict, st)]
        if verdict.status == "error":
            out += [f"  {one_line(e, 300)}" for e in verdict.errors]
        by_fp = {fp: f for f in verdict.findings if f.suppression is None
                 for fp in f.all_fingerprints}
        for g in verdict.failed_gates:
            out.append(f"  {st.fail('FAILED')} {_gate_text(g)}")
            hits = list(sort_findings([by_fp[fp] for fp in dict.fromkeys(g.fingerprints)
                                       if fp in by_fp]))
            shown = hits[:self.listed]
            out += [f"    {_finding_line(f, st)}" for f in shown]
            listed = g.kind == "ratchet" or floor_note(g) is not None  # no finding behind it
            more = (len(hits) if listed else max(g.count, len(hits))) - len(shown)
            if more > 0:
                out.append(f"    ... and {more} more; {self.report_hint()}")
        return out

    def report_hint(self) -> str:
        if self.report:
            return f"all of them in {one_line(self.report, 200)}"
        return "all of them in the json and markdown reports (-f json,markdown -o DIR)"


def verdict_line(verdict: Verdict, style: Style | None = None) -> str:
    """The one line `-q` prints."""
    st = style or Style(enabled=False)
    if verdict.status == "error":
        return st.warn("VERDICT: ERROR") + " (could not evaluate; exit 2)"
    if verdict.status == "fail":
        return st.fail("VERDICT: FAIL") + " (policy failed; exit 1)"
    return st.ok("VERDICT: PASS")


def _gate_text(g: GateResult) -> str:
    where = f" [target {one_line(g.target, 80)}]" if g.target else ""
    delta = f", {g.delta:+d} vs baseline" if g.delta is not None else ""
    floor = floor_note(g)
    notes = [floor] if floor else [] if g.kind == "ratchet" else \
        ["any severity" if g.severity == "any" else f"{one_line(g.severity, 20)} or worse"]
    if g.unknown:
        notes.append(f"{g.unknown} of them unknown, counted as {one_line(g.unknown_as, 20)}")
    sev = f" ({'; '.join(notes)})" if notes else ""
    return f"{one_line(g.name, 200)}{where}: {g.count} > {g.limit}{sev}{delta}"


def _where(f: Finding) -> str:
    if f.location is not None and f.location.path:
        line = f":{f.location.start_line}" if f.location.start_line else ""
        return one_line(f.location.path, 120) + line
    if f.package is not None:
        return one_line(f"{f.package.name} {f.package.version or ''}".strip(), 120)
    return one_line(f.image or "-", 120)


def _finding_line(f: Finding, st: Style) -> str:
    """`path:line  severity  rule  title  [found_by]`"""
    sev = st.severity(f.severity, f.severity.value)
    found = ", ".join(one_line(s, 20) for s in f.found_by or (f.scanner,))
    return (f"{_where(f)}  {sev}  {one_line(f.rule_id, 60)}  {one_line(f.title, 100)}  "
            f"[{found}]")
