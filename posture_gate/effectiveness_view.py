"""Effectiveness (effectiveness.py) as gates and as text: `history show`, Markdown, HTML."""

from __future__ import annotations

import html
import math

from .effectiveness import Effectiveness, Stat
from .policy.model import EffectivenessPolicy, GateKind, GateResult
from .textutil import one_line


def _gate(name: str, value: float, limit: float) -> GateResult:
    return GateResult(name=name, kind=GateKind.EFFECTIVENESS, severity="any",
                      limit=math.floor(limit), count=math.ceil(value), passed=value <= limit)


def gates(policy: EffectivenessPolicy | None, eff: Effectiveness | None,
          history_given: bool) -> tuple[list[GateResult], list[str], list[str]]:
    """(gate results, errors, warnings). Limits without a history cannot be judged: an
    error (nothing measured is not a pass). A severity with nothing fixed yet passes its
    time-to-fix limits with a warning."""
    if policy is None:
        return [], [], []
    if eff is None:
        why = "no run history was given (--history)" if not history_given else \
            "the run history holds no run yet"
        return [], [f"effectiveness limits are set but {why}"], []
    out: list[GateResult] = []
    errors: list[str] = []
    warnings: list[str] = []
    for key, limits in (("max_median_days_to_fix", policy.max_median_days_to_fix),
                        ("max_p90_days_to_fix", policy.max_p90_days_to_fix)):
        for sev, days in sorted(limits.items()):
            stat = eff.time_to_fix_by_severity.get(sev)
            if stat is None:
                warnings.append(f"effectiveness.{key}.{sev}: no {sev} finding fixed yet")
                out.append(_gate(f"effectiveness.{key}.{sev}", 0.0, days))
                continue
            value = stat.median if key == "max_median_days_to_fix" else stat.p90
            out.append(_gate(f"effectiveness.{key}.{sev}", value, days))
    for sev, share in sorted(policy.min_sla_compliance.items()):
        sla = next((s for s in eff.sla if s.severity == sev), None)
        if sla is None:
            errors.append(f"effectiveness.min_sla_compliance.{sev} needs sla_days.{sev}")
            continue
        decided = sla.within + sla.late
        allowed = math.floor((1 - share) * decided + 1e-9)
        ok = sla.compliance is None or sla.compliance >= share - 1e-9
        out.append(GateResult(name=f"effectiveness.min_sla_compliance.{sev}",
                              kind=GateKind.EFFECTIVENESS, severity="any", limit=allowed,
                              count=sla.late, passed=ok))
    return out, errors, warnings


def _stat(s: Stat) -> str:
    return f"median {s.median:g} d, p90 {s.p90:g} d (n={s.n})"


def text_lines(eff: Effectiveness | None) -> list[str]:
    """For `history show` and the console."""
    if eff is None:
        return []
    out = [f"effectiveness (as of {eff.as_of}, {eff.runs} run(s)):"]
    out += [f"  time to fix {k}: {_stat(s)}" for k, s in eff.time_to_fix.items()]
    out += [f"  open {k}: {s.n} open, age median {s.median:g} d, p90 {s.p90:g} d, "
            f"max {s.max:g} d" for k, s in eff.open_age.items()]
    for sla in eff.sla:
        c = sla.compliance
        share = "n/a" if c is None else f"{c:.0%}"
        out.append(f"  SLA {sla.severity} ({sla.days} d): {share} ({sla.within} within, "
                   f"{sla.late} late)")
    out += [f"  week {w.week}: {w.introduced} introduced, {w.fixed} fixed" for w in eff.weeks]
    return out


def markdown(eff: Effectiveness | None) -> list[str]:
    if eff is None:
        return []
    out = ["### Vulnerability-management effectiveness", "",
           f"From the run history, as of {one_line(eff.as_of, 40)} ({eff.runs} run(s)).", ""]
    if eff.time_to_fix:
        out += ["| category/severity | fixed | median days to fix | p90 days to fix |",
                "|---|---:|---:|---:|"]
        out += [f"| {k} | {s.n} | {s.median:g} | {s.p90:g} |"
                for k, s in eff.time_to_fix.items()]
    else:
        out.append("No finding fixed yet: no time to fix.")
    if eff.sla:
        out += ["", "| severity | SLA days | within | late | compliance |",
                "|---|---:|---:|---:|---:|"]
        for sla in eff.sla:
            c = sla.compliance
            out.append(f"| {sla.severity} | {sla.days} | {sla.within} | {sla.late} | "
                       f"{'n/a' if c is None else f'{c:.0%}'} |")
    if eff.open_age:
        out += ["", "| severity | open | median age (days) | p90 age | oldest |",
                "|---|---:|---:|---:|---:|"]
        out += [f"| {k} | {s.n} | {s.median:g} | {s.p90:g} | {s.max:g} |"
                for k, s in eff.open_age.items()]
    if eff.weeks:
        out += ["", "| week | introduced | fixed |", "|---|---:|---:|"]
        out += [f"| {w.week} | {w.introduced} | {w.fixed} |" for w in eff.weeks[-12:]]
    return [*out, ""]


def _chart(eff: Effectiveness) -> str:
    """Introduced (red) vs fixed (green) per week, bars; inline SVG, no script."""
    weeks = eff.weeks[-12:]
    top = max([1, *(max(w.introduced, w.fixed) for w in weeks)])
    bars = []
    for i, w in enumerate(weeks):
        x = 10 + i * 40
        for j, (n, colour) in enumerate(((w.introduced, "#c0392b"), (w.fixed, "#27ae60"))):
            h = 80 * n / top
            bars.append(f'<rect x="{x + j * 14}" y="{90 - h:.1f}" width="12" '
                        f'height="{h:.1f}" fill="{colour}"><title>{html.escape(w.week)}: '
                        f'{n} {"introduced" if j == 0 else "fixed"}</title></rect>')
        bars.append(f'<text x="{x}" y="104" font-size="8">{html.escape(w.week[-3:])}</text>')
    width = 20 + 40 * len(weeks)
    return (f'<svg class="weekly" role="img" aria-label="introduced vs fixed per week" '
            f'width="{width}" height="110" viewBox="0 0 {width} 110">{"".join(bars)}</svg>')


def html_section(eff: Effectiveness | None) -> list[str]:
    if eff is None:
        return []
    e = html.escape
    rows = "".join(f"<tr><td>{e(k)}</td><td class=\"n\">{s.n}</td><td class=\"n\">{s.median:g}"
                   f"</td><td class=\"n\">{s.p90:g}</td></tr>"
                   for k, s in eff.time_to_fix.items())
    sla = "".join(f"<li>{e(s.severity)} ({s.days} d): "
                  f"{'n/a' if s.compliance is None else f'{s.compliance:.0%}'} "
                  f"({s.within} within, {s.late} late)</li>" for s in eff.sla)
    table = ("<table><thead><tr><th>category/severity</th><th>fixed</th><th>median days to "
             f"fix</th><th>p90 days to fix</th></tr></thead><tbody>{rows}</tbody></table>"
             if rows else "<p>No finding fixed yet: no time to fix.</p>")
    return ['<section id="effectiveness"><h2>Vulnerability-management effectiveness</h2>',
            f"<p>From the run history, as of {e(eff.as_of)} ({eff.runs} run(s)).</p>", table,
            f"<ul>{sla}</ul>" if sla else "",
            _chart(eff) if eff.weeks else "", "</section>"]
