"""The run history (SQLite): first_seen / fixed_at / reopen, trends, migrations,
concurrent writers, the overdue gate, and real scans across simulated days."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import multiprocessing
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from posture_gate import history, history_read, trends
from posture_gate.commands.history import show_text
from posture_gate.errors import InputError, PolicyError
from posture_gate.model import (
    Category,
    Finding,
    Location,
    RunStatus,
    ScannerRun,
    ScanResult,
    Severity,
    TrendPoint,
)
from posture_gate.policy import schema
from posture_gate.policy.evaluate import Verdict, evaluate
from posture_gate.policy.model import Policy, VerdictStatus
from tests.conftest import ADVISORIES, cli_env, copy_webapp, run_cli

UTC = datetime.timezone.utc
DAY1 = datetime.datetime(2026, 11, 1, 3, tzinfo=UTC)


def at(days: int) -> datetime.datetime:
    return DAY1 + datetime.timedelta(days=days)


def fid(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def F(n: int, category: str = "code", severity: str = "high",
      scanner: str = "bandit") -> Finding:
    return Finding(fingerprint=fid(n), scanner=scanner, scanner_version="1", rule_id=f"R{n}",
                   category=Category(category), severity=Severity(severity),
                   title=f"title {n}", message="m", found_by=(scanner,),
                   location=Location(path=f"app/f{n}.py", start_line=1))


def RUN(findings: list[Finding], ran: tuple[str, ...] = ("bandit", "pip-audit"),
        failed: tuple[str, ...] = ()) -> tuple[ScanResult, Verdict]:
    scanners = tuple(ScannerRun(name=s, scanner=s, status=RunStatus.OK, version="1")
                     for s in ran)
    scanners += tuple(ScannerRun(name=s, scanner=s, status=RunStatus.FAILED, required=False)
                      for s in failed)
    run = ScanResult(tool_version="0", started_at="x", finished_at="x", root="/r",
                     policy="preset:default", policy_digest="d" * 64, scanners=scanners,
                     findings=tuple(findings), commit="c0ffee", branch="main")
    verdict = Verdict(status=VerdictStatus.FAIL if findings else VerdictStatus.PASS, gates=(),
                      findings=tuple(findings), new_fingerprints=frozenset())
    return run, verdict


def rec(path: Path, findings: list[Finding], day: int, **kw: tuple[str, ...]
        ) -> history.Recorded:
    run, verdict = RUN(findings, **kw)
    return history.record(path, run, verdict, at(day))


def rows(path: Path) -> dict[str, dict[str, object]]:
    buf = io.StringIO()
    history_read.export_jsonl(path, buf)
    return {d["fingerprint"]: d for d in map(json.loads, buf.getvalue().splitlines())
            if d["type"] == "finding"}


def test_first_seen_fixed_and_reopened(tmp_path: Path) -> None:
    h = tmp_path / "h.sqlite"
    assert history.first_seen(h) == {}
    r1 = rec(h, [F(1), F(2)], 0)
    assert r1.previous_status is None
    assert set(r1.new_fingerprints) == {fid(1), fid(2)} and r1.fixed == ()
    r2 = rec(h, [F(1), F(3)], 2)
    assert r2.previous_status == "fail"
    assert r2.new_fingerprints == (fid(3),) and r2.fixed_fingerprints == (fid(2),)
    assert r2.fixed[0].rule_id == "R2" and r2.fixed[0].path == "app/f2.py"
    assert history.first_seen(h) == {fid(1): at(0).date(), fid(2): at(0).date(),
                                      fid(3): at(2).date()}
    r = rows(h)
    assert r[fid(2)]["fixed_at"] == "2026-11-03T03:00:00Z"
    assert r[fid(1)]["last_seen"] == "2026-11-03T03:00:00Z" and r[fid(1)]["fixed_at"] is None
    # reappearing reopens it; first_seen (and so the age) is kept
    r3 = rec(h, [F(1), F(2), F(3)], 5)
    assert r3.new_fingerprints == (fid(2),) and r3.fixed == ()
    r = rows(h)
    assert r[fid(2)]["fixed_at"] is None and r[fid(2)]["reopened"] == 1
    assert r[fid(2)]["first_seen"] == "2026-11-01T03:00:00Z"
    assert history.new_since_previous(h)[0].fingerprint == fid(2)
    assert history.fixed_since_previous(h) == ()
    assert history.integrity_check(h) == "ok"


def test_a_scanner_that_did_not_run_fixes_nothing(tmp_path: Path) -> None:
    h = tmp_path / "h.sqlite"
    rec(h, [F(1), F(2, "dependency", scanner="pip-audit")], 0)
    # bandit failed (optional) and pip-audit ran: only pip-audit's absent finding is fixed
    r = rec(h, [], 1, ran=("pip-audit",), failed=("bandit",))
    assert r.fixed_fingerprints == (fid(2),)
    assert rows(h)[fid(1)]["fixed_at"] is None


def test_trends_totals_over_time_and_week_over_week(tmp_path: Path) -> None:
    h = tmp_path / "h.sqlite"
    rec(h, [F(1), F(2, "dependency")], 0)
    rec(h, [F(1), F(2, "dependency"), F(3, "dependency")], 3)
    rec(h, [F(1)], 8)
    pts = history.trends(h)
    assert [p.totals["code"] for p in pts] == [1, 1, 1]
    assert [p.totals["dependency"] for p in pts] == [1, 2, 0]
    assert [p.at for p in pts] == ["2026-11-01T03:00:00Z", "2026-11-04T03:00:00Z",
                                   "2026-11-09T03:00:00Z"]
    assert history.trends(h, 2) == pts[1:]
    wow = {w.category: w for w in history.history_week_over_week(h)}
    # latest (day 8) against the latest run at least 7 days before it (day 0)
    assert (wow["dependency"].now, wow["dependency"].week_ago, wow["dependency"].delta) == \
        (0, 1, -1)
    assert wow["code"].delta == 0
    assert trends.week_over_week(pts) == history.history_week_over_week(h)
    text = show_text(h)
    assert "2026-11-09 03:00:00" in text and "dependency        0  (was 1, -1)" in text
    run, _ = RUN([])
    md = trends.markdown_table(pts)
    assert "| 2026-11-09 03:00 | 1 | 0 | 0 | 0 | 0 | 0 | 1 | fail |" in md
    assert "dependency 0 (-1)" in md
    assert run.trends is None and trends.markdown_table(()) == ""  # no history: no table


def test_week_over_week_without_a_week_of_history(tmp_path: Path) -> None:
    h = tmp_path / "h.sqlite"
    rec(h, [F(1)], 0)
    rec(h, [F(1), F(2)], 1)
    assert {w.week_ago for w in history.history_week_over_week(h)} == {None}
    assert "(was n/a, n/a)" in show_text(h)


@pytest.mark.parametrize("at", ["yesterday", "", "2026-13-45T00:00:00Z", "\x1b[31m" * 30])
def test_a_malformed_run_time_is_one_input_error_not_a_crash(tmp_path: Path, at: str) -> None:
    good = TrendPoint(at="2026-11-09T03:00:00Z", status="pass", commit=None,
                      totals=dict.fromkeys(trends.CATEGORIES, 0))
    for points in ([good, replace(good, at=at)], [replace(good, at=at), good]):
        with pytest.raises(InputError) as err:
            trends.week_over_week(points)
        line = err.value.one_line()
        assert "not an ISO 8601 time" in line and "\n" not in line and "\x1b" not in line
    # the same from the file: a run row whose time was edited by hand
    h = tmp_path / "h.sqlite"
    rec(h, [F(1)], 0)
    with sqlite3.connect(h) as db:
        db.execute("UPDATE runs SET at = ?", (at,))
        db.execute("UPDATE findings SET first_seen = ?", (at,))
    with pytest.raises(InputError, match="not an ISO 8601 time"):
        history.history_week_over_week(h)
    with pytest.raises(InputError, match="not an ISO 8601 time"):
        history.first_seen(h)


def test_export_writes_runs_with_totals_then_findings(tmp_path: Path) -> None:
    h = tmp_path / "h.sqlite"
    rec(h, [F(1), F(2, "secret", "critical")], 0)
    buf = io.StringIO()
    assert history_read.export_jsonl(h, buf) == 3
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert [x["type"] for x in lines] == ["run", "finding", "finding"]
    # the script on stdout, a pipe: written without a flush, which the script's exit does
    # (cli.entry ends the process without the interpreter's teardown); buffered as in CI
    env = {k: v for k, v in cli_env().items() if k != "PYTHONUNBUFFERED"}
    script = run_cli("history", "export", "--history", str(h), env=env)
    assert (script.returncode, script.stdout, script.stderr) == (0, buf.getvalue(), "")
    run = lines[0]
    assert run["totals"]["secret"]["critical"] == 1 and run["totals"]["code"]["high"] == 1
    assert run["status"] == "fail" and run["commit"] == "c0ffee"
    assert run["scanners"]["bandit"] == {"status": "ok", "version": "1"}


def test_schema_is_versioned_and_migrations_run_once(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    h = tmp_path / "h.sqlite"
    rec(h, [F(1)], 0)
    with sqlite3.connect(h) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(history.MIGRATIONS)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    calls: list[int] = []

    def v2(db: sqlite3.Connection) -> None:
        calls.append(1)
        db.execute("ALTER TABLE runs ADD COLUMN note TEXT")

    monkeypatch.setattr(history, "MIGRATIONS", [*history.MIGRATIONS, v2])
    assert history.first_seen(h) == {fid(1): at(0).date()}  # migrated on open, data kept
    history.first_seen(h)
    assert calls == [1]
    with sqlite3.connect(h) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(history.MIGRATIONS)
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(InputError, match="newer"):
        history.first_seen(h)


def test_not_a_database_is_an_input_error(tmp_path: Path) -> None:
    h = tmp_path / "h.sqlite"
    h.write_text("not sqlite " * 100)
    with pytest.raises(InputError, match=r"h\.sqlite"):
        history.first_seen(h)
    with pytest.raises(InputError, match="no such history file"):
        history.trends(tmp_path / "absent.sqlite")


def _writer(args: tuple[str, int]) -> int:
    path, n = args
    for i in range(5):
        rec(Path(path), [F(k) for k in range(n, n + 30)] + [F(1000 + i)], n + i)
    return n


def test_concurrent_writers_never_corrupt_it(tmp_path: Path) -> None:
    h = tmp_path / "h.sqlite"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        assert sorted(pool.map(_writer, [(str(h), n * 100) for n in range(4)])) == \
            [0, 100, 200, 300]
    assert history.integrity_check(h) == "ok"
    assert len(history.trends(h)) == 20
    found = rows(h)
    assert len(found) == 4 * 30 + 5
    with sqlite3.connect(h) as db:
        assert db.execute("SELECT COUNT(DISTINCT id) FROM runs").fetchone()[0] == 20
        assert db.execute("SELECT SUM(count) FROM run_totals").fetchone()[0] == 20 * 31


# --- the overdue gate and ages (pure evaluator) -----------------------------------------

def policy(tmp_path: Path, text: str) -> Policy:
    p = tmp_path / "p.yml"
    p.write_text(text)
    return schema.load_policy(str(p), today=datetime.date(2026, 11, 26))


def test_overdue_gate_counts_findings_older_than_their_sla(tmp_path: Path) -> None:
    pol = policy(tmp_path, "version: 1\nsla_days: {critical: 7, high: 30}\n"
                           "gates:\n  overdue: {max: {any: 0}}\n")
    assert pol.sla_days == {"critical": 7, "high": 30}
    today = datetime.date(2026, 12, 1)
    fs = [F(1, severity="critical"), F(2, severity="high"), F(3, severity="medium"),
          F(4, severity="unknown"), F(5, severity="critical")]
    seen = {fid(1): today - datetime.timedelta(days=8),   # critical 8 > 7: overdue
            fid(2): today - datetime.timedelta(days=30),  # high 30, not > 30
            fid(3): today - datetime.timedelta(days=400),  # medium: no SLA
            fid(4): today - datetime.timedelta(days=31)}  # unknown counts as high: overdue
    v = evaluate(pol, fs, [], today=today, first_seen=seen, check_coverage=False)
    assert v.ages == {fid(1): 8, fid(2): 30, fid(3): 400, fid(4): 31, fid(5): 0}
    (g,) = v.gates
    assert (g.name, g.kind, g.count, g.passed) == ("overdue.max.any", "overdue", 2, False)
    assert set(g.fingerprints) == {fid(1), fid(4)}
    v = evaluate(pol, fs, [], today=today, check_coverage=False)
    assert v.ages is None and v.gates[0].count == 0
    assert any("no history" in w for w in v.warnings)


def test_overdue_needs_sla_days_and_sla_keys_are_checked(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"gates\.overdue: needs sla_days"):
        policy(tmp_path, "version: 1\ngates:\n  overdue: {max: {any: 0}}\n")
    with pytest.raises(PolicyError, match=r"sla_days\.hihg: unknown key"):
        policy(tmp_path, "version: 1\nsla_days: {hihg: 3}\n")
    with pytest.raises(PolicyError, match=r"sla_days\.high"):
        policy(tmp_path, "version: 1\nsla_days: {high: 0}\n")


# --- real scans across simulated days ------------------------------------------------------

PYYAML_FIXED = "5.4"       # no advisory in examples/advisories
PYYAML_VULNERABLE = "5.3.1"  # PYSEC-2021-142 (fixed in 5.4)


@pytest.mark.slow
def test_nightly_scans_across_days(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    req = root / "requirements.txt"
    pol = tmp_path / "nightly.yml"
    pol.write_text("version: 1\nsla_days: {critical: 7, high: 30}\n"
                   "gates:\n  overdue: {max: {any: 0}}\n")
    h = tmp_path / "state" / "posture-history.sqlite"

    def pin(version: str) -> None:
        req.write_text("\n".join(
            f"pyyaml=={version}" if line.startswith("pyyaml==") else line
            for line in req.read_text().splitlines()) + "\n")

    def scan(day: str, n: int) -> dict:  # type: ignore[type-arg]
        out = tmp_path / f"out{n}"
        proc = run_cli("scan", str(root), "--policy", str(pol), "--advisories",
                       str(ADVISORIES), "--only", "pip-audit", "-o", str(out),
                       "-f", "json,html", "--history", str(h), "--today", day,
                       "--now", f"{day}T02:30:00Z")
        doc = json.loads((out / "findings.json").read_text())
        doc["_exit"] = proc.returncode
        doc["_html"] = (out / "report.html").read_text()
        return doc  # type: ignore[no-any-return]

    def pyyaml(doc: dict) -> list[str]:  # type: ignore[type-arg]
        return [f["fingerprint"] for f in doc["findings"]
                if f["package"]["name"].lower() == "pyyaml"]

    pin(PYYAML_FIXED)
    d1 = scan("2026-11-01", 1)
    assert d1["_exit"] == 0 and pyyaml(d1) == []
    others = len(d1["findings"])
    assert set(d1["verdict"]["ages"].values()) == {0}
    assert len(d1["verdict"]["new_since_last"]) == others  # first run: all new

    pin(PYYAML_VULNERABLE)  # newly vulnerable on day 2
    d2 = scan("2026-11-02", 2)
    (vuln,) = pyyaml(d2)
    assert d2["_exit"] == 0
    assert d2["verdict"]["new_since_last"] == [vuln] and d2["verdict"]["fixed_since_last"] == []
    assert d2["verdict"]["ages"][vuln] == 0
    assert {a for f, a in d2["verdict"]["ages"].items() if f != vuln} == {1}

    d3 = scan("2026-12-04", 3)  # 32 days later, still pinned: past the 30-day SLA
    assert d3["_exit"] == 1
    assert d3["verdict"]["ages"][vuln] == 32
    (gate,) = d3["verdict"]["gates"]
    # medium and below have no SLA here; unknown counts as high (the gate's default)
    with_sla = sum(f["severity"] in ("critical", "high", "unknown") for f in d3["findings"])
    assert 0 < with_sla < len(d3["findings"])
    assert gate["name"] == "overdue.max.any" and gate["count"] == with_sla
    assert vuln in gate["fingerprints"]
    assert d3["verdict"]["new_since_last"] == [] and d3["verdict"]["fixed_since_last"] == []

    pin(PYYAML_FIXED)  # fixed on day 4
    d4 = scan("2026-12-05", 4)
    assert pyyaml(d4) == [] and d4["verdict"]["fixed_since_last"] == [vuln]
    assert d4["verdict"]["gates"][0]["count"] == with_sla - 1

    seen = rows(h)
    assert seen[vuln]["first_seen"] == "2026-11-02T02:30:00Z"
    assert seen[vuln]["last_seen"] == "2026-12-04T02:30:00Z"
    assert seen[vuln]["fixed_at"] == "2026-12-05T02:30:00Z"
    assert history.first_seen(h)[vuln] == datetime.date(2026, 11, 2)
    assert [p.totals["dependency"] for p in history.trends(h)] == \
        [others, others + 1, others + 1, others]
    assert [p.status for p in history.trends(h)] == ["pass", "pass", "fail", "fail"]
    assert 'data-values="' + ",".join(map(str, [others, others + 1, others + 1, others])) \
        in d4["_html"]

    show = run_cli("history", "show", "--history", str(h))
    assert show.returncode == 0, show.stderr
    assert "2026-12-05 02:30:00" in show.stdout
    assert f"dependency   {others:6d}  (was {others + 1}, -1)" in show.stdout
    export = run_cli("history", "export", "--history", str(h), "-o", str(tmp_path / "h.jsonl"))
    assert export.returncode == 0, export.stderr
    lines = [json.loads(x) for x in (tmp_path / "h.jsonl").read_text().splitlines()]
    assert sum(x["type"] == "run" for x in lines) == 4
    assert history.integrity_check(h) == "ok"
