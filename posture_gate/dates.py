"""Time stamps as posture-gate writes and reads them: ISO 8601 in UTC, seconds precision.

A stored time (the history file, a saved run's trend series) is input like any other: one
that does not parse is an InputError naming it, never a traceback.
"""

from __future__ import annotations

import datetime

from .errors import InputError, UsageError

MAX_SHOWN = 40  # characters of a malformed value quoted in the error


def utc_text(now: datetime.datetime) -> str:
    """`2026-11-09T03:00:00Z`; a naive datetime is taken as UTC."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=datetime.timezone.utc)
    return now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_at(at: str, what: str = "run time") -> datetime.datetime:
    """A stored time stamp back to an aware datetime (UTC when it names no zone)."""
    try:
        parsed = datetime.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except (ValueError, TypeError, AttributeError):
        shown = repr(at)[:MAX_SHOWN].encode("ascii", "backslashreplace").decode()
        raise InputError(f"{what} {shown} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def parse_or_none(at: str) -> datetime.datetime | None:
    """parse_at, or None where a report would rather say "unknown" than stop."""
    try:
        return parse_at(at)
    except InputError:
        return None


def parse_now(value: str | None, today: datetime.date) -> datetime.datetime:
    """The time a run is recorded at: `--now` (ISO), else the clock; a clock on another
    day than `--today` gives way to noon UTC of that day, so ages stay consistent."""
    if value:
        try:
            now = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--now: not an ISO datetime: {value}") from None
        return now if now.tzinfo else now.replace(tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    if now.date() != today:
        now = datetime.datetime.combine(today, datetime.time(12), datetime.timezone.utc)
    return now
