"""How effective is vulnerability management: measured from the run history (history.py).

- Time to fix: for every finding the history saw fixed, fixed_at - first_seen in days;
  per category and severity the median and the 90th percentile (nearest rank: the value at
  position ceil(0.9 n) of the sorted list).
- SLA compliance per severity with an `sla_days`: of the findings whose outcome is decided
  (fixed, or still open past the SLA), the share fixed within it. Open findings still
  inside their SLA are not counted either way.
- Open age: for every open finding, as of the last recorded run, its age in days; median,
  90th percentile and maximum per severity.
- Introduced (new or reopened) vs fixed per ISO week, from the history's events.

Pure: it computes from the rows history.lifecycle() reads, so the reporters that show it
never reach the storage layer.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .dates import parse_at
from .model import Severity

DAY = 86400.0


def p90(values: Sequence[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


@dataclass(frozen=True, kw_only=True)
class Stat:
    """Days over a set of findings."""

    n: int
    median: float
    p90: float
    max: float

    @classmethod
    def of(cls, days: Sequence[float]) -> Stat:
        return cls(n=len(days), median=round(statistics.median(days), 2),
                   p90=round(p90(days), 2), max=round(max(days), 2))

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "median_days": self.median, "p90_days": self.p90,
                "max_days": self.max}


@dataclass(frozen=True, kw_only=True)
class Sla:
    severity: str
    days: int
    within: int  # fixed within the SLA
    late: int  # fixed after it, or open past it

    @property
    def compliance(self) -> float | None:
        decided = self.within + self.late
        return self.within / decided if decided else None

    def to_dict(self) -> dict[str, Any]:
        c = self.compliance
        return {"severity": self.severity, "sla_days": self.days, "within": self.within,
                "late": self.late, "compliance": None if c is None else round(c, 4)}


@dataclass(frozen=True, kw_only=True)
class Week:
    week: str  # ISO week, 2026-W47
    introduced: int
    fixed: int

    def to_dict(self) -> dict[str, Any]:
        return {"week": self.week, "introduced": self.introduced, "fixed": self.fixed}


@dataclass(frozen=True, kw_only=True)
class Effectiveness:
    as_of: str  # the last recorded run
    runs: int
    time_to_fix: Mapping[str, Stat] = field(default_factory=dict)  # "category/severity"
    time_to_fix_by_severity: Mapping[str, Stat] = field(default_factory=dict)
    open_age: Mapping[str, Stat] = field(default_factory=dict)  # severity
    sla: tuple[Sla, ...] = ()
    weeks: tuple[Week, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "runs": self.runs,
                "time_to_fix": {k: v.to_dict() for k, v in self.time_to_fix.items()},
                "time_to_fix_by_severity": {k: v.to_dict()
                                            for k, v in self.time_to_fix_by_severity.items()},
                "open_age": {k: v.to_dict() for k, v in self.open_age.items()},
                "sla": [s.to_dict() for s in self.sla],
                "weeks": [w.to_dict() for w in self.weeks]}


@dataclass(frozen=True, kw_only=True)
class Lifecycle:
    """What effectiveness.measure needs: every finding's dates and every new/fixed event."""

    last_at: str  # the last recorded run's time
    runs: int
    findings: tuple[tuple[str, str, str, str | None], ...]  # category, severity, first, fixed
    events: tuple[tuple[str, str], ...]  # run time, kind


def from_dict(d: Mapping[str, Any]) -> Effectiveness:
    """A saved effectiveness block (findings.json); KeyError/TypeError/ValueError if not one."""
    def stat(x: Mapping[str, Any]) -> Stat:
        return Stat(n=int(x["n"]), median=float(x["median_days"]), p90=float(x["p90_days"]),
                    max=float(x["max_days"]))

    def stats(key: str) -> dict[str, Stat]:
        return {str(k): stat(v) for k, v in (d.get(key) or {}).items()}

    return Effectiveness(
        as_of=str(d["as_of"]), runs=int(d["runs"]), time_to_fix=stats("time_to_fix"),
        time_to_fix_by_severity=stats("time_to_fix_by_severity"), open_age=stats("open_age"),
        sla=tuple(Sla(severity=str(s["severity"]), days=int(s["sla_days"]),
                      within=int(s["within"]), late=int(s["late"])) for s in d.get("sla") or []),
        weeks=tuple(Week(week=str(w["week"]), introduced=int(w["introduced"]),
                         fixed=int(w["fixed"])) for w in d.get("weeks") or []))


def _order(key: str) -> tuple[int, str]:
    sev = key.rsplit("/", 1)[-1]
    ranks = [s.value for s in Severity.ordered()]
    return (ranks.index(sev) if sev in ranks else len(ranks), key)


def measure(life: Lifecycle | None, sla_days: Mapping[str, int]) -> Effectiveness | None:
    """None when the history holds no run (or does not exist yet: the first run)."""
    if life is None:
        return None
    rows, events = life.findings, life.events
    as_of = parse_at(life.last_at)
    fix: dict[str, list[float]] = {}
    fix_sev: dict[str, list[float]] = {}
    open_age: dict[str, list[float]] = {}
    within: dict[str, int] = {}
    late: dict[str, int] = {}
    for category, severity, first, fixed in rows:
        start = parse_at(str(first), "first_seen")
        sla = sla_days.get(str(severity))
        if fixed is not None:
            days = (parse_at(str(fixed), "fixed_at") - start).total_seconds() / DAY
            fix.setdefault(f"{category}/{severity}", []).append(days)
            fix_sev.setdefault(str(severity), []).append(days)
            if sla is not None:
                bucket = within if days <= sla else late
                bucket[str(severity)] = bucket.get(str(severity), 0) + 1
        else:
            age = (as_of - start).total_seconds() / DAY
            open_age.setdefault(str(severity), []).append(age)
            if sla is not None and age > sla:
                late[str(severity)] = late.get(str(severity), 0) + 1
    weeks: dict[str, list[int]] = {}
    for at, kind in events:
        year, week, _ = parse_at(str(at)).isocalendar()
        cell = weeks.setdefault(f"{year}-W{week:02d}", [0, 0])
        cell[0 if kind in ("new", "reopened") else 1] += 1
    return Effectiveness(
        as_of=life.last_at, runs=life.runs,
        time_to_fix={k: Stat.of(v) for k, v in sorted(fix.items(), key=lambda kv: _order(
            kv[0]))},
        time_to_fix_by_severity={k: Stat.of(v) for k, v in sorted(
            fix_sev.items(), key=lambda kv: _order(kv[0]))},
        open_age={k: Stat.of(v) for k, v in sorted(open_age.items(),
                                                    key=lambda kv: _order(kv[0]))},
        sla=tuple(Sla(severity=s, days=d, within=within.get(s, 0), late=late.get(s, 0))
                  for s, d in sorted(sla_days.items(), key=lambda kv: _order(kv[0]))),
        weeks=tuple(Week(week=w, introduced=c[0], fixed=c[1]) for w, c in sorted(weeks.items())))
