"""Installation shapes: scanners installed beside posture-gate (its venv's or pipx's bin/,
not activated) are found before PATH, and `doctor` says where each came from."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from posture_gate import toolpath
from tests.conftest import ADVISORIES, TEST_CACHE, bin_dir, copy_webapp

BARE_PATH = "/usr/bin:/bin"  # no venv on it


def _exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_beside_the_interpreter_comes_before_path(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    venv_python = tmp_path / "venv/bin/python"
    _exe(venv_python)
    beside = _exe(tmp_path / "venv/bin/tool-x")
    on_path = _exe(tmp_path / "path/tool-x")
    _exe(tmp_path / "path/tool-y")
    (tmp_path / "venv/bin/tool-z").write_text("not executable")
    monkeypatch.setattr(toolpath, "interpreter_dir", lambda: venv_python.parent)
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    assert toolpath.locate("tool-x") == (str(beside), "beside posture-gate's Python")
    assert toolpath.locate("tool-y") == (str(tmp_path / "path/tool-y"), "from PATH")
    assert toolpath.locate("tool-z")[0] is None
    assert toolpath.which("tool-x") == str(beside) != str(on_path)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV",)}
    return {**env, "PATH": BARE_PATH, "XDG_CACHE_HOME": TEST_CACHE}


@pytest.mark.slow
def test_doctor_from_an_unactivated_venv_finds_every_scanner() -> None:
    done = subprocess.run([str(bin_dir() / "posture-gate"), "doctor"], env=_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines and all(f"{bin_dir()}/" in ln and "(beside posture-gate's Python)" in ln
                         and ln.endswith(" tested") for ln in lines), done.stdout


@pytest.mark.slow
def test_scan_from_an_unactivated_venv_runs_every_scanner(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    out = tmp_path / "out"
    done = subprocess.run([str(bin_dir() / "posture-gate"), "scan", str(root), "--advisories",
                           str(ADVISORIES), "-o", str(out), "-q"], env=_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    runs = json.loads((out / "findings.json").read_text())["scanners"]
    assert {r["name"]: r["status"] for r in runs} == dict.fromkeys(
        ("pip-audit", "bandit", "semgrep", "trivy"), "ok")
