"""report.html: one self-contained page (no network, no external scripts, fonts or CSS).

Verdict, failed gates, the totals table, trend charts of the totals per category drawn as
inline SVG (from `run.trends`, which the CLI fills from the history file), and the findings
with their age, filterable by category and severity. A Content-Security-Policy allows only
this page's own style and script (by hash), so the page can load nothing from anywhere.
Every text that came from a scanner or the scanned tree goes through `e`: the one cleaner
(`textutil.one_line`: ANSI, controls, bidi and zero-width characters out), then
`html.escape`.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import html
from collections.abc import Sequence

from ..model import Category, Finding, ScanResult, Severity, TrendPoint
from ..policy.evaluate import Verdict, totals
from ..textutil import one_line
from .sections import coverage_html, effectiveness_html, posture_html
from .threatinfo import finding_note, source_lines
from .unknowns import unknown_line
from .vexinfo import vex_line

_SEV = Severity.ordered()
_CATS = tuple(c.value for c in Category)

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
 color:#1d2330;background:#f6f7f9}
main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:28px 0 8px}
.verdict{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:700;color:#fff}
.v-pass{background:#1f7a3a}.v-fail{background:#b42318}.v-error{background:#6b4e00}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:12px 0}
dl.meta dt{color:#5b6475}dl.meta dd{margin:0;word-break:break-all}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border:1px solid #dde1e7;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}td.n{text-align:right;font-variant-numeric:tabular-nums}
.sev{font-weight:600}.s-critical{color:#8a1212}.s-high{color:#b42318}.s-medium{color:#a15c00}
.s-low{color:#3d5a80}.s-info,.s-unknown{color:#5b6475}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;background:#fff;border:1px solid #dde1e7;padding:8px}
figcaption{font-weight:600;margin-bottom:4px}
svg text{font:11px system-ui,sans-serif;fill:#5b6475}
.filters{display:flex;gap:16px;align-items:center;margin:8px 0}
.badge{font-size:11px;background:#e8eefc;color:#1d3f8f;padding:0 6px;border-radius:8px}
.muted{color:#5b6475}tr[hidden]{display:none}
"""

_SCRIPT = """
(function () {
  "use strict";
  var cat = document.getElementById("f-category");
  var sev = document.getElementById("f-severity");
  var shown = document.getElementById("shown");
  var rows = document.querySelectorAll("#findings-table tbody tr");
  function apply() {
    var c = cat.value, s = sev.value, n = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = (!c || r.getAttribute("data-category") === c) &&
               (!s || r.getAttribute("data-severity") === s);
      r.hidden = !ok;
      if (ok) { n++; }
    }
    shown.textContent = String(n);
  }
  function fromHash() {
    var params = new URLSearchParams(window.location.hash.slice(1));
    if (params.has("category")) { cat.value = params.get("category"); }
    if (params.has("severity")) { sev.value = params.get("severity"); }
  }
  cat.addEventListener("change", apply);
  sev.addEventListener("change", apply);
  window.addEventListener("hashchange", function () { fromHash(); apply(); });
  fromHash();
  apply();
  document.documentElement.setAttribute("data-ready", "1");
})();
"""


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


CSP = (f"default-src 'none'; style-src {_csp_hash(_STYLE)}; script-src {_csp_hash(_SCRIPT)}; "
       "img-src data:; base-uri 'none'; form-action 'none'")


def e(text: object, limit: int = 2000) -> str:
    """Text for an element or a quoted attribute: `textutil.one_line` (the page has no
    preformatted text, and HTML would fold a newline into a space anyway), then entities."""
    return html.escape(one_line(text, limit), quote=True)


@functools.lru_cache(maxsize=8192)
def _e_often(text: str) -> str:
    """e() of a value many findings share (a severity, a rule id, a title): 100k rows
    escape a few thousand distinct ones."""
    return e(text)


def _where(f: Finding) -> str:
    if f.location is not None:
        line = f":{f.location.start_line}" if f.location.start_line else ""
        return f.location.path + line
    if f.package is not None:
        return f"{f.package.name}=={f.package.version}" if f.package.version else f.package.name
    return f.image or ""


