""".gitlab-ci-template.yml, included by a sample project, under gitlab-ci-local."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import PLANTED_TOKEN, REPO
from .conftest import clean_project, client_env, example_project, git_commit_all, run, tool

REPORTS = {
    "sast": "gl-sast-report.json",
    "dependency_scanning": "gl-dependency-scanning-report.json",
    "container_scanning": "gl-container-scanning-report.json",
    "secret_detection": "gl-secret-detection-report.json",
}


def gitlab_ci_local(project: Path, tmp: Path, source: str,
                    *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the pipeline as a `source` pipeline (merge_request_event, schedule, push) on
    the shell executor, with posture-gate from the test venv (no install)."""
    env = client_env(tmp)
    return run([tool("gitlab-ci-local"), "--shell-executor-no-image",
                "--variable", f"CI_PIPELINE_SOURCE={source}",
                "--variable", "POSTURE_GATE_INSTALL=false",
                "--variable", f"POSTURE_GATE_VENV={Path(sys.prefix)}", *extra],
               project, env)


def sample(dest: Path, variables: str) -> Path:
    shutil.copy2(REPO / ".gitlab-ci-template.yml", dest / ".gitlab-ci-template.yml")
    (dest / ".gitlab-ci.yml").write_text(
        "include:\n  - local: .gitlab-ci-template.yml\n" + variables, encoding="utf-8")
    git_commit_all(dest, client_env(dest.parent))
    return dest


@pytest.mark.slow
def test_merge_request_pipeline_fails_with_reports(tmp_path: Path) -> None:
    project = sample(example_project(tmp_path / "project"),
                     "variables:\n  POSTURE_GATE_PATHS: webapp\n"
                     "  POSTURE_GATE_ADVISORIES: advisories\n")
    done = gitlab_ci_local(project, tmp_path, "merge_request_event")
    log = done.stdout + done.stderr
    assert done.returncode == 1, log[-3000:]
    assert "FAIL  posture-gate" in log, log[-3000:]
    out = project / ".gitlab-ci-local" / "artifacts" / "posture-gate" / "posture-gate-report"
    for kind, name in REPORTS.items():
        doc = json.loads((out / name).read_text(encoding="utf-8"))
        assert doc["scan"]["type"] == kind, name
        assert isinstance(doc["vulnerabilities"], list)
    assert json.loads((out / REPORTS["secret_detection"]).read_text())["vulnerabilities"]
    assert json.loads((out / REPORTS["sast"]).read_text())["vulnerabilities"]
    assert "<testsuite" in (out / "junit.xml").read_text(encoding="utf-8")
    assert json.loads((out / "findings.json").read_text())["verdict"]["status"] == "fail"
    for path in out.rglob("*"):
        if path.is_file():
            assert PLANTED_TOKEN not in path.read_text(encoding="utf-8", errors="replace")


@pytest.mark.slow
def test_scheduled_pipeline_passes_and_push_has_no_job(tmp_path: Path) -> None:
    project = clean_project(tmp_path / "project")
    sample(project, "variables:\n  POSTURE_GATE_ADVISORIES: .advisories\n")
    done = gitlab_ci_local(project, tmp_path, "schedule")
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "PASS  posture-gate" in log, log[-3000:]
    out = project / ".gitlab-ci-local" / "artifacts" / "posture-gate" / "posture-gate-report"
    assert (out / "junit.xml").is_file()
    for name in REPORTS.values():
        assert json.loads((out / name).read_text(encoding="utf-8"))["vulnerabilities"] == []
    # rules: only merge request and scheduled pipelines
    listed = gitlab_ci_local(project, tmp_path, "push", "--list")
    assert listed.returncode == 0, listed.stderr
    assert "posture-gate" not in listed.stdout.replace(".posture-gate", ""), listed.stdout
