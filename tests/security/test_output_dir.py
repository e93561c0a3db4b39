"""Planted symlinks in the output directory: posture-gate replaces them, never writes through.

The output dir is usually inside the scanned checkout (`-o posture-gate-report`), so the
code under review can plant links there. Real bandit scans the real example app.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import bin_dir, cli_env, copy_webapp

POLICY = "version: 1\nscanners:\n  bandit: {}\ngates:\n  code: {max: {high: 0}}\n"
FORMATS = "console,json,markdown,sarif,junit,html,gitlab"
REPORTS = ("findings.json", "summary.md", "posture-gate.sarif", "junit.xml", "report.html",
           "gl-sast-report.json")


def scan(root: Path, out: Path, tmp: Path, umask: int | None = None
         ) -> subprocess.CompletedProcess[str]:
    policy = tmp / "policy.yml"
    policy.write_text(POLICY)
    argv = [str(bin_dir() / "posture-gate"), "scan", str(root), "--policy", str(policy),
            "-o", str(out), "-f", FORMATS]
    # a cache of its own: another test's scan of a changed copy of the webapp, stored in the
    # shared test cache, answered bandit here as a partial hit, which publishes no raw output
    return subprocess.run(argv, env=cli_env(XDG_CACHE_HOME=str(tmp / "cache")),
                          capture_output=True, text=True, timeout=300,
                          check=False,
                          preexec_fn=None if umask is None else lambda: os.umask(umask))


def victim(tmp: Path, name: str = "victim.txt") -> Path:
    v = tmp / name
    v.write_text("precious\n")
    return v


def assert_regular(path: Path) -> None:
    assert stat.S_ISREG(os.lstat(path).st_mode), path


@pytest.mark.slow
def test_links_in_the_output_dir_are_replaced_not_followed(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    out = root / "posture-gate-report"
    (out / "raw").mkdir(parents=True)
    victims = {name: victim(tmp_path, f"victim-{name}") for name in REPORTS}
    for name, v in victims.items():
        (out / name).symlink_to(v)
    stdout_victim = victim(tmp_path, "victim-stdout")
    (out / "raw" / ".bandit.stdout").symlink_to(stdout_victim)  # where stdout once went
    raw_victim = victim(tmp_path, "victim-raw")
    (out / "raw" / "bandit.json").symlink_to(raw_victim)
    proc = scan(root, out, tmp_path)
    assert proc.returncode == 1, proc.stderr  # the app's real findings fail the gate
    for name, v in [*victims.items(), ("stdout", stdout_victim), ("raw", raw_victim)]:
        assert v.read_text() == "precious\n", name
    for name in (*REPORTS, "raw/bandit.json"):
        assert_regular(out / name)


@pytest.mark.slow
def test_a_raw_dir_link_is_replaced_by_a_directory(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    out = root / "posture-gate-report"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "raw").symlink_to(elsewhere)
    proc = scan(root, out, tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert list(elsewhere.iterdir()) == []
    assert stat.S_ISDIR(os.lstat(out / "raw").st_mode)
    assert_regular(out / "raw" / "bandit.json")


def test_an_output_dir_that_is_a_link_inside_the_tree_is_refused(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "posture-gate-report").symlink_to(elsewhere)
    proc = scan(root, root / "posture-gate-report", tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("posture-gate: error: --output-dir: ")
    assert "is a symlink inside the scanned tree" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert list(elsewhere.iterdir()) == []


def test_a_link_through_a_parent_inside_the_tree_is_refused(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "build").symlink_to(elsewhere)
    proc = scan(root, root / "build" / "reports", tmp_path)
    assert proc.returncode == 2 and "is a symlink inside the scanned tree" in proc.stderr
    assert list(elsewhere.iterdir()) == []


@pytest.mark.slow
def test_an_output_dir_link_outside_the_tree_is_the_ci_owners_choice(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    real = tmp_path / "artifacts"
    real.mkdir()
    (tmp_path / "reports").symlink_to(real)
    proc = scan(root, tmp_path / "reports", tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert_regular(real / "findings.json")


@pytest.mark.slow
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_reports_get_the_mode_the_umask_allows(tmp_path: Path, umask: int,
                                                mode: int) -> None:
    root = copy_webapp(tmp_path)
    out = tmp_path / "out"
    proc = scan(root, out, tmp_path, umask=umask)
    assert proc.returncode == 1, proc.stderr
    for name in (*REPORTS, "raw/bandit.json"):
        assert stat.S_IMODE((out / name).stat().st_mode) == mode, name
