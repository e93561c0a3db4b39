"""Shared pieces for running the CI integrations in their real clients.

The clients (act, gitlab-ci-local, pre-commit, zizmor, actionlint) are installed by
scripts/test-deps/ci-clients.sh and pyproject's `test` extra. Everything runs offline
against copies: nothing here talks to anything but 127.0.0.1, except the one test that
checks the action's default install path, which installs from the package registry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from ..conftest import ADVISORIES, REPO, WEBAPP, bin_dir, outer_ci_names

# What a checkout of posture-gate holds that the integrations need (pip install ., the
# action, the hook manifest, the GitLab template). posture_gate/rules/semgrep is a symlink
# into policies/.
SOURCE_ENTRIES = ("action.yml", ".gitlab-ci-template.yml", ".pre-commit-hooks.yaml",
                  "pyproject.toml", "README.md", "posture_gate", "policies")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")

NODE_BIN = REPO / "node_modules" / ".ci-clients" / "node_modules" / ".bin"  # ci-clients.sh
CODEQL_SHA = "51f77329afa6477de8c49fc9c7046c15b9a4e79d"  # github/codeql-action v3.29.5
CLEAN_APP = 'def add(a: int, b: int) -> int:\n    """Sum."""\n    return a + b\n'


def tool(name: str) -> str:
    """The client's executable: the test venv, the repo's node_modules, then PATH."""
    for candidate in (bin_dir() / name, NODE_BIN / name):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: run scripts/test-deps/ci-clients.sh and install "
                    f"the `test` extra", pytrace=False)
    return found


def client_env(tmp: Path, **extra: str) -> dict[str, str]:
    """Environment for a client: our venv first, no CI variables of the outer run, caches
    and temp dir private to the test (pip's cache stays shared: it only saves downloads).
    The GitLab template keeps its tools at a fixed $TMPDIR/posture-gate-cache-<concurrent
    job id>, an id gitlab-ci-local leaves unset: two tests on one /tmp removed each other's."""
    dropped = set(outer_ci_names(os.environ))
    env = {k: v for k, v in os.environ.items()
           if k not in dropped and not k.startswith("PRE_COMMIT")}
    env["PATH"] = f"{bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    env["XDG_CACHE_HOME"] = str(tmp / "xdg-cache")
    env["TMPDIR"] = str(tmp / "tmp")
    (tmp / "tmp").mkdir(exist_ok=True)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["SEMGREP_ENABLE_VERSION_CHECK"] = "0"
    env["SEMGREP_SEND_METRICS"] = "off"
    env["GIT_CONFIG_GLOBAL"] = str(tmp / "gitconfig")
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "posture-gate tests"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "tests@example.invalid"
    (tmp / "gitconfig").touch()
    env.update(extra)
    return env


def run(argv: Sequence[str], cwd: Path, env: dict[str, str],
        timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def git_commit_all(root: Path, env: dict[str, str]) -> str:
    """git init + add + commit; the commit SHA."""
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                 ["git", "commit", "-q", "--no-verify", "-m", "snapshot"]):
        done = run(argv, root, env, timeout=60)
        assert done.returncode == 0, done.stderr
    return run(["git", "rev-parse", "HEAD"], root, env).stdout.strip()


def copy_source(dest: Path) -> Path:
    """A copy of posture-gate's checkout with what the integrations need."""
    dest.mkdir(parents=True)
    for name in SOURCE_ENTRIES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=IGNORE, symlinks=True)
        else:
            shutil.copy2(src, dest / name)
    return dest


def clean_project(dest: Path) -> Path:
    """A small project every gate passes: one clean module, one pin without advisories,
    and the OSV records (served on 127.0.0.1) so that pip-audit needs no network."""
    dest.mkdir(parents=True)
    (dest / "app.py").write_text(CLEAN_APP, encoding="utf-8")
    (dest / "requirements.txt").write_text("click==8.1.7\n", encoding="utf-8")
    shutil.copytree(ADVISORIES, dest / ".advisories")
    return dest


def example_project(dest: Path) -> Path:
    """The bundled vulnerable example plus its advisories, side by side."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(WEBAPP, dest / "webapp")
    shutil.copytree(ADVISORIES, dest / "advisories")
    return dest


@pytest.fixture(scope="session")
def source_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository holding a copy of posture-gate's checkout, and its commit."""
    base = tmp_path_factory.mktemp("posture-gate-source")
    src = copy_source(base / "posture-gate")
    return src, git_commit_all(src, client_env(base))


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit store for the session: hook environments are built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def codeql_stub(dest: Path) -> Path:
    """Stands in for github/codeql-action under act (remote actions cannot be fetched):
    upload-sarif checks the file is SARIF with runs and keeps a copy in $RESULT_DIR."""
    action = dest / "upload-sarif" / "action.yml"
    action.parent.mkdir(parents=True)
    action.write_text("""\
name: upload-sarif (test stub)
inputs:
  sarif_file: {required: true}
  category: {required: false}
runs:
  using: composite
  steps:
    - shell: bash
      env:
        SARIF: ${{ inputs.sarif_file }}
        CATEGORY: ${{ inputs.category }}
      run: |
        python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["runs"]' "$SARIF"
        cp "$SARIF" "$RESULT_DIR/uploaded.sarif"
        printf '%s' "$CATEGORY" > "$RESULT_DIR/uploaded.category"
""", encoding="utf-8")
    return dest


# action.yml's actions/cache pin; act gets a local stub for it (tests/data/actions-cache-stub)
ACTIONS_CACHE_SHA = "0057852bfaa89a56745cba8c7296529d2fc39830"  # actions/cache v4.3.0
ACTIONS_CACHE_STUB = REPO / "tests" / "data" / "actions-cache-stub"


def act(workdir: Path, env: dict[str, str], *args: str,
        timeout: float = 280) -> subprocess.CompletedProcess[str]:
    """act in host mode (no containers), no cache server, actions/cache stubbed."""
    return run([tool("act"), *args, "-P", "ubuntu-latest=-self-hosted", "--no-cache-server",
                "--local-repository", f"actions/cache@{ACTIONS_CACHE_SHA}={ACTIONS_CACHE_STUB}"],
               workdir, env, timeout=timeout)
