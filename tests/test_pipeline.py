"""pipeline.run / judge: scan -> first_seen -> evaluate -> history -> render, hermetic (the
scan step is replaced by a fixed run; the rest is the real code)."""

from __future__ import annotations

import datetime
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from posture_gate import pipeline
from posture_gate.model import PolicyTrust, ScanResult
from posture_gate.policy import schema
from posture_gate.policy.evaluate import evaluate
from posture_gate.policy.model import Policy
from posture_gate.reporters import REPORTERS
from posture_gate.scan import ScanOptions
from tests.reporters.conftest import fp, scan_result

TODAY = datetime.date(2026, 11, 26)
NOW = datetime.datetime(2026, 11, 26, 12, tzinfo=datetime.timezone.utc)


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Policy, ScanOptions]]:
    """The fixed run stands in for the scanners; records what the scan step was given."""
    calls: list[tuple[Policy, ScanOptions]] = []

    def fake_scan(policy: Policy, opts: ScanOptions,
                  now: Any = None) -> tuple[ScanResult, list[Any]]:
        calls.append((policy, opts))
        return scan_result(), []

    monkeypatch.setattr(pipeline, "scan", fake_scan)
    return calls


def _options(tmp_path: Path, **kw: Any) -> pipeline.Options:
    return pipeline.Options(scan=ScanOptions(root=tmp_path, output_dir=tmp_path / "out"), **kw)


def test_run_judges_with_the_policy_and_renders_what_was_asked(
        tmp_path: Path, scanned: list[tuple[Policy, ScanOptions]]) -> None:
    policy = schema.load_policy("default", today=TODAY)
    narrowed = replace(policy, scanners={})
    trust = PolicyTrust(trusted="preset:default")
    out = pipeline.run(policy, _options(tmp_path, formats=("json", "console", "sarif", "json"),
                                        trust=trust, scan_policy=narrowed, root="/repo"),
                       pipeline.Clock(today=TODAY))
    assert scanned[0][0] is narrowed  # scanned with the narrowed copy ...
    expected = evaluate(policy, out.run.findings, out.run.scanners, today=TODAY)
    assert out.verdict == expected  # ... judged with the policy itself
    assert out.run.policy_trust == trust and out.run.root == "/repo"
    assert list(out.rendered) == ["json", "console", "sarif"]
    assert set(out.files) == {"findings.json", REPORTERS["sarif"].filename}
    assert out.text("console") == REPORTERS["console"].render(out.run, out.verdict)
    assert out.text("markdown") == "" and out.change is None
    assert not (tmp_path / "out").exists()  # the pipeline writes no report itself


def test_judge_without_scan_options_is_the_gate_path(tmp_path: Path) -> None:
    policy = schema.load_policy("default", today=TODAY)
    run = scan_result()
    out = pipeline.judge(policy, run, pipeline.Options(formats=()), pipeline.Clock(today=TODAY))
    assert out.rendered == {} and out.files == {}
    assert out.verdict.status == evaluate(policy, run.findings, run.scanners,
                                          today=TODAY).status
    with pytest.raises(TypeError):
        pipeline.run(policy, pipeline.Options(), pipeline.Clock(today=TODAY))


def test_history_gives_ages_and_the_change_since_the_last_run(
        tmp_path: Path, scanned: list[tuple[Policy, ScanOptions]]) -> None:
    policy = schema.load_policy("default", today=TODAY)
    db = tmp_path / "h.db"
    first = pipeline.run(policy, _options(tmp_path, history=db),
                         pipeline.Clock(today=TODAY, now=NOW))
    assert first.change is not None and first.change.previous_status is None
    later = TODAY + datetime.timedelta(days=3)
    second = pipeline.run(policy, _options(tmp_path, history=db),
                          pipeline.Clock(today=later, now=NOW + datetime.timedelta(days=3)))
    assert second.change is not None and second.change.previous_status is not None
    assert second.change.new == () and second.verdict.new_since_last == ()
    assert second.run.trends is not None and len(second.run.trends) == 2
    # ages come from the history's first_seen (3 days open); without a history, none
    assert first.verdict.ages is not None and first.verdict.ages[fp(1)] == 0
    assert second.verdict.ages is not None and second.verdict.ages[fp(1)] == 3
    alone = pipeline.run(policy, _options(tmp_path), pipeline.Clock(today=later))
    assert alone.verdict.ages is None and alone.change is None