def _seconds(at: str) -> float:
    try:
        return datetime.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _chart(category: str, points: Sequence[TrendPoint]) -> str:
    """One small line chart: totals of one category per run, oldest left."""
    w, h, left, right, top, bottom = 340, 130, 34, 10, 10, 22
    values = [p.totals.get(category, 0) for p in points]
    top_value = max(max(values), 1)
    span_x = w - left - right
    span_y = h - top - bottom
    times = [_seconds(p.at) for p in points]
    t0, t1 = min(times), max(times)

    def x(i: int) -> float:  # by time, so a gap between runs shows as a gap
        if t1 > t0:
            return left + span_x * (times[i] - t0) / (t1 - t0)
        return left + (span_x * i / (len(values) - 1) if len(values) > 1 else span_x / 2)

    def y(v: int) -> float:
        return top + span_y * (1 - v / top_value)

    coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    path = "M" + " L".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    last = values[-1]
    first_at, last_at = points[0].at[:10], points[-1].at[:10]
    parts = [
        f'<svg class="trend" data-category="{e(category)}" data-points="{len(values)}" '
        f'data-values="{e(",".join(map(str, values)))}" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'aria-label="{e(category)} findings per run">',
        f"<title>{e(category)}: {e(', '.join(map(str, values[-30:])))}</title>",
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#c3c9d3"/>',
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" '
        'stroke="#c3c9d3"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{top_value}</text>',
        f'<text x="{left - 4}" y="{h - bottom}" text-anchor="end">0</text>',
        f'<text x="{left}" y="{h - 6}">{e(first_at)}</text>',
        f'<text x="{w - right}" y="{h - 6}" text-anchor="end">{e(last_at)}</text>',
    ]
    if len(values) > 1:
        parts.append(f'<polyline points="{coords}" fill="none" stroke="#2b59c3" '
                     'stroke-width="2" stroke-linejoin="round"/>')
        parts.append(f'<path class="series" d="{path}" fill="none" stroke="none"/>')
    parts.append(f'<circle cx="{x(len(values) - 1):.1f}" cy="{y(last):.1f}" r="3.5" '
                 'fill="#2b59c3"/>')
    parts.append("</svg>")
    return "".join(parts)


def _trends(run: ScanResult) -> list[str]:
    points = run.trends or ()
    if not points:
        return ['<p class="muted">No history for this run: scan with '
                "<code>--history FILE</code> to chart the totals over time.</p>"]
    out = [f'<p class="muted">{len(points)} run(s), {e(points[0].at)} to '
           f"{e(points[-1].at)}.</p>", '<div class="charts">']
    for c in _CATS:
        now = points[-1].totals.get(c, 0)
        out.append(f"<figure><figcaption>{e(c)} <span class=\"muted\">(now {now})</span>"
                   f"</figcaption>{_chart(c, points)}</figure>")
    out.append("</div>")
    return out


def _totals(verdict: Verdict) -> list[str]:
    table = totals(verdict.findings)
    out = ['<table id="totals-table"><thead><tr><th>category</th>']
    out += [f"<th>{s.value}</th>" for s in _SEV]
    out.append("<th>total</th></tr></thead><tbody>")
    for c in Category:
        out.append(f"<tr><th>{c.value}</th>")
        out += [f'<td class="n">{table[c][s]}</td>' for s in _SEV]
        out.append(f'<td class="n">{sum(table[c].values())}</td></tr>')
    out.append("<tr><th>total</th>")
    out += [f'<td class="n">{sum(table[c][s] for c in Category)}</td>' for s in _SEV]
    out.append(f'<td class="n">{sum(sum(r.values()) for r in table.values())}</td></tr>')
    out.append("</tbody></table>")
    return out


def _gates(verdict: Verdict) -> list[str]:
    failed = verdict.failed_gates
    out: list[str] = []
    if verdict.errors:
        out.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in verdict.errors) + "</ul>")
    if not failed:
        out.append('<p class="muted">Every gate holds.</p>' if verdict.status == "pass"
                   else "")
        return out
    out.append("<table><thead><tr><th>gate</th><th>target</th><th>count</th>"
               "<th>limit</th></tr></thead><tbody>")
    for g in failed:
        out.append(f"<tr><td>{e(g.name)}</td><td>{e(g.target or '')}</td>"
                   f'<td class="n">{g.count}</td><td class="n">{g.limit}</td></tr>')
    out.append("</tbody></table>")
    return out


