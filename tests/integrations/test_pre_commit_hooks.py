""".pre-commit-hooks.yaml under `pre-commit try-repo`, on a repository with staged files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ..conftest import PLANTED_TOKEN, WEBAPP
from .conftest import CLEAN_APP, clean_project, client_env, run, tool


def project(tmp: Path, env: dict[str, str]) -> Path:
    root = tmp / "project"
    root.mkdir()
    assert run(["git", "init", "-q", "-b", "main"], root, env).returncode == 0
    return root


def try_repo(root: Path, source: tuple[Path, str], env: dict[str, str], hook: str,
             *extra: str) -> subprocess.CompletedProcess[str]:
    src, sha = source
    return run([tool("pre-commit"), "try-repo", str(src), hook, "--ref", sha, "--verbose",
                "--color", "never", *extra], root, env, timeout=280)


@pytest.mark.slow
def test_fast_hook_blocks_a_staged_secret_and_passes_clean_files(
        tmp_path: Path, source_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    env = client_env(tmp_path, PRE_COMMIT_HOME=str(pre_commit_home))
    root = project(tmp_path, env)
    (root / "app.py").write_text(CLEAN_APP, encoding="utf-8")
    (root / "README.md").write_text("# clean\n", encoding="utf-8")
    run(["git", "add", "app.py", "README.md"], root, env)

    clean = try_repo(root, source_repo, env, "posture-gate")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "VERDICT: PASS" in clean.stdout
    assert "bandit: ok" in clean.stdout and "trivy: ok" in clean.stdout

    # A vulnerable file, staged: blocked. An unstaged one is not scanned.
    pkg = root / "app"
    pkg.mkdir()
    shutil.copy2(WEBAPP / "app" / "settings.py", pkg / "settings.py")
    shutil.copy2(WEBAPP / "app" / "views.py", pkg / "views.py")
    run(["git", "add", "app/settings.py"], root, env)
    blocked = try_repo(root, source_repo, env, "posture-gate")
    out = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, out
    assert "app/settings.py:15: critical: github-pat" in out
    assert "FAILED secret.max.any" in out
    assert "app/views.py" not in out  # not staged
    assert PLANTED_TOKEN not in out


@pytest.mark.slow
def test_full_hook_runs_on_the_manual_stage_only(
        tmp_path: Path, source_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    env = client_env(tmp_path, PRE_COMMIT_HOME=str(pre_commit_home))
    root = clean_project(tmp_path / "project")
    assert run(["git", "init", "-q", "-b", "main"], root, env).returncode == 0
    (root / "posture-gate.yml").write_text(
        "version: 1\nextends: default\nadvisories: .advisories\n", encoding="utf-8")
    run(["git", "add", "-A"], root, env)
    # declared for the manual stage only: a commit does not run it
    commit = try_repo(root, source_repo, env, "posture-gate-full")
    assert commit.returncode == 1
    assert "No hook with id `posture-gate-full` in stage `pre-commit`" in commit.stdout
    manual = try_repo(root, source_repo, env, "posture-gate-full", "--hook-stage", "manual",
                      "--all-files")
    out = manual.stdout + manual.stderr
    assert manual.returncode == 0, out
    assert "VERDICT: PASS" in out
    for scanner in ("pip-audit", "bandit", "semgrep", "trivy"):
        assert f"{scanner}: ok" in out, out
