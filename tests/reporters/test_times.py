"""Times a report copies from a saved run (any string in findings.json): the GitLab and SARIF
files stay valid against their schemas whatever the string, and no format stops on one."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from posture_gate.reporters import REPORTERS
from posture_gate.reporters.base import output_files

from .conftest import scan_result, verdict_for
from .schemas import GITLAB_TYPES, gitlab_errors, sarif_errors


@pytest.mark.parametrize("when", [
    "0001-01-01T00:00:00",  # strftime's %Y writes "1": not the schemas' four digits
    "0001-01-01T00:00:00+05:00",  # year 0 in UTC: out of datetime's range
    "9999-12-31T23:00:00-05:00",  # year 10000 in UTC
    "2026-11-26T19:03:14.5+02:00",
    "not a time",
])
def test_odd_saved_times_keep_every_report_valid(when: str) -> None:
    run = replace(scan_result(), started_at=when, finished_at=when)
    verdict = verdict_for(run)
    for name, reporter in REPORTERS.items():
        for filename, text in output_files(reporter, run, verdict).items():
            if filename in GITLAB_TYPES:
                assert gitlab_errors(filename, json.loads(text)) == [], (filename, when)
            elif filename.endswith(".sarif"):
                assert sarif_errors(json.loads(text)) == [], (filename, when)
            assert text, (name, filename)