def _findings(verdict: Verdict) -> list[str]:
    ages = verdict.ages
    new = set(verdict.new_since_last or ())
    present_cats = [c for c in _CATS if any(f.category.value == c for f in verdict.findings)]
    present_sev = [s.value for s in _SEV if any(f.severity is s for f in verdict.findings)]
    out = ['<div class="filters">',
           '<label>category <select id="f-category"><option value="">all</option>']
    out += [f'<option value="{e(c)}">{e(c)}</option>' for c in present_cats]
    out.append('</select></label><label>severity <select id="f-severity">'
               '<option value="">all</option>')
    out += [f'<option value="{e(s)}">{e(s)}</option>' for s in present_sev]
    out.append(f'</select></label><span><span id="shown">{len(verdict.findings)}</span> of '
               f"{len(verdict.findings)} shown</span></div>")
    out.append('<table id="findings-table"><thead><tr><th>severity</th><th>category</th>'
               "<th>rule</th><th>title</th><th>where</th><th>found by</th>"
               "<th>age (days)</th></tr></thead><tbody>")
    for f in verdict.findings:
        age = "" if ages is None else str(ages.get(f.fingerprint, 0))
        badges = ""
        if f.fingerprint in new:
            badges += ' <span class="badge">new</span>'
        if f.suppression is not None:
            badges += f' <span class="badge">suppressed ({e(f.suppression.kind)})</span>'
            if f.suppression.vex is not None:
                badges += f' <span class="badge">{e(vex_line(f))}</span>'
        if finding_note(f):
            badges += f' <span class="badge">{e(finding_note(f))}</span>'
        cat, sev = _e_often(f.category.value), _e_often(f.severity.value)
        out.append(
            f'<tr data-category="{cat}" data-severity="{sev}"'
            f' data-fingerprint="{e(f.fingerprint)}">'
            f'<td class="sev s-{sev}">{sev}</td>'
            f"<td>{cat}</td><td>{_e_often(f.rule_id)}</td>"
            f"<td>{_e_often(f.title)}{badges}</td><td>{e(_where(f))}</td>"
            f"<td>{_e_often(', '.join(f.found_by or (f.scanner,)))}</td>"
            f'<td class="n">{_e_often(age)}</td></tr>')
    out.append("</tbody></table>")
    return out


class HtmlReporter:
    name = "html"
    filename = "report.html"

    def render(self, run: ScanResult, verdict: Verdict) -> str:
        status = verdict.status if verdict.status in ("pass", "fail", "error") else "error"
        meta = [("root", run.root), ("commit", run.commit or "-"), ("branch", run.branch or "-"),
                ("policy", f"{run.policy} (sha256 {run.policy_digest[:12]})"),
                ("started", run.started_at), ("finished", run.finished_at),
                ("posture-gate", run.tool_version),
                ("scanners", ", ".join(f"{s.name} {s.status.value}"
                                       + (f" ({s.version})" if s.version else "")
                                       for s in run.scanners))]
        if verdict.baseline:
            meta.append(("baseline", verdict.baseline))
        meta += [("threat data", line) for line in source_lines(run)]
        unknown = unknown_line(verdict.findings)
        if unknown:
            meta.append(("dependency severity", unknown))
        changes = ""
        if verdict.new_since_last is not None or verdict.fixed_since_last is not None:
            changes = (f"<p>Since the previous run: {len(verdict.new_since_last or ())} new, "
                       f"{len(verdict.fixed_since_last or ())} fixed.</p>")
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{html.escape(CSP)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>posture-gate: {status.upper()}</title>",
            f"<style>{_STYLE}</style></head><body><main>",
            "<h1>posture-gate report</h1>",
            f'<p><span id="verdict" class="verdict v-{status}">{status.upper()}</span></p>',
            '<dl class="meta">' + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in meta)
            + "</dl>",
            changes,
            *[f'<p class="muted">warning: {e(w)}</p>' for w in verdict.warnings],
            '<h2>Failed gates</h2><section id="gates">', *_gates(verdict), "</section>",
            '<h2>Totals</h2><section id="totals">', *_totals(verdict), "</section>",
            '<h2>Trends</h2><section id="trends">', *_trends(run), "</section>",
            *posture_html(run.posture),
            *coverage_html(run.coverage),
            *effectiveness_html(run.effectiveness),
            '<h2>Findings</h2><section id="findings">', *_findings(verdict), "</section>",
            f"</main><script>{_SCRIPT}</script></body></html>",
        ]
        return "\n".join(p for p in parts if p) + "\n"
