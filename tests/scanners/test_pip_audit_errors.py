"""pip-audit's errors reach the user as one line naming the file, the line and the package,
not its internals (`RequirementLine(line_number=...)`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from posture_gate.model import RunStatus
from posture_gate.runner import run_job
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import Job, ScanContext
from posture_gate.scanners.pip_audit_errors import explain
from tests.conftest import bin_dir

# pip-audit 2.10.1's own stderr, captured from real runs
NOT_PINNED = (
    "WARNING:pip_audit._cli:--no-deps is supported, but users are encouraged to fully hash "
    "their pinned dependencies\n"
    "ERROR:pip_audit._cli:requirement requests is not pinned to an exact version: "
    "requests>=2 (from RequirementLine(line_number=2, line='requests>=2', "
    "filename=PosixPath('requirements.txt')))\n")
INVALID = (
    "ERROR:pip_audit._cli:requirement file requirements.txt contains invalid specifier at "
    "line 2: Invalid requirement: : Expected semicolon (after name with no version "
    "specifier) or end\n    not a valid req ==\n        ^\n")


def test_not_pinned_names_file_line_and_package() -> None:
    assert explain(NOT_PINNED) == (
        "requirements.txt:2: requests is not pinned to an exact version (requests>=2); "
        "pin it with == or audit a lock file")


def test_invalid_requirement_names_file_line_and_text() -> None:
    assert explain(INVALID) == "requirements.txt:2: invalid requirement: not a valid req =="


def test_other_errors_lose_the_logger_prefix_and_stay_one_line() -> None:
    assert explain("ERROR:pip_audit._cli:boom\x1b[31m\nred") == "boom"
    assert explain("Traceback (most recent call last):\n  x\n") is None


@pytest.mark.slow
def test_the_runner_reports_pip_audits_error_in_plain_words(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "requirements.txt").write_text("flask==0.12.2\nrequests>=2\n")
    job = Job(name="pip-audit", scanner="pip-audit", argv=(
        "pip-audit", "-f", "json", "--progress-spinner", "off", "--cache-dir",
        str(tmp_path / "cache"), "-r", "requirements.txt", "--no-deps", "--disable-pip"))
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path)
    run = run_job(SCANNERS["pip-audit"], job, ctx, tmp_path / "out").run
    assert run.status is RunStatus.FAILED
    assert run.reason is not None and run.reason.startswith(
        "requirements.txt:2: requests is not pinned to an exact version (requests>=2)")
    assert "RequirementLine" not in run.reason and "\n" not in run.reason
