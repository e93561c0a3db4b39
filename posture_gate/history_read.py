"""Read-only views of the run history (history.py is its storage and schema): the JSONL
export of `history export`, and the lifecycle rows effectiveness.measure computes from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from .effectiveness import Lifecycle
from .history import CATEGORIES, connect
from .model import Severity


def export_jsonl(path: Path, out: TextIO) -> int:
    """`history export`: one JSON object a line, runs (oldest first) then findings.
    Returns the number of lines written."""
    n = 0
    with connect(path, create=False) as db:
        cells: dict[int, list[tuple[str, str, str, int]]] = {}
        for run_id, c, s, t, count in db.execute(
                "SELECT run_id, category, severity, target, count FROM run_totals"):
            cells.setdefault(run_id, []).append((c, s, t, count))
        for row in db.execute(
                "SELECT id, at, tool_version, commit_sha, branch, policy, policy_digest, "
                "scanners, status, findings, threat FROM runs ORDER BY id"):
            totals = {c: dict.fromkeys((s.value for s in Severity.ordered()), 0)
                      for c in CATEGORIES}
            by_target: dict[str, dict[str, dict[str, int]]] = {}
            for c, s, t, count in cells.get(row[0], []):
                totals.setdefault(c, {})[s] = totals.get(c, {}).get(s, 0) + count
                if t:
                    by_target.setdefault(t, {}).setdefault(c, {})[s] = count
            out.write(json.dumps({
                "type": "run", "id": row[0], "at": row[1], "tool_version": row[2],
                "commit": row[3], "branch": row[4], "policy": row[5], "policy_digest": row[6],
                "scanners": json.loads(row[7]), "status": row[8], "findings": row[9],
                "totals": totals, "totals_by_target": by_target,
                "threat": json.loads(row[10]) if row[10] else []}, sort_keys=True) + "\n")
            n += 1
        for row in db.execute(
                "SELECT fingerprint, category, severity, rule_id, title, path, found_by, "
                "first_seen, last_seen, fixed_at, reopened FROM findings "
                "ORDER BY first_seen, fingerprint"):
            out.write(json.dumps({
                "type": "finding", "fingerprint": row[0], "category": row[1],
                "severity": row[2], "rule_id": row[3], "title": row[4], "path": row[5],
                "found_by": json.loads(row[6]), "first_seen": row[7], "last_seen": row[8],
                "fixed_at": row[9], "reopened": row[10]}, sort_keys=True) + "\n")
            n += 1
    return n


def lifecycle(path: Path) -> Lifecycle | None:  # read by effectiveness.measure
    """None when the history does not exist yet or holds no run (read-only)."""
    if not path.exists():
        return None
    with connect(path, create=False) as db:
        last = db.execute("SELECT MAX(at), COUNT(*) FROM runs").fetchone()
        if not last or last[1] == 0:
            return None
        rows = db.execute("SELECT category, severity, first_seen, fixed_at FROM findings "
                          "ORDER BY fingerprint").fetchall()
        events = db.execute("SELECT r.at, e.kind FROM events e JOIN runs r ON r.id = e.run_id"
                            ).fetchall()
    return Lifecycle(last_at=str(last[0]), runs=int(last[1]),
                     findings=tuple((str(c), str(s), str(f), None if x is None else str(x))
                                    for c, s, f, x in rows),
                     events=tuple((str(a), str(k)) for a, k in events))
