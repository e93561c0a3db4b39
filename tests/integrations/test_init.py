"""`posture-gate init`: what it writes, that it never overwrites, and that its output runs
in the real clients on a clean project (the GitHub job with the action's default install)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from ..conftest import REPO, run_cli
from .conftest import (
    CODEQL_SHA,
    act,
    clean_project,
    client_env,
    codeql_stub,
    git_commit_all,
    run,
    tool,
)

FILES = ("posture-gate.yml", ".github/workflows/posture-gate.yml", ".gitlab-ci.yml",
         ".pre-commit-config.yaml")
SHA = "0123456789abcdef0123456789abcdef01234567"


def test_init_writes_the_policy_and_the_ci_files(tmp_path: Path) -> None:
    done = run_cli("init", "--github", "--gitlab", "--pre-commit", "--rev", SHA,
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in FILES:
        assert yaml.safe_load((tmp_path / name).read_text(encoding="utf-8")), name
    assert run_cli("policy", "validate", "posture-gate.yml", cwd=tmp_path).returncode == 0
    wf = (tmp_path / FILES[1]).read_text(encoding="utf-8")
    assert f"uses: posture-gate/posture-gate@{SHA}\n" in wf
    assert f"github/codeql-action/upload-sarif@{CODEQL_SHA}" in wf
    gl = (tmp_path / ".gitlab-ci.yml").read_text(encoding="utf-8")
    assert f"raw.githubusercontent.com/posture-gate/posture-gate/{SHA}/.gitlab-ci-template" in gl
    pc = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert pc["repos"][0]["rev"] == SHA
    assert [h["id"] for h in pc["repos"][0]["hooks"]] == ["posture-gate", "posture-gate-full"]


def test_init_only_the_policy_without_flags(tmp_path: Path) -> None:
    done = run_cli("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posture-gate.yml"]


@pytest.mark.parametrize("existing", FILES[1:])
def test_init_never_overwrites(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / existing).write_text("mine\n", encoding="utf-8")
    done = run_cli("init", "--github", "--gitlab", "--pre-commit", "--rev", SHA,
                   cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and existing in lines[0] and "exists" in lines[0], done.stderr
    assert (tmp_path / existing).read_text(encoding="utf-8") == "mine\n"
    written = [f for f in FILES if f != existing and (tmp_path / f).exists()]
    assert written == []


def test_init_writes_the_advisories_into_the_policy(tmp_path: Path) -> None:
    assert run_cli("init", "--advisories", "osv", cwd=tmp_path).returncode == 0
    policy = yaml.safe_load((tmp_path / "posture-gate.yml").read_text(encoding="utf-8"))
    assert policy["advisories"] == "osv"


@pytest.mark.slow
def test_init_output_passes_in_every_client(tmp_path: Path, source_repo: tuple[Path, str],
                                            pre_commit_home: Path) -> None:
    src, sha = source_repo
    project = clean_project(tmp_path / "project")
    shutil.copy2(REPO / ".gitlab-ci-template.yml", project / ".gitlab-ci-template.yml")
    done = run_cli("init", "--github", "--gitlab", "--pre-commit", "--repo", str(src),
                   "--rev", sha, "--action", f"posture-gate/posture-gate@{sha}",
                   "--gitlab-include", ".gitlab-ci-template.yml",
                   "--advisories", ".advisories", cwd=project)
    assert done.returncode == 0, done.stderr
    env = client_env(tmp_path, PRE_COMMIT_HOME=str(pre_commit_home))
    git_commit_all(project, env)
    # a pull request into main: its policy is read from origin/main (here the repo itself)
    assert run(["git", "remote", "add", "origin", str(project)], project, env).returncode == 0
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 1, "base": {"ref": "main"},
                                                  "head": {"ref": "feature"}}}),
                     encoding="utf-8")
    workflow = project / ".github" / "workflows" / "posture-gate.yml"

    # linters
    z = run([tool("zizmor"), "--offline", "--no-progress", str(workflow)], project, env)
    assert z.returncode == 0, z.stdout + z.stderr
    a = run([tool("actionlint"), "-color=false", str(workflow)], project, env)
    assert a.returncode == 0, a.stdout + a.stderr

    # pre-commit: the fast hook on every file, then the full scan on the manual stage
    for extra in ([], ["--hook-stage", "manual", "posture-gate-full"]):
        pc = run([tool("pre-commit"), "run", "--all-files", "--verbose", "--color", "never",
                  *extra], project, env, timeout=280)
        assert pc.returncode == 0, pc.stdout + pc.stderr
        assert "VERDICT: PASS" in pc.stdout

    # gitlab-ci-local: a merge request pipeline
    gl = run([tool("gitlab-ci-local"), "--shell-executor-no-image",
              "--variable", "CI_PIPELINE_SOURCE=merge_request_event",
              "--variable", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main",
              "--variable", "POSTURE_GATE_INSTALL=false",
              "--variable", f"POSTURE_GATE_VENV={Path(tool('posture-gate')).parent.parent}"],
             project, env)
    assert gl.returncode == 0, (gl.stdout + gl.stderr)[-3000:]
    assert "PASS  posture-gate" in gl.stdout
    assert "fetching main for its policy" in gl.stdout, gl.stdout[-3000:]
    assert "policy: trusted origin/main:posture-gate.yml" in gl.stdout, gl.stdout[-3000:]
    report = project / ".gitlab-ci-local" / "artifacts" / "posture-gate" / "posture-gate-report"
    assert (report / "gl-sast-report.json").is_file() and (report / "junit.xml").is_file()

    # act: the workflow as written, the action from the source repo at that commit (its
    # default install path: a venv with posture-gate and the pinned scanners, from the
    # package registry), upload-sarif replaced by a stub that keeps the file.
    results = tmp_path / "results"
    results.mkdir()
    done = act(project, env, "pull_request", "-e", str(event),
               "--local-repository", f"posture-gate/posture-gate@{sha}={src}",
               "--local-repository",
               f"github/codeql-action@{CODEQL_SHA}={codeql_stub(tmp_path / 'codeql')}",
               "--env", f"RESULT_DIR={results}", timeout=400)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert "Job succeeded" in log, log[-4000:]
    assert "Summary - ## posture-gate" in log and "PASS" in log
    assert "verdict=pass" in log
    assert "policy: trusted origin/main:posture-gate.yml" in log, log[-4000:]
    sarif = json.loads((results / "uploaded.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"]
    assert (results / "uploaded.category").read_text(encoding="utf-8") == "posture-gate"
    # the default path really installed: `doctor` lists the pinned scanners in the new venv
    for line in ("posture-gate-venv/bin/semgrep (beside posture-gate's Python) version "
                 "1.185.0 tested",
                 "posture-gate-venv/bin/bandit (beside posture-gate's Python) version 1.9.4 "
                 "tested"):
        assert line in log, log[-4000:]


def test_init_adds_ci_files_next_to_an_existing_policy(tmp_path: Path) -> None:
    (tmp_path / "posture-gate.yml").write_text("version: 1\n# mine\n", encoding="utf-8")
    alone = run_cli("init", cwd=tmp_path)  # nothing else to write: refused, kept
    assert alone.returncode == 2 and "posture-gate.yml exists" in alone.stderr
    done = run_cli("init", "--github", "--gitlab", "--pre-commit", "--rev", SHA,
                   "--action", f"posture-gate/posture-gate@{SHA}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "kept" in done.stdout and "posture-gate.yml" in done.stdout
    assert (tmp_path / "posture-gate.yml").read_text(encoding="utf-8") == "version: 1\n# mine\n"
    assert all((tmp_path / f).is_file() for f in FILES[1:])


EXAMPLE = re.compile(r"^# ((?:[a-z_]+:)|(?: +))")  # a commented YAML line, not prose


def test_starter_policy_validates_with_every_example_uncommented(tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).returncode == 0
    text = (tmp_path / "posture-gate.yml").read_text(encoding="utf-8")
    lines = [line[2:] if EXAMPLE.match(line) else line for line in text.splitlines()]
    uncommented = "\n".join(lines) + "\n"
    assert "\nignore:\n" in uncommented and "\ntargets:\n" in uncommented
    (tmp_path / "all.yml").write_text(uncommented, encoding="utf-8")
    done = run_cli("policy", "validate", str(tmp_path / "all.yml"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
