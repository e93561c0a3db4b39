"""The fast pre-commit hook and the full scan rate a finding alike: the hook runs the same
merge (bandit + semgrep) on the committed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..conftest import run_cli

APP = '''import hashlib

DB_PASSWORD = "hunter2-correct-horse"


def digest(data):
    return hashlib.md5(data).hexdigest()
'''
POLICY = """version: 1
scanners:
  bandit: {}
  semgrep: {config: [bundled]}
gates:
  code: {max: {critical: 0, high: 0}}
"""


def _by_line(out: Path) -> dict[int, tuple[str, tuple[str, ...]]]:
    findings = json.loads((out / "findings.json").read_text())["findings"]
    return {f["location"]["start_line"]: (f["severity"], tuple(sorted(f["found_by"])))
            for f in findings if f["location"]["path"] == "app.py"}


@pytest.mark.slow
def test_hook_and_full_scan_give_the_same_severity(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "app.py").write_text(APP)
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    full = run_cli("scan", str(root), "--policy", str(policy), "-o", str(tmp_path / "full"))
    hook = run_cli("pre-commit", "--policy", str(policy), "-o", str(tmp_path / "hook"),
                   "app.py", cwd=root)
    assert full.returncode == hook.returncode == 1, full.stderr + hook.stderr
    scanned, committed = _by_line(tmp_path / "full"), _by_line(tmp_path / "hook")
    # bandit alone rates the password B105 low; merged with semgrep's rule it is high
    assert scanned[3] == ("high", ("bandit", "semgrep"))
    assert committed == scanned
    assert "app.py:3: high: B105" in hook.stdout
