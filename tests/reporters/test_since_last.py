"""With a history, Markdown and console say what changed since the last run, and ages."""

from __future__ import annotations

from dataclasses import replace

from posture_gate.model import ScanResult
from posture_gate.policy.evaluate import Verdict
from posture_gate.reporters import REPORTERS


def test_new_fixed_and_ages_are_shown(synthetic: tuple[ScanResult, Verdict]) -> None:
    run, verdict = synthetic
    first, second = verdict.findings[0], verdict.findings[1]
    with_history = replace(verdict, ages={first.fingerprint: 12, second.fingerprint: 0},
                           new_since_last=(second.fingerprint,),
                           fixed_since_last=("f" * 64, "e" * 64))
    md = REPORTERS["markdown"].render(run, with_history)
    assert "### Since the last run" in md and "1 new, 2 fixed." in md
    assert f"| {second.fingerprint[:12]} | 0 |" in md
    assert "Fixed: ffffffffffff, eeeeeeeeeeee." in md
    assert "| age (days) |" in md
    console = REPORTERS["console"].render(run, with_history)
    assert "since the last run: 1 new, 2 fixed" in console
    plain = REPORTERS["markdown"].render(run, verdict)
    assert "Since the last run" not in plain and "age (days)" not in plain
