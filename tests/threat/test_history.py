"""The history records which KEV/EPSS files each run used (schema v2; v1 files migrate)."""

from __future__ import annotations

import dataclasses
import io
import json
import sqlite3
from pathlib import Path

from posture_gate import history, history_read
from posture_gate.threat import feeds

from ..test_history import RUN, F, at
from .test_feeds import EPSS, KEV, TODAY


def _export(h: Path) -> list[dict]:  # type: ignore[type-arg]
    buf = io.StringIO()
    history_read.export_jsonl(h, buf)
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_each_run_records_its_threat_files(tmp_path: Path) -> None:
    h = tmp_path / "h.sqlite"
    sources = feeds.load(kev=KEV, epss=EPSS, today=TODAY).sources
    run, verdict = RUN([F(1)])
    history.record(h, dataclasses.replace(run, threat=sources), verdict, at(0))
    history.record(h, run, verdict, at(1))
    runs = [r for r in _export(h) if r["type"] == "run"]
    assert [[(t["kind"], t["version"], t["date"]) for t in r["threat"]] for r in runs] == [
        [("kev", "2024.10.10", "2024-10-10T15:01:26Z"),
         ("epss", "v2023.03.01", "2024-10-10T00:00:00Z")], []]
    assert runs[0]["threat"][0]["sha256"] == sources[0].sha256


def test_a_v1_history_migrates_and_keeps_its_runs(tmp_path: Path) -> None:
    h = tmp_path / "h.sqlite"
    run, verdict = RUN([F(1)])
    with sqlite3.connect(h) as db:  # a v1 file as an older posture-gate wrote it
        history.MIGRATIONS[0](db)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO runs (at, scanners, status, findings) "
                   "VALUES ('2024-10-01T00:00:00Z', '{}', 'pass', 0)")
    history.record(h, run, verdict, at(1))
    runs = [r for r in _export(h) if r["type"] == "run"]
    assert [r["threat"] for r in runs] == [[], []]
    with sqlite3.connect(h) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
