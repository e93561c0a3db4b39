"""policy/testing.py (`policy test DIR`): a malformed case is that case's failure, one line."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from posture_gate.policy.testing import run_all

TODAY = datetime.date(2026, 11, 1)


@pytest.mark.parametrize("today", ['"yesterday"', '"2026-13-01"', "5", "[2026]"])
def test_a_today_that_is_no_date_fails_the_case_with_one_line(tmp_path: Path,
                                                               today: str) -> None:
    case = tmp_path / "cases" / "bad-today"
    case.mkdir(parents=True)
    (case / "expect.yml").write_text(f"status: pass\ntoday: {today}\n")
    (result,) = run_all(tmp_path / "cases", TODAY)
    assert not result.passed
    assert result.detail == f"{case / 'expect.yml'}: today: not a YYYY-MM-DD date"
