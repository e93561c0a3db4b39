"""Effectiveness from a history of simulated nightly runs: time to fix, SLA compliance, open
ages and weekly flow equal the values worked out by hand below; the gate fails when they slip."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from posture_gate import effectiveness, history, history_read, pipeline
from posture_gate.effectiveness import from_dict
from posture_gate.model import Finding
from posture_gate.policy import schema
from posture_gate.policy.model import Policy
from tests.conftest import run_cli
from tests.test_history import RUN, F, at

# fingerprint n -> (category, severity, first night, fixed night or None)
LIFE = {1: ("code", "critical", 0, 2), 2: ("dependency", "critical", 0, 5),
        3: ("code", "critical", 1, 11), 4: ("code", "high", 0, 3),
        5: ("code", "high", 2, None), 6: ("dependency", "high", 0, None)}
SLIPPING = {7: ("code", "critical", 8, 20), 8: ("dependency", "critical", 9, 21)}


def _alive(life: dict[int, tuple[str, str, int, int | None]], night: int) -> list[Finding]:
    return [F(n, cat, sev, scanner="bandit") for n, (cat, sev, first, fixed) in life.items()
            if first <= night and (fixed is None or night < fixed)]


def _nights(path: Path, life: dict[int, tuple[str, str, int, int | None]],
            nights: range) -> None:
    for night in nights:
        run, verdict = RUN(_alive(life, night))
        history.record(path, run, verdict, at(night))


def _policy(tmp_path: Path, text: str) -> Policy:
    p = tmp_path / "policy.yml"
    p.write_text("version: 1\nsla_days: {critical: 7, high: 7}\n" + text)
    return schema.load_policy(str(p), today=datetime.date(2026, 12, 1))


def test_values_equal_the_hand_computed_ones(tmp_path: Path) -> None:
    h = tmp_path / "h.db"
    _nights(h, LIFE, range(13))  # nights 0..12, 2026-11-01 .. 11-13 at 03:00 UTC
    eff = effectiveness.measure(history_read.lifecycle(h), {"critical": 7, "high": 7})
    assert eff is not None and eff.runs == 13 and eff.as_of == "2026-11-13T03:00:00Z"
    crit = eff.time_to_fix_by_severity["critical"]
    # fixed after 2, 5 and 10 days: median 5; nearest-rank p90 = the 3rd of 3 = 10
    assert (crit.n, crit.median, crit.p90, crit.max) == (3, 5.0, 10.0, 10.0)
    assert eff.time_to_fix["code/critical"].median == 6.0  # 2 and 10
    assert eff.time_to_fix["dependency/critical"].median == 5.0
    assert eff.time_to_fix_by_severity["high"].median == 3.0
    sla = {s.severity: (s.within, s.late, s.compliance) for s in eff.sla}
    # critical: 2 and 5 within 7 days, 10 late; high: 3 within, two open for 10 and 12 days
    assert sla == {"critical": (2, 1, 2 / 3), "high": (1, 2, 1 / 3)}
    high_open = eff.open_age["high"]
    assert (high_open.n, high_open.median, high_open.p90, high_open.max) == (2, 11.0, 12.0,
                                                                            12.0)
    # 11-01 is ISO week 44 (a Sunday); 11-02..08 week 45; 11-09..13 week 46
    assert [(w.week, w.introduced, w.fixed) for w in eff.weeks] == [
        ("2026-W44", 4, 0), ("2026-W45", 2, 3), ("2026-W46", 0, 1)]
    assert from_dict(json.loads(json.dumps(eff.to_dict()))) == eff


def _judge(tmp_path: Path, h: Path, night: int, life: dict[int, tuple[str, str, int,
                                                                      int | None]]
           ) -> pipeline.Outcome:
    policy = _policy(tmp_path, "effectiveness:\n  max_median_days_to_fix: {critical: 7}\n"
                     "  min_sla_compliance: {critical: 0.6}\n")
    run, _ = RUN(_alive(life, night))
    return pipeline.judge(policy, run, pipeline.Options(
        formats=("json", "markdown", "html"), history=h),
        pipeline.Clock(today=at(night).date(), now=at(night)))


def test_the_gate_passes_then_fails_when_time_to_fix_slips(tmp_path: Path) -> None:
    h = tmp_path / "h.db"
    life = {**LIFE, **SLIPPING}
    _nights(h, life, range(13))
    ok = _judge(tmp_path, h, 13, life)
    gates = {g.name: (g.count, g.limit, g.passed) for g in ok.verdict.gates}
    # critical fixed so far: 2, 5, 10 days -> median 5 <= 7; SLA 2 of 3 >= 0.6 (7 and 8
    # are open for 4 and 3 days: inside their SLA, not counted yet)
    assert gates == {"effectiveness.max_median_days_to_fix.critical": (5, 7, True),
                     "effectiveness.min_sla_compliance.critical": (1, 1, True)}
    assert ok.verdict.status == "pass"
    md = ok.text("markdown")
    assert "### Vulnerability-management effectiveness" in md
    assert "| code/critical | 2 | 6 | 10 |" in md
    assert "<h2>Vulnerability-management effectiveness</h2>" in ok.text("html")
    saved = json.loads(ok.text("json"))["effectiveness"]
    assert saved["time_to_fix_by_severity"]["critical"]["median_days"] == 5.0
    _nights(h, life, range(14, 22))  # two more criticals fixed after 12 days each
    slipped = _judge(tmp_path, h, 22, life)
    gates = {g.name: (g.count, g.limit, g.passed) for g in slipped.verdict.gates}
    # fixed after 2, 5, 10, 12, 12 days: median 10 > 7; within SLA 2 of 5 = 0.4 < 0.6
    assert gates == {"effectiveness.max_median_days_to_fix.critical": (10, 7, False),
                     "effectiveness.min_sla_compliance.critical": (3, 2, False)}
    assert slipped.verdict.status == "fail"


def test_limits_without_a_history_are_an_error(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "effectiveness:\n  max_median_days_to_fix: {critical: 7}\n")
    run, _ = RUN([])
    out = pipeline.judge(policy, run, pipeline.Options(formats=("json",)),
                         pipeline.Clock(today=datetime.date(2026, 11, 20)))
    assert out.verdict.status == "error"
    assert any("no run history" in e for e in out.verdict.errors)


def test_history_show_prints_effectiveness(tmp_path: Path) -> None:
    h = tmp_path / "h.db"
    _nights(h, LIFE, range(13))
    proc = run_cli("history", "show", "--history", str(h), "--sla-days", "critical=7")
    assert proc.returncode == 0, proc.stderr
    assert "  time to fix code/critical: median 6 d, p90 10 d (n=2)" in proc.stdout
    assert "  SLA critical (7 d): 67% (2 within, 1 late)" in proc.stdout
    assert "  week 2026-W45: 2 introduced, 3 fixed" in proc.stdout
    bad = run_cli("history", "show", "--history", str(h), "--sla-days", "urgent=7")
    assert bad.returncode == 2 and "SEVERITY=DAYS" in bad.stderr
