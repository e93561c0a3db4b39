"""Only the project is scanned: never a virtualenv inside it (a CI job's install), nor
posture-gate's own output and cache directories. A committed pyvenv.cfg hides nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from posture_gate.repoconfig import inspect_tree
from posture_gate.scan import untracked
from tests.conftest import cli_env, run_cli

VULNERABLE = "import hashlib\n\n\ndef digest(b):\n    return hashlib.md5(b).hexdigest()\n"


def _venv(root: Path, rel: str) -> None:
    d = root / rel
    (d / "lib/python3.11/site-packages/pkg").mkdir(parents=True)
    (d / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (d / "lib/python3.11/site-packages/pkg/__init__.py").write_text(VULNERABLE)


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   cwd=root, check=True, capture_output=True)


def test_inspect_tree_finds_virtualenvs_and_does_not_walk_them(tmp_path: Path) -> None:
    _venv(tmp_path, ".posture-gate-venv")
    _venv(tmp_path, "services/api/env")
    (tmp_path / ".posture-gate-venv/lib/.bandit").write_text("[bandit]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src/pyvenv.cfg").mkdir()  # a directory of that name is no marker
    facts = inspect_tree(tmp_path)
    assert facts.venv_dirs == (".posture-gate-venv", "services/api/env")
    assert facts.config_files == ()  # the venv's .bandit was never seen


def test_a_committed_pyvenv_cfg_is_scanned(tmp_path: Path) -> None:
    _venv(tmp_path, "ci-venv")
    _venv(tmp_path, "src")  # planted beside the code under review, and committed
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "src")
    _git(tmp_path, "commit", "-q", "-m", "x")
    assert untracked(tmp_path, ("ci-venv", "src")) == ("ci-venv",)
    # outside a git work tree nothing is known to be committed
    assert untracked(tmp_path / "src", ("lib",)) == ("lib",)


POLICY = """version: 1
scanners:
  bandit: {}
  semgrep: {config: [bundled]}
  trivy: {scanners: [secret]}
gates:
  code: {max: {critical: 0, high: 0}}
"""


@pytest.mark.slow
def test_scan_skips_venvs_output_and_cache_dirs(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app/main.py").write_text(VULNERABLE)
    _venv(root, ".posture-gate-venv")
    _venv(root, "nested/.tox-like")
    for d in ("report", ".cache/posture-gate/advisories"):
        (root / d).mkdir(parents=True)
        (root / d / "old.py").write_text(VULNERABLE)
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    out = root / "report"
    proc = run_cli("scan", str(root), "--policy", str(policy), "-o", str(out),
                   env=cli_env(XDG_CACHE_HOME=str(root / ".cache")), cwd=root)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads((out / "findings.json").read_text())
    paths = {f["location"]["path"] for f in doc["findings"] if f.get("location")}
    assert paths == {"app/main.py"}, paths
    by = {s for f in doc["findings"] for s in f["found_by"]}
    assert by == {"bandit", "semgrep"}
