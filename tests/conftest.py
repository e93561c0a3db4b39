"""Shared fixtures and the real-tool switch.

Tests that run a real scanner (bandit, semgrep, pip-audit, trivy) carry `slow`; tests that
drive another real program (a CI client, node, a browser) carry `real_tools`. Both are
skipped, with that reason, unless `--real-tools` or POSTURE_GATE_REAL_TOOLS=1 asks for them
(scripts/test passes the option): the default `pytest` is hermetic and quick.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.support.clirun import CliFixture, CliResult, invoke

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


# The outer CI's own variables: posture-gate reads some (CI warns about an untrusted policy,
# GITHUB_*/CI_* locate a platform), so a test run inside CI must not hand them on.
CI_PREFIXES = ("GITHUB_", "GITLAB_", "CI_", "RUNNER_", "ACTIONS_")


def outer_ci_names(environ: Mapping[str, str]) -> list[str]:
    return [k for k in environ if k == "CI" or k.startswith(CI_PREFIXES)]


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in outer_ci_names(env):
        del env[name]
    env["PATH"] = f"{bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    env["XDG_CACHE_HOME"] = TEST_CACHE
    env.update(extra)
    return env


def scannerless_python(tmp: Path) -> Path:
    """A python in a venv-shaped directory whose bin/ holds nothing else: posture-gate looks
    for scanners beside its interpreter before PATH, so this is how fault injection gets the
    fake scanners on PATH to run instead of the real ones in .venv/bin."""
    root = tmp / "scannerless-venv"
    python = root / "bin" / "python"
    if not python.exists():
        python.parent.mkdir(parents=True)
        shutil.copy(Path(sys.prefix) / "pyvenv.cfg", root / "pyvenv.cfg")
        python.symlink_to(sys.executable)
        (root / "lib").symlink_to(Path(sys.prefix) / "lib")
    return python


def cli_argv(python: Path | None = None) -> list[str]:
    """posture-gate's command: the installed script, or `python -m posture_gate`."""
    return [str(bin_dir() / "posture-gate")] if python is None else \
        [str(python), "-m", "posture_gate"]


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300, python: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_argv(python), *args], cwd=cwd,
                          env=env or cli_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture
def cli() -> CliFixture:
    """cli("gate", path, cwd=..., env={...}) -> CliResult(returncode, stdout, stderr):
    posture-gate run in-process (tests/support/clirun.py), with run_cli's environment
    (private cache, none of the outer CI's variables)."""

    def run(*args: str, cwd: Path | None = None,
            env: dict[str, str | None] | None = None) -> CliResult:
        path = f"{bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}"
        dropped: dict[str, str | None] = dict.fromkeys(outer_ci_names(os.environ))
        return invoke(args, cwd=cwd, env={**dropped, "PATH": path, "XDG_CACHE_HOME": TEST_CACHE,
                                          **(env or {})})

    return run


def copy_webapp(dest: Path) -> Path:
    """A private copy of the example app (scanners must never see the repo's own tree)."""
    target = dest / "webapp"
    shutil.copytree(WEBAPP, target)
    return target


def webapp_with_links_out(dest: Path, code: str) -> tuple[Path, tuple[str, ...]]:
    """copy_webapp plus a directory and a .py file linked from outside the tree, each
    holding `code`: (root, the links as ScanContext.outside_links names them)."""
    root = copy_webapp(dest)
    outside = dest / "outside"
    outside.mkdir()
    (outside / "evil.py").write_text(code)
    (root / "out").symlink_to(outside)
    (root / "out.py").symlink_to(outside / "evil.py")
    return root, ("out", "out.py")


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
    # --no-cache: the tests of this scan read what the scanners really did (each started)
    proc = run_cli("scan", str(root), "--advisories", str(ADVISORIES), "-o", str(out),
                   "--no-cache")
    return root, out, proc


REAL_TOOLS_ENV = "POSTURE_GATE_REAL_TOOLS"
REAL_TOOL_MARKERS = ("slow", "real_tools")


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--update-goldens`: rewrite tests/reporters/golden/ from the current reporters.
    `--real-tools`: also run the tests that need real scanners or CI clients."""
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite the reporter golden files instead of comparing")
    parser.addoption("--real-tools", action="store_true", default=False,
                     help="run the tests marked slow/real_tools (real scanners and CI "
                          f"clients); {REAL_TOOLS_ENV}=1 does the same")


def real_tools_enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("--real-tools")) or os.environ.get(REAL_TOOLS_ENV) == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if real_tools_enabled(config):
        return
    skip = pytest.mark.skip(reason="needs real scanners or CI clients: run with --real-tools "
                                   f"or {REAL_TOOLS_ENV}=1 (scripts/test does)")
    for item in items:
        if any(item.get_closest_marker(name) for name in REAL_TOOL_MARKERS):
            item.add_marker(skip)
