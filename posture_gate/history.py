"""The run history: one SQLite file that nightly jobs carry from run to run (CI cache).

What it keeps: every run (time, commit, branch, policy digest, scanner versions, counted
totals by category x severity x target, verdict) and every finding by fingerprint with
`first_seen`, `last_seen` and `fixed_at`. A finding absent from a run in which one of the
scanners that reported it finished is fixed at that run; if it comes back it is reopened
(its `first_seen`, and so its age, is kept: a regression is not a fresh finding).

Safety: the schema is versioned (`PRAGMA user_version`, one function per migration in
`MIGRATIONS`), the file runs in WAL mode with a busy timeout, and every write is one
`BEGIN IMMEDIATE` transaction, so concurrent writers queue instead of corrupting it.

Storage only: reading it for people is trends.py (tables, week over week), and reporters
stay pure: the pipeline reads the trend series from here into `ScanResult.trends`.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .dates import parse_at, utc_text
from .dates import parse_now as parse_now  # moved to dates.py; re-exported for callers
from .errors import InputError
from .model import Category, Finding, RunStatus, ScanResult, TrendPoint
from .policy.model import Verdict
from .trends import WEEK, WeekChange, changes

BUSY_TIMEOUT_S = 60.0
CATEGORIES = tuple(c.value for c in Category)


def _v1(db: sqlite3.Connection) -> None:
    db.execute("""
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,              -- ISO 8601 UTC, when the run was recorded
            tool_version TEXT,
            commit_sha TEXT,
            branch TEXT,
            policy TEXT,
            policy_digest TEXT,
            scanners TEXT NOT NULL,        -- JSON {scanner job: {status, version}}
            status TEXT NOT NULL,          -- verdict: pass | fail | error
            findings INTEGER NOT NULL      -- counted findings
        )""")
    db.execute("CREATE INDEX runs_at ON runs (at)")
    db.execute("""
        CREATE TABLE run_totals (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            category TEXT NOT NULL,
            severity TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            count INTEGER NOT NULL,
            PRIMARY KEY (run_id, category, severity, target)
        ) WITHOUT ROWID""")
    db.execute("""
        CREATE TABLE findings (
            fingerprint TEXT PRIMARY KEY,
            category TEXT NOT NULL,
            severity TEXT NOT NULL,
            rule_id TEXT NOT NULL,
            title TEXT NOT NULL,
            path TEXT,                     -- file, or package==version
            found_by TEXT NOT NULL,        -- JSON list of scanners
            first_seen TEXT NOT NULL,
            first_run INTEGER NOT NULL,
            last_seen TEXT NOT NULL,
            last_run INTEGER NOT NULL,
            fixed_at TEXT,                 -- NULL while open
            fixed_run INTEGER,
            reopened INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("CREATE INDEX findings_open ON findings (fixed_at)")
    db.execute("""
        CREATE TABLE events (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            fingerprint TEXT NOT NULL,
            kind TEXT NOT NULL,            -- new | reopened | fixed
            PRIMARY KEY (run_id, fingerprint)
        ) WITHOUT ROWID""")


# MIGRATIONS[i] takes the schema from version i to i + 1. Append only; never edit one
# that has shipped.
def _v2(db: sqlite3.Connection) -> None:
    # the KEV/EPSS files a run used: JSON [{kind, version, date, sha256}]; NULL before v2
    db.execute("ALTER TABLE runs ADD COLUMN threat TEXT")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2]


@dataclass(frozen=True, kw_only=True)
class FindingRef:
    """What a notice may show of a finding: never its message or matched text."""

    fingerprint: str
    category: str
    severity: str
    rule_id: str
    title: str
    path: str | None


