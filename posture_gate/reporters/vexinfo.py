"""Findings suppressed by a VEX statement, as every report lists them: what, which package,
the status and justification, who said so and when, and where the statement is."""

from __future__ import annotations

from collections.abc import Sequence

from ..model import Finding
from ..textutil import one_line

MAX_LISTED = 50


def vex_suppressed(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.suppression is not None and f.suppression.vex is not None]


def vex_line(f: Finding) -> str:
    """'PYSEC-2020-96 pyyaml 5.1: not_affected (vulnerable_code_not_in_execute_path) by
    Jane <j@x> at 2024-10-09T14:30:00Z [vex.json#statements[0]]' (plain: escape it)."""
    v = f.suppression.vex if f.suppression is not None else None
    if v is None:
        return ""
    pkg = f"{f.package.name} {f.package.version or ''}".strip() if f.package else ""
    why = "; ".join(x for x in (v.justification, v.impact) if x)
    return one_line(f"{f.rule_id} {pkg}: {v.status}" + (f" ({why})" if why else "")
                    + (f" by {v.author}" if v.author else "") + (f" at {v.at}" if v.at else "")
                    + (f" [{v.source}]" if v.source else ""), 600)


def vex_lines(findings: Sequence[Finding]) -> list[str]:
    listed = vex_suppressed(findings)
    out = [vex_line(f) for f in listed[:MAX_LISTED]]
    if len(listed) > MAX_LISTED:
        out.append(f"... and {len(listed) - MAX_LISTED} more (findings.json has them all)")
    return out
