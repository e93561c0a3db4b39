"""The scanned tree's code is read, never run: a tree that ships its own `pip` package (which
pip-audit would import when it runs `python -m pip` from the tree) or a `sitecustomize.py`
executes nothing during a scan, and the audit still counts what the clean copy counts.
Real scanners; the planted code would write a marker next to the tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ADVISORIES, copy_webapp, run_cli

pytestmark = pytest.mark.slow

PAYLOAD = "import pathlib\npathlib.Path({marker!r}).write_text('ran')\n"


def _counts(out: Path) -> dict[str, int]:
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return {s["name"]: s["raw_count"] for s in doc["scanners"]}


def test_planted_python_modules_never_run(tmp_path: Path) -> None:
    clean = copy_webapp(tmp_path / "clean")
    hostile = copy_webapp(tmp_path / "hostile")
    marker = tmp_path / "RAN"
    for rel in ("pip/__init__.py", "pip/__main__.py", "sitecustomize.py", "usercustomize.py",
                "bandit/__init__.py", "semgrep/__init__.py", "pip_audit/__init__.py"):
        (hostile / rel).parent.mkdir(exist_ok=True)
        (hostile / rel).write_text(PAYLOAD.format(marker=str(marker)))
    args = ("--policy", "strict", "--advisories", str(ADVISORIES), "--no-cache", "-q")
    ref = run_cli("scan", str(clean), "-o", str(tmp_path / "out-clean"), *args, cwd=clean)
    got = run_cli("scan", str(hostile), "-o", str(tmp_path / "out-hostile"), *args,
                  cwd=hostile)  # the CI job's usual working directory: the checkout
    assert not marker.exists(), "code from the scanned tree ran during the scan"
    assert ref.returncode == got.returncode == 1, got.stdout + got.stderr
    want = _counts(tmp_path / "out-clean")
    have = _counts(tmp_path / "out-hostile")
    assert have["pip-audit"] == want["pip-audit"] > 0
    assert have["trivy"] == want["trivy"]