@dataclass(frozen=True, kw_only=True)
class Recorded:
    """The outcome of `record`: the run's id and what changed since the previous run."""

    run_id: int
    previous_status: str | None  # None: first run in this history
    new: tuple[FindingRef, ...]  # first seen or reopened at this run
    fixed: tuple[FindingRef, ...]

    @property
    def new_fingerprints(self) -> tuple[str, ...]:
        return tuple(r.fingerprint for r in self.new)

    @property
    def fixed_fingerprints(self) -> tuple[str, ...]:
        return tuple(r.fingerprint for r in self.fixed)


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version == len(MIGRATIONS):
        return
    if version > len(MIGRATIONS):
        raise InputError(f"{path}: history schema version {version} is newer than this "
                         f"posture-gate knows ({len(MIGRATIONS)})", "upgrade posture-gate")
    db.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: another process may have migrated meanwhile.
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        for step in range(version, len(MIGRATIONS)):
            MIGRATIONS[step](db)
            db.execute(f"PRAGMA user_version = {step + 1}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


@contextmanager
def connect(path: Path, *, create: bool = True) -> Iterator[sqlite3.Connection]:
    """An open, migrated history database. SQLite errors become InputError (exit 2)."""
    if not create and not path.is_file():
        raise InputError(f"{path}: no such history file")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise InputError(f"{path}: cannot open history ({exc})") from None
    try:
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        _migrate(db, path)
        yield db
    except sqlite3.Error as exc:
        raise InputError(f"{path}: history database error ({exc})") from None
    finally:
        db.close()


def _where(f: Finding) -> str | None:
    if f.location is not None:
        return f.location.path
    if f.package is not None:
        return f"{f.package.name}=={f.package.version}" if f.package.version \
            else f.package.name
    return None


def _ref(row: Sequence[Any]) -> FindingRef:
    return FindingRef(fingerprint=row[0], category=row[1], severity=row[2], rule_id=row[3],
                      title=row[4], path=row[5])


def record(path: Path, run: ScanResult, verdict: Verdict,
           now: datetime.datetime) -> Recorded:
    """Append one run and update every finding's first_seen / last_seen / fixed_at."""
    at = utc_text(now)
    counted = [f for f in verdict.findings if f.suppression is None]
    cells: dict[tuple[str, str, str], int] = {}
    for f in counted:
        key = (f.category.value, f.severity.value, f.target or "")
        cells[key] = cells.get(key, 0) + 1
    finished = {r.scanner for r in run.scanners if r.status is RunStatus.OK}
    scanners = {r.name: {"status": r.status.value, "version": r.version} for r in run.scanners}
    current = {f.fingerprint: f for f in verdict.findings}
    with connect(path) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            prev = db.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()
            cur = db.execute(
                "INSERT INTO runs (at, tool_version, commit_sha, branch, policy, policy_digest,"
                " scanners, status, findings, threat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (at, run.tool_version, run.commit, run.branch, run.policy, run.policy_digest,
                 json.dumps(scanners, sort_keys=True), verdict.status, len(counted),
                 json.dumps([{"kind": t.kind, "version": t.version, "date": t.date,
                              "sha256": t.sha256} for t in run.threat])))
            run_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO run_totals (run_id, category, severity, target, count) "
                "VALUES (?, ?, ?, ?, ?)",
                [(run_id, c, s, t, n) for (c, s, t), n in sorted(cells.items())])
            known = {row[0]: (row[1], row[2]) for row in db.execute(
                "SELECT fingerprint, fixed_at IS NULL, found_by FROM findings")}
            inserts, updates, events = [], [], []
            for fp, f in current.items():
                meta = (f.category.value, f.severity.value, f.rule_id, f.title, _where(f),
                        json.dumps(sorted(f.found_by or (f.scanner,))))
                if fp not in known:
                    inserts.append((fp, *meta, at, run_id, at, run_id))
                    events.append((run_id, fp, "new"))
                else:
                    updates.append((*meta, at, run_id, fp))
                    if not known[fp][0]:
                        events.append((run_id, fp, "reopened"))
            db.executemany(
                "INSERT INTO findings (fingerprint, category, severity, rule_id, title, path,"
                " found_by, first_seen, first_run, last_seen, last_run)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", inserts)
            db.executemany(
                "UPDATE findings SET category = ?, severity = ?, rule_id = ?, title = ?,"
                " path = ?, found_by = ?, last_seen = ?, last_run = ?,"
                " reopened = reopened + (fixed_at IS NOT NULL),"
                " fixed_at = NULL, fixed_run = NULL WHERE fingerprint = ?", updates)
            fixed = [fp for fp, (is_open, found_by) in known.items()
                     if is_open and fp not in current and finished & set(json.loads(found_by))]
            db.executemany("UPDATE findings SET fixed_at = ?, fixed_run = ? "
                           "WHERE fingerprint = ?", [(at, run_id, fp) for fp in fixed])
            events += [(run_id, fp, "fixed") for fp in fixed]
            db.executemany("INSERT INTO events (run_id, fingerprint, kind) VALUES (?, ?, ?)",
                           events)
            changes = _changes(db, run_id)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return Recorded(run_id=run_id, previous_status=prev[0] if prev else None,
                    new=changes[0], fixed=changes[1])


