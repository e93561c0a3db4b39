"""Shared fixtures. Real scanners run only in tests marked `slow`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
WEBAPP = EXAMPLES / "webapp"
ADVISORIES = EXAMPLES / "advisories"
SAMPLES = Path(__file__).parent / "data" / "samples"
PLANTED_TOKEN = "ghp_83oexnMGx835SevDTTtSAIPM79vgPRgR04pl"  # examples/README.md


def bin_dir() -> Path:
    return Path(sys.executable).parent


# posture-gate's own caches (the advisory index) go here, never into the user's home.
TEST_CACHE = tempfile.mkdtemp(prefix="posture-gate-test-cache-")


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    env["XDG_CACHE_HOME"] = TEST_CACHE
    env.pop("GITHUB_STEP_SUMMARY", None)
    env.update(extra)
    return env


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir() / "posture-gate"), *args], cwd=cwd,
                          env=env or cli_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


def copy_webapp(dest: Path) -> Path:
    """A private copy of the example app (scanners must never see the repo's own tree)."""
    target = dest / "webapp"
    shutil.copytree(WEBAPP, target)
    return target


@pytest.fixture
def webapp(tmp_path: Path) -> Path:
    return copy_webapp(tmp_path)


@pytest.fixture(scope="session")
def example_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path,
                                                                   subprocess.CompletedProcess[str]]:
    """One real scan of examples/ with the default policy: (root, output dir, process)."""
    base = tmp_path_factory.mktemp("example-scan")
    root = copy_webapp(base)
    out = base / "report"
    proc = run_cli("scan", str(root), "--advisories", str(ADVISORIES), "-o", str(out))
    return root, out, proc


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--update-goldens`: rewrite tests/reporters/golden/ from the current reporters."""
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite the reporter golden files instead of comparing")
