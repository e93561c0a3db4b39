"""The template with its venv put INSIDE the project (POSTURE_GATE_VENV under
$CI_PROJECT_DIR, the layout that once scanned 2,928 bandit findings of site-packages): the
venv is recognised by its pyvenv.cfg and skipped, the totals are a direct scan's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ..conftest import REPO
from .conftest import example_project
from .test_gitlab_template import gitlab_ci_local, report_like_a_direct_scan, sample


@pytest.mark.slow
def test_a_venv_inside_the_project_is_not_scanned(tmp_path: Path,
                                                  source_repo: tuple[Path, str]) -> None:
    src, _ = source_repo
    project = tmp_path / "project"
    shutil.copytree(REPO / "examples" / "webapp", project)
    advisories = example_project(tmp_path / "outside") / "advisories"
    pristine = tmp_path / "pristine"
    shutil.copytree(project, pristine, symlinks=True)
    sample(project, f"variables:\n  POSTURE_GATE_ADVISORIES: {advisories}\n"
                    f"  POSTURE_GATE_PIP_SPEC: {src}\n"
                    "  POSTURE_GATE_VENV: $CI_PROJECT_DIR/.posture-gate-venv\n")
    done = gitlab_ci_local(project, tmp_path, "schedule", "--state-dir", "../gcl-state",
                           install=True)
    log = done.stdout + done.stderr
    assert done.returncode == 1, log[-3000:]
    assert "not scanned: .posture-gate-venv (a virtualenv" in log, log[-3000:]
    report_like_a_direct_scan(tmp_path, pristine, advisories)
