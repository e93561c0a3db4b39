"""Review coverage as a gate (`coverage: {min_ratio: {python: 1.0}, unscanned_languages: fail}`)
and as report text (console lines, Markdown, HTML)."""

from __future__ import annotations

import html
import math

from .coverage import Coverage, Language
from .policy.model import CoveragePolicy, GateKind, GateResult
from .textutil import one_line

GROUP_LABELS = {"iac": "IaC files scanned", "manifests": "lock files/manifests audited",
                "images": "images named in Dockerfiles scanned"}


def _present_covered(cov: Coverage, key: str) -> tuple[int, int] | None:
    lang = cov.language(key)
    if lang is not None:
        return lang.present, lang.covered
    group = next((g for g in cov.groups if g.kind == key), None)
    if group is not None:
        return len(group.present), sum(1 for p in group.present if p in group.covered)
    return None


def unscanned(cov: Coverage) -> list[Language]:
    """Languages present in the tree that no scanner reviewed at all."""
    return [lang for lang in cov.languages if lang.present and not lang.covered]


def gates(policy: CoveragePolicy | None, cov: Coverage | None) -> tuple[list[GateResult],
                                                                        list[str]]:
    """(gate results, errors). A coverage floor without a measurement is an error: nothing
    measured is not a pass."""
    if policy is None:
        return [], []
    if cov is None:
        return [], ["coverage floors are set but this run has no coverage measurement"]
    out = []
    for key, floor in sorted(policy.min_ratio.items()):
        pc = _present_covered(cov, key)
        present, covered = pc if pc is not None else (0, 0)
        allowed = present - math.ceil(floor * present - 1e-9)  # files that may go unreviewed
        missing = present - covered
        out.append(GateResult(name=f"coverage.min_ratio.{key}", kind=GateKind.COVERAGE,
                              severity="any", limit=allowed, count=missing,
                              passed=missing <= allowed))
    if policy.unscanned_languages == "fail":
        names = [lang.name for lang in unscanned(cov)]
        out.append(GateResult(name="coverage.unscanned_languages", kind=GateKind.COVERAGE,
                              severity="any", limit=0, count=len(names), passed=not names))
    return out, []


def _reasons(lang: Language) -> str:
    return ", ".join(f"{n} {r}" for r, n in lang.skipped_by_reason.items())


def console_lines(cov: Coverage | None) -> list[str]:
    """One line per language, then one per group."""
    if cov is None:
        return []
    out = ["review coverage:"]
    for lang in cov.languages:
        by = ", ".join(f"{s} {n}" for s, n in sorted(lang.scanned.items())) or "no scanner"
        skipped = f"; skipped: {_reasons(lang)}" if lang.skipped_by_reason else ""
        out.append(f"  {lang.name}: {lang.covered}/{lang.present} files reviewed "
                   f"({lang.ratio:.0%}; {by}){skipped}")
    for g in cov.groups:
        if g.present:
            n = sum(1 for p in g.present if p in g.covered)
            out.append(f"  {GROUP_LABELS.get(g.kind, g.kind)}: {n}/{len(g.present)}")
    return out


def markdown(cov: Coverage | None) -> list[str]:
    if cov is None:
        return []
    out = ["### Review coverage", "", "| language | files | reviewed | ratio | by scanner "
           "| skipped (reason) |", "|---|---:|---:|---:|---|---|"]
    for lang in cov.languages:
        by = ", ".join(f"{s} {n}" for s, n in sorted(lang.scanned.items())) or "none"
        out.append(f"| {lang.name} | {lang.present} | {lang.covered} | {lang.ratio:.0%} | "
                   f"{by} | {_md(_reasons(lang)) or '-'} |")
    out.append("")
    for g in cov.groups:
        if g.present:
            missing = [p for p in g.present if p not in g.covered]
            n = len(g.present) - len(missing)
            tail = f" (not covered: {_md(', '.join(missing[:10]))})" if missing else ""
            out.append(f"- {GROUP_LABELS.get(g.kind, g.kind)}: {n}/{len(g.present)}{tail}")
    skipped = [s for lang in cov.languages for s in lang.skipped][:20]
    if skipped:
        out += ["", "<details><summary>Skipped files</summary>", ""]
        out += [f"- `{_md(s.path)}` ({_md(s.scanner)}): {_md(s.reason)}" for s in skipped]
        out += ["", "</details>"]
    return [*out, ""]


def _md(text: object) -> str:
    s = one_line(text, 300)
    for ch in "\\`*_[]<>|":
        s = s.replace(ch, "\\" + ch)
    return s


def html_section(cov: Coverage | None) -> list[str]:
    if cov is None:
        return []
    e = html.escape
    rows = []
    for lang in cov.languages:
        by = ", ".join(f"{s} {n}" for s, n in sorted(lang.scanned.items())) or "none"
        rows.append(f"<tr><td>{e(lang.name)}</td><td class=\"n\">{lang.present}</td>"
                    f"<td class=\"n\">{lang.covered}</td><td class=\"n\">{lang.ratio:.0%}</td>"
                    f"<td>{e(one_line(by))}</td><td>{e(one_line(_reasons(lang)))}</td></tr>")
    out = ["<section><h2>Review coverage</h2>", "<table><thead><tr><th>language</th>"
           "<th>files</th><th>reviewed</th><th>ratio</th><th>by scanner</th>"
           "<th>skipped (reason)</th></tr></thead><tbody>", *rows, "</tbody></table>", "<ul>"]
    for g in cov.groups:
        if g.present:
            n = sum(1 for p in g.present if p in g.covered)
            out.append(f"<li>{e(GROUP_LABELS.get(g.kind, g.kind))}: {n}/{len(g.present)}</li>")
    skipped = [s for lang in cov.languages for s in lang.skipped][:50]
    out.append("</ul>")
    if skipped:
        out.append("<details><summary>Skipped files</summary><ul>")
        out += [f"<li><code>{e(one_line(s.path))}</code> ({e(one_line(s.scanner))}): "
                f"{e(one_line(s.reason))}</li>" for s in skipped]
        out.append("</ul></details>")
    return [*out, "</section>"]
