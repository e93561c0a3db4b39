"""Gates on how the review was done rather than what it found: review coverage floors
(coverage_gate.py) and effectiveness limits from the history (effectiveness_view.py).
Added to the verdict after evaluate(), which judges findings only."""

from __future__ import annotations

from dataclasses import replace

from . import coverage_gate, effectiveness_view
from .model import ScanResult
from .policy.model import GateResult, Policy, Verdict, VerdictStatus


def add_floor_gates(policy: Policy, run: ScanResult, verdict: Verdict, *,
                    history_given: bool = False) -> Verdict:
    gates, errors = coverage_gate.gates(policy.coverage, run.coverage)
    eff_gates, eff_errors, warnings = effectiveness_view.gates(
        policy.effectiveness, run.effectiveness, history_given)
    gates, errors = [*gates, *eff_gates], [*errors, *eff_errors]
    if policy.coverage is not None and policy.coverage.unscanned_languages == "warn" \
            and run.coverage is not None:
        warnings += [f"no scanner reviewed the {lang.present} {lang.name} file(s)"
                     for lang in coverage_gate.unscanned(run.coverage)]
    if not gates and not errors and not warnings:
        return verdict
    all_errors = (*verdict.errors, *errors)
    all_gates = (*verdict.gates, *gates)
    status = VerdictStatus.ERROR if all_errors else (
        VerdictStatus.FAIL if any(not g.passed for g in all_gates) else VerdictStatus.PASS)
    return replace(verdict, gates=all_gates, errors=all_errors, status=status,
                   warnings=(*verdict.warnings, *warnings))

_NOTES = {"coverage.min_ratio.": "files not reviewed, past the floor's allowance",
          "coverage.unscanned_languages": "languages no scanner reviews",
          "effectiveness.max_median_days_to_fix.": "median days to fix",
          "effectiveness.max_p90_days_to_fix.": "90th-percentile days to fix",
          "effectiveness.min_sla_compliance.": "fixed past the SLA, over the allowance"}


def floor_note(g: GateResult) -> str | None:
    """What a coverage/effectiveness gate counts (the reporters' '(...)' after 'N > M')."""
    return next((note for prefix, note in _NOTES.items() if g.name.startswith(prefix)), None)