def _changes(db: sqlite3.Connection, run_id: int
             ) -> tuple[tuple[FindingRef, ...], tuple[FindingRef, ...]]:
    rows = db.execute(
        "SELECT f.fingerprint, f.category, f.severity, f.rule_id, f.title, f.path, e.kind "
        "FROM events e JOIN findings f ON f.fingerprint = e.fingerprint "
        "WHERE e.run_id = ? ORDER BY f.category, f.severity, f.rule_id, f.fingerprint",
        (run_id,)).fetchall()
    return (tuple(_ref(r) for r in rows if r[6] in ("new", "reopened")),
            tuple(_ref(r) for r in rows if r[6] == "fixed"))


def _latest_run(db: sqlite3.Connection) -> int | None:
    row = db.execute("SELECT MAX(id) FROM runs").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def first_seen(path: Path) -> dict[str, datetime.date]:
    """fingerprint -> the UTC date it was first seen (for ages). Empty for a new file."""
    if not path.exists():
        return {}
    with connect(path) as db:
        return {fp: parse_at(at, f"first_seen of {fp[:16]}").date() for fp, at in
                db.execute("SELECT fingerprint, first_seen FROM findings")}


def new_since_previous(path: Path) -> tuple[FindingRef, ...]:
    """Findings first seen (or reopened) at the latest run."""
    with connect(path, create=False) as db:
        latest = _latest_run(db)
        return () if latest is None else _changes(db, latest)[0]


def fixed_since_previous(path: Path) -> tuple[FindingRef, ...]:
    """Findings fixed at the latest run."""
    with connect(path, create=False) as db:
        latest = _latest_run(db)
        return () if latest is None else _changes(db, latest)[1]


def trends(path: Path, limit: int = 0) -> tuple[TrendPoint, ...]:
    """Counted totals per category for each run, oldest first (the last `limit`; 0 = all)."""
    with connect(path, create=False) as db:
        runs = db.execute(
            "SELECT id, at, status, commit_sha FROM runs ORDER BY id DESC LIMIT ?",
            (limit if limit > 0 else -1,)).fetchall()
        if not runs:
            return ()
        sums: dict[int, dict[str, int]] = {}
        for run_id, category, n in db.execute(
                "SELECT run_id, category, SUM(count) FROM run_totals WHERE run_id >= ? "
                "GROUP BY run_id, category", (runs[-1][0],)):
            sums.setdefault(run_id, {})[category] = int(n)
    return tuple(
        TrendPoint(at=at, status=status, commit=commit,
                   totals={c: sums.get(run_id, {}).get(c, 0) for c in CATEGORIES})
        for run_id, at, status, commit in reversed(runs))


def _category_sums(db: sqlite3.Connection, run_id: int) -> dict[str, int]:
    return {str(c): int(n) for c, n in db.execute(
        "SELECT category, SUM(count) FROM run_totals WHERE run_id = ? GROUP BY category",
        (run_id,))}


def history_week_over_week(path: Path) -> tuple[WeekChange, ...]:
    """Week-over-week change straight from the file (reads only the two runs it needs)."""
    with connect(path, create=False) as db:
        latest = db.execute("SELECT id, at FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        if latest is None:
            return ()
        cutoff = utc_text(parse_at(latest[1]) - WEEK)
        base = db.execute("SELECT id FROM runs WHERE at <= ? ORDER BY at DESC, id DESC "
                          "LIMIT 1", (cutoff,)).fetchone()
        now = _category_sums(db, int(latest[0]))
        then = _category_sums(db, int(base[0])) if base else None
    return changes(now, then)


def integrity_check(path: Path) -> str:
    with connect(path, create=False) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


TREND_RUNS = 365  # runs charted in the reports


def apply(path: Path, run: ScanResult, verdict: Verdict, now: datetime.datetime
          ) -> tuple[ScanResult, Verdict, Recorded]:
    """Record the run, then give the reports what changed and the trend series."""
    rec = record(path, run, verdict, now)
    verdict = replace(verdict, new_since_last=rec.new_fingerprints,
                      fixed_since_last=rec.fixed_fingerprints)
    return replace(run, trends=trends(path, TREND_RUNS)), verdict, rec
