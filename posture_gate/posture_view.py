"""The posture section (posture.py) as report text: console (short), Markdown and HTML (full)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from .textutil import one_line

if TYPE_CHECKING:
    from .posture import Posture

SHORT = {"mfa": "MFA", "review": "review", "open_source": "open source",
         "monitoring": "monitoring", "os": "OS", "effectiveness": "effectiveness",
         "testing": "testing"}


def console_lines(p: Posture | None) -> list[str]:
    """One short line per question: its label, status and the start of the answer."""
    if p is None:
        return []
    out = ["posture (full answers in the json, markdown and html reports):"]
    for a in p.answers:
        # a "not measured: why" answer already says its status
        lead = "" if a.answer.startswith(a.status) else f"{a.status} - "
        out.append(f"  {SHORT.get(a.key, a.key)}: {lead}{one_line(a.answer, 90)}")
    return out


def _md(text: object, limit: int = 600) -> str:
    s = one_line(text, limit)
    for ch in "\\`*_[]<>|":
        s = s.replace(ch, "\\" + ch)
    return s


def markdown(p: Posture | None) -> list[str]:
    if p is None:
        return []
    out = ["### Security posture", ""]
    if p.at_stake:
        out.append(f"At stake: {_md(', '.join(p.at_stake), 300)}.")
    for t in p.targets:
        out.append(f"- target **{_md(t.name, 80)}**: exposure {_md(t.exposure or 'not set')}, "
                   f"owner {_md(t.owner or 'not named')}"
                   + (f", holds {_md(', '.join(t.holds), 200)}" if t.holds else ""))
    if p.at_stake or p.targets:
        out.append("")
    out += ["| question | answer | status | source |", "|---|---|---|---|"]
    out += [f"| {_md(a.question)} | {_md(a.answer)} | {_md(a.status)} | {_md(a.source)} |"
            for a in p.answers]
    return [*out, ""]


def html_section(p: Posture | None) -> list[str]:
    if p is None:
        return []
    e = html.escape
    out = ['<section id="posture"><h2>Security posture</h2>']
    if p.at_stake:
        out.append(f"<p>At stake: {e(one_line(', '.join(p.at_stake), 300))}</p>")
    if p.targets:
        out.append("<ul>" + "".join(
            f"<li>target <b>{e(one_line(t.name, 80))}</b>: exposure "
            f"{e(one_line(t.exposure or 'not set'))}, owner {e(one_line(t.owner or 'not named'))}"
            "</li>" for t in p.targets) + "</ul>")
    out.append("<table><thead><tr><th>question</th><th>answer</th><th>status</th>"
               "<th>source</th></tr></thead><tbody>")
    out += [f'<tr data-question="{e(a.key)}"><td>{e(a.question)}</td>'
            f"<td>{e(one_line(a.answer, 600))}</td><td>{e(a.status)}</td>"
            f"<td>{e(one_line(a.source, 200))}</td></tr>" for a in p.answers]
    return [*out, "</tbody></table></section>"]
