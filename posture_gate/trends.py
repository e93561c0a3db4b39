"""The run history as people read it: the week-over-week change, the `history show` table
and the Markdown trend section. Pure functions of `TrendPoint`s (history.py reads them from
the file; a report gets them in `ScanResult.trends`), so reporters never touch storage.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from .dates import parse_at
from .model import Category, TrendPoint

CATEGORIES = tuple(c.value for c in Category)
WEEK = datetime.timedelta(days=7)


@dataclass(frozen=True, kw_only=True)
class WeekChange:
    category: str
    now: int
    week_ago: int | None  # None: no run seven or more days before the latest one

    @property
    def delta(self) -> int | None:
        return None if self.week_ago is None else self.now - self.week_ago


def changes(now: dict[str, int], then: dict[str, int] | None) -> tuple[WeekChange, ...]:
    """Per category, totals now against totals a week before (None: no such run)."""
    return tuple(WeekChange(category=c, now=now.get(c, 0),
                            week_ago=None if then is None else then.get(c, 0))
                 for c in CATEGORIES)


def week_over_week(points: Sequence[TrendPoint]) -> tuple[WeekChange, ...]:
    """Per category: the latest run against the latest run at least 7 days older.
    InputError (one line) for a point whose time does not parse."""
    if not points:
        return ()
    latest = points[-1]
    cutoff = parse_at(latest.at) - WEEK
    before = [p for p in points if parse_at(p.at) <= cutoff]
    return changes(dict(latest.totals), dict(before[-1].totals) if before else None)


def fmt_delta(d: int | None) -> str:
    return "n/a" if d is None else f"{d:+d}"


def text_table(points: Sequence[TrendPoint], week: Sequence[WeekChange]) -> str:
    """`history show`: totals per category per run, then the week-over-week change."""
    header = ["run (UTC)", *CATEGORIES, "total", "verdict"]
    rows = [[p.at.replace("T", " ").rstrip("Z"), *[str(p.totals.get(c, 0)) for c in CATEGORIES],
             str(sum(p.totals.values())), p.status] for p in points]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i in (0, len(cells) - 1) else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [line(header), line(["-" * w for w in widths]), *[line(r) for r in rows], ""]
    out.append("week over week (latest run vs the latest run 7+ days before it):")
    for w in week:
        ago = "n/a" if w.week_ago is None else str(w.week_ago)
        out.append(f"  {w.category:12s} {w.now:6d}  (was {ago}, {fmt_delta(w.delta)})")
    return "\n".join(out) + "\n"


def markdown_table(points: Sequence[TrendPoint], rows: int = 14) -> str:
    """A Markdown trend table (last `rows` runs) and the week-over-week change; empty
    without points. The caller escapes the points' text (reporters/markdown.py)."""
    if not points:
        return ""
    out = ["### Trend", "",
           "| run (UTC) | " + " | ".join(CATEGORIES) + " | total | verdict |",
           "|---|" + "---:|" * (len(CATEGORIES) + 1) + "---|"]
    for p in points[-rows:]:
        out.append(f"| {p.at[:16].replace('T', ' ')} | "
                   + " | ".join(str(p.totals.get(c, 0)) for c in CATEGORIES)
                   + f" | {sum(p.totals.values())} | {p.status} |")
    out += ["", "Week over week: " + ", ".join(
        f"{w.category} {w.now} ({fmt_delta(w.delta)})" for w in week_over_week(points)), ""]
    return "\n".join(out)
