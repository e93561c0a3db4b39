""".gitlab-ci-template.yml, included by a sample project, under gitlab-ci-local."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import PLANTED_TOKEN, REPO, run_cli
from .conftest import clean_project, client_env, example_project, git_commit_all, run, tool

REPORTS = {
    "sast": "gl-sast-report.json",
    "dependency_scanning": "gl-dependency-scanning-report.json",
    "container_scanning": "gl-container-scanning-report.json",
    "secret_detection": "gl-secret-detection-report.json",
}


def gitlab_ci_local(project: Path, tmp: Path, source: str, *extra: str,
                    install: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the pipeline as a `source` pipeline (merge_request_event, schedule, push) on
    the shell executor, with posture-gate from the test venv (no install) unless
    `install`. A merge request pipeline targets main."""
    env = client_env(tmp)
    argv = [tool("gitlab-ci-local"), "--shell-executor-no-image",
            "--variable", f"CI_PIPELINE_SOURCE={source}"]
    if source == "merge_request_event":
        argv += ["--variable", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main"]
    if not install:
        argv += ["--variable", "POSTURE_GATE_INSTALL=false",
                 "--variable", f"POSTURE_GATE_VENV={Path(sys.prefix)}"]
    return run([*argv, *extra], project, env, timeout=400 if install else 240)


def sample(dest: Path, variables: str) -> Path:
    """The project including the template, committed on main; its `origin` is itself (a
    merge request pipeline fetches the target branch from there)."""
    shutil.copy2(REPO / ".gitlab-ci-template.yml", dest / ".gitlab-ci-template.yml")
    (dest / ".gitlab-ci.yml").write_text(
        "include:\n  - local: .gitlab-ci-template.yml\n" + variables, encoding="utf-8")
    env = client_env(dest.parent)
    git_commit_all(dest, env)
    assert run(["git", "remote", "add", "origin", str(dest)], dest, env).returncode == 0
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
    # the target branch has no webapp/posture-gate.yml: the default preset, trusted
    assert "policy: trusted preset:default (origin/main:webapp/posture-gate.yml: no such file)" \
        in log, log[-3000:]
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
    assert "policy: trusted preset:default (HEAD:posture-gate.yml: no such file)" in log, log
    out = project / ".gitlab-ci-local" / "artifacts" / "posture-gate" / "posture-gate-report"
    assert (out / "junit.xml").is_file()
    for name in REPORTS.values():
        assert json.loads((out / name).read_text(encoding="utf-8"))["vulnerabilities"] == []
    # rules: only merge request and scheduled pipelines
    listed = gitlab_ci_local(project, tmp_path, "push", "--list")
    assert listed.returncode == 0, listed.stderr
    assert "posture-gate" not in listed.stdout.replace(".posture-gate", ""), listed.stdout


# The target branch's policy for webapp/ (the default preset, as a file) and a merge
# request's attempt to loosen it.
BASE_POLICY = (REPO / "posture_gate" / "policy" / "presets" / "default.yml").read_text(
    encoding="utf-8")
STRICT_CODE = "code: {max: {critical: 0, high: 0}}"
LOOSE_CODE = "code: {max: {critical: 5, high: 50}}"
LOOSENED = BASE_POLICY.replace(STRICT_CODE, LOOSE_CODE)
LOOSENED_LINE = BASE_POLICY[:BASE_POLICY.index(STRICT_CODE)].count("\n") + 1
PLANTED = {"findings.json": json.dumps({"verdict": {"status": "pass", "exit_code": 0}}),
           REPORTS["sast"]: json.dumps({"version": "15.0.0", "vulnerabilities": [],
                                        "scan": {"type": "sast", "status": "success"}})}


@pytest.mark.slow
def test_merge_request_cannot_loosen_the_target_branch_policy(tmp_path: Path) -> None:
    project = example_project(tmp_path / "project")
    (project / "webapp" / "posture-gate.yml").write_text(BASE_POLICY, encoding="utf-8")
    sample(project, "variables:\n  POSTURE_GATE_PATHS: webapp\n"
                    "  POSTURE_GATE_ADVISORIES: advisories\n")
    # the merge request: a loosened policy and a committed report that says pass
    env = client_env(tmp_path)
    (project / "webapp" / "posture-gate.yml").write_text(LOOSENED, encoding="utf-8")
    (project / "posture-gate-report").mkdir()
    for name, text in PLANTED.items():
        (project / "posture-gate-report" / name).write_text(text, encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.json").write_text("{}", encoding="utf-8")
    (project / "posture-gate-report" / "raw").symlink_to(outside)
    for argv in (["git", "checkout", "-q", "-b", "feature"], ["git", "add", "-A"],
                 ["git", "commit", "-q", "--no-verify", "-m", "loosen"]):
        assert run(argv, project, env).returncode == 0
    done = gitlab_ci_local(project, tmp_path, "merge_request_event")
    log = done.stdout + done.stderr
    assert done.returncode == 1, log[-3000:]
    assert "FAIL  posture-gate" in log and "FAIL 2" in log, log[-3000:]   # exit 2
    assert "posture-gate: fetching main for its policy" in log, log[-3000:]
    assert f"posture-gate.yml:{LOOSENED_LINE}: gates.code.max" in log, log[-3000:]
    # nothing planted is uploaded as this run's report
    out = project / ".gitlab-ci-local" / "artifacts" / "posture-gate" / "posture-gate-report"
    assert not any((out / name).exists() for name in PLANTED), sorted(out.rglob("*"))
    # the planted link was removed, not followed
    assert not (project / "posture-gate-report" / "raw").is_symlink()
    assert (outside / "keep.json").is_file()


def artifact_dir(tmp: Path) -> Path:
    """Where gitlab-ci-local (state dir tmp/gcl-state) keeps the job's report artifact."""
    return tmp / "gcl-state" / "artifacts" / "posture-gate" / "posture-gate-report"


def report_like_a_direct_scan(tmp: Path, pristine: Path, advisories: Path
                              ) -> tuple[dict[str, Any], set[str]]:
    """The report gitlab-ci-local kept as the job's artifact (state dir tmp/gcl-state): no
    finding under a virtualenv, and the totals of a direct scan of the pristine tree.
    Returns the report and the paths of its findings."""
    findings = json.loads((artifact_dir(tmp) / "findings.json").read_text(encoding="utf-8"))
    paths = {(f.get("location") or {}).get("path") or "" for f in findings["findings"]}
    assert not [p for p in paths if "venv" in p or "site-packages" in p], paths
    direct = run_cli("scan", str(pristine), "--advisories", str(advisories),
                     "-o", str(tmp / "direct"))
    assert direct.returncode == 1, direct.stderr
    expected = json.loads((tmp / "direct" / "findings.json").read_text(encoding="utf-8"))
    assert findings["totals"] == expected["totals"]
    return findings, paths


@pytest.mark.slow
def test_installed_template_scans_only_the_project(tmp_path: Path,
                                                   source_repo: tuple[Path, str]) -> None:
    """The template's own install path (a new venv, posture-gate and the pinned scanners
    from the package registry) on the project root: the venv is not in the project while
    it is scanned (it is kept in .posture-gate-cache/ only for GitLab's cache upload), no
    finding comes from one, and the totals are those of a direct scan of the same tree.
    A second run restores the tools and the scanner results from that cache."""
    src, _ = source_repo
    project = tmp_path / "project"
    shutil.copytree(REPO / "examples" / "webapp", project)
    advisories = example_project(tmp_path / "outside") / "advisories"
    sample(project, f"variables:\n  POSTURE_GATE_ADVISORIES: {advisories}\n"
                    f"  POSTURE_GATE_PIP_SPEC: {src}\n")
    pristine = tmp_path / "pristine"
    shutil.copytree(project, pristine, symlinks=True)
    done = gitlab_ci_local(project, tmp_path, "schedule", "--state-dir", "../gcl-state",
                           install=True)
    log = done.stdout + done.stderr
    assert done.returncode == 1, log[-3000:]          # the example app fails the gate
    venvs = [p for p in project.rglob("pyvenv.cfg") if ".posture-gate-cache" not in p.parts]
    assert not venvs, "a venv was created inside the project"
    findings, paths = report_like_a_direct_scan(tmp_path, pristine, advisories)
    assert paths and "requirements.txt" in paths, paths
    assert sum(n for per in findings["totals"].values() for n in per.values()) > 0
    assert not [p for p in paths if ".posture-gate-cache" in p], paths
    # the next pipeline: tools and scanner results come from GitLab's cache
    again = gitlab_ci_local(project, tmp_path, "schedule", "--state-dir", "../gcl-state",
                            install=True)
    log = again.stdout + again.stderr
    assert again.returncode == 1, log[-3000:]
    assert "tools restored from the cache" in log, log[-3000:]
    warm = json.loads((artifact_dir(tmp_path) / "findings.json").read_text(encoding="utf-8"))
    assert {s["name"]: s.get("cache") for s in warm["scanners"]} == \
        {s["name"]: "hit" for s in warm["scanners"]}
    assert warm["totals"] == findings["totals"]
