"""The console table: totals (category x severity), verdict, failed gates, scanners.

Every untrusted text is one line through `textutil.one_line`: no escape sequence reaches
the terminal, and a newline in a name could otherwise forge a line such as `VERDICT: PASS`.
"""

from __future__ import annotations

from ..model import Category, RunStatus, ScanResult, Severity
from ..policy.evaluate import Verdict, totals
from ..textutil import one_line
from .base import data_freshness, policy_lines

_SEV = Severity.ordered()


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


class ConsoleReporter:
    name = "console"
    filename = "summary.txt"

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
        out.append("")
        out += policy_lines(run)
        out.append("scanners:")
        for s in run.scanners:
            state = s.status.value if s.status is RunStatus.OK or s.required else \
                f"skipped (optional, {s.status.value})"
            ver = f" (version {one_line(s.version, 40)})" if s.version else ""
            detail = f"{s.raw_count} raw finding(s), {s.duration_s:.1f}s" \
                if s.status is RunStatus.OK else one_line(s.reason or "", 200)
            out.append(f"  {one_line(s.name, 80)}: {state} - {detail}{ver}")
        out += [f"  {line}" for line in data_freshness(run)]
        out += _tree_lines(run)
        if verdict.new_since_last is not None or verdict.fixed_since_last is not None:
            out.append(f"since the last run: {len(verdict.new_since_last or ())} new, "
                       f"{len(verdict.fixed_since_last or ())} fixed")
        for w in verdict.warnings:
            out.append(f"warning: {one_line(w, 300)}")
        out.append("")
        if verdict.status == "error":
            out.append("VERDICT: ERROR (could not evaluate; exit 2)")
            out += [f"  {one_line(e, 300)}" for e in verdict.errors]
        elif verdict.status == "fail":
            out.append("VERDICT: FAIL (policy failed; exit 1)")
        else:
            out.append("VERDICT: PASS")
        for g in verdict.failed_gates:
            where = f" [target {one_line(g.target, 80)}]" if g.target else ""
            delta = f", {g.delta:+d} vs baseline" if g.delta is not None else ""
            sev = "" if g.kind == "ratchet" else (" (any severity)" if g.severity == "any"
                                                  else f" ({one_line(g.severity, 20)} or worse)")
            name = one_line(g.name, 200)
            out.append(f"  FAILED {name}{where}: {g.count} > {g.limit}{sev}{delta}")
        return "\n".join(out) + "\n"
