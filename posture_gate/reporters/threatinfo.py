"""What every report says about threat data: which KEV/EPSS files the run used and how old
they were, and a short note per finding (known exploited, EPSS score)."""

from __future__ import annotations

import datetime
from typing import Any

from ..model import Finding, ScanResult
from ..textutil import one_line

_LABEL = {"kev": "CISA KEV catalogue", "epss": "FIRST EPSS scores"}


def _days_before(stamp: str, started: str) -> int | None:
    try:
        then = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        now = datetime.datetime.fromisoformat(started.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (now.date() - then.date()).days


def source_lines(run: ScanResult) -> list[str]:
    """One line per threat file: kind, version, date, age at scan time, entries."""
    out = []
    for s in run.threat:
        age = _days_before(s.date, run.started_at)
        when = f", {age} days before this scan" if age is not None else ""
        out.append(f"{_LABEL.get(s.kind, one_line(s.kind, 10))} {one_line(s.version, 40)} "
                   f"dated {one_line(s.date, 40)}{when} ({s.entries} entries, "
                   f"{one_line(s.path, 200)})")
    return out


def finding_note(f: Finding) -> str:
    """'KEV since 2024-10-01 (due 2024-10-22, ransomware); EPSS 0.042 (p92)', or ''."""
    parts = []
    if f.kev is not None:
        ransom = ", ransomware" if f.kev.ransomware else ""
        parts.append(f"KEV since {one_line(f.kev.date_added, 10)} "
                     f"(due {one_line(f.kev.due_date, 10)}{ransom})")
    if f.epss is not None:
        parts.append(f"EPSS {f.epss.score:.3f} (p{int(f.epss.percentile * 100)})")
    return "; ".join(parts)


def finding_properties(f: Finding) -> dict[str, Any]:
    """SARIF result properties (camelCase, like the rest of the bag)."""
    props: dict[str, Any] = {}
    if f.kev is not None:
        props["kev"] = {"cve": one_line(f.kev.cve, 40), "dateAdded": one_line(f.kev.date_added, 10),
                        "dueDate": one_line(f.kev.due_date, 10),
                        "knownRansomwareCampaignUse": f.kev.ransomware}
    if f.epss is not None:
        props["epss"] = {"cve": one_line(f.epss.cve, 40), "score": f.epss.score,
                         "percentile": f.epss.percentile}
    return props


def run_properties(run: ScanResult) -> list[dict[str, Any]]:
    return [{"kind": s.kind, "version": one_line(s.version, 40), "date": one_line(s.date, 40),
             "sha256": one_line(s.sha256, 64), "entries": s.entries} for s in run.threat]
