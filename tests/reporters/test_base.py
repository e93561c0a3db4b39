"""reporters/base.py: the lines every format shares, from data read back from a file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from posture_gate.model import RunStatus, ScannerRun
from posture_gate.reporters import REPORTERS
from posture_gate.reporters.base import DATA_FRESHNESS_KEYS, data_freshness, output_files

from .conftest import scan_result, verdict_for


@pytest.mark.parametrize("started, stamp, shown", [
    ("2026-11-03T00:00:00Z", "2026-11-01T00:00:00Z", "(2 days before this scan)"),
    # a saved findings.json may carry a time without a zone (UTC) beside one with
    ("2026-11-03T00:00:00", "2026-11-01T00:00:00Z", "(2 days before this scan)"),
    ("2026-11-03T00:00:00Z", "2026-11-01T00:00:00", "(2 days before this scan)"),
    ("yesterday", "2026-11-01T00:00:00Z", None),
    ("2026-11-03T00:00:00Z", "not a time", None),
])
def test_data_age_never_stops_a_report(started: str, stamp: str, shown: str | None) -> None:
    key = DATA_FRESHNESS_KEYS[0]
    run = replace(scan_result(), started_at=started, scanners=(
        ScannerRun(name="s", scanner="trivy", status=RunStatus.OK, properties={key: stamp}),))
    (line,) = data_freshness(run)
    assert (shown in line) if shown else "days before" not in line
    verdict = verdict_for(run)
    for name, reporter in REPORTERS.items():  # every format renders it
        assert output_files(reporter, run, verdict), name
