"""The policy language end to end on examples/: one scan, several policies and dates."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADVISORIES, REPO, copy_webapp, run_cli

pytestmark = pytest.mark.slow
POLICIES = Path(__file__).parent / "data" / "policies"
Scan = tuple[Path, Path, subprocess.CompletedProcess[str]]


def gate(findings: Path, policy: str, today: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("gate", str(findings), "--policy", policy, "--today", today, *extra)


def test_same_scan_strict_fails_justified_passes_then_expiry_fails(example_scan: Scan) -> None:
    findings = example_scan[1] / "findings.json"
    assert gate(findings, "strict", "2026-11-26").returncode == 1
    ok = gate(findings, str(POLICIES / "justified.yml"), "2026-11-26")
    assert ok.returncode == 0, ok.stdout
    assert "VERDICT: PASS" in ok.stdout and "1 suppressed finding" in ok.stdout
    soon = gate(findings, str(POLICIES / "justified.yml"), "2026-12-25")
    assert soon.returncode == 0 and "expires in 6 day(s)" in soon.stdout
    late = gate(findings, str(POLICIES / "justified.yml"), "2027-01-01")
    assert late.returncode == 1
    assert "expired on 2026-12-31" in late.stdout and "FAILED secret.max.any: 1 > 0" in late.stdout


def test_every_documented_policy_validates() -> None:
    for path in sorted((REPO / "policies").glob("*.yml")):
        proc = run_cli("policy", "validate", str(path), "--today", "2026-11-26")
        assert proc.returncode == 0, proc.stderr


def _move_code(root: Path) -> None:
    """What a refactoring branch does: code moves, nothing new is added."""
    for rel in ("app/views.py", "app/jobs.py", "app/db.py"):
        p = root / rel
        lines = p.read_text().splitlines(keepends=True)
        # insert blank lines and a harmless helper after the imports
        cut = max(i for i, line in enumerate(lines[:15]) if line.startswith(("import", "from")))
        helper = ["\n", "\n", "def _unused_helper():\n", "    return None\n", "\n"]
        p.write_text("".join(lines[: cut + 1] + helper + lines[cut + 1:]))
    deploy = root / "deploy" / "k8s.yaml"
    deploy.write_text("# moved below a comment\n\n" + deploy.read_text())


def test_branch_that_only_moves_code_passes_new_and_ratchet(example_scan: Scan,
                                                             tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    wrote = run_cli("baseline", "write", str(example_scan[1] / "findings.json"),
                    "-o", str(baseline))
    assert wrote.returncode == 0, wrote.stderr
    root = copy_webapp(tmp_path)
    _move_code(root)
    out = tmp_path / "out"
    policy = str(POLICIES / "new-and-ratchet.yml")
    moved = run_cli("scan", str(root), "--advisories", str(ADVISORIES), "-o", str(out),
                    "--policy", policy, "--baseline", str(baseline))
    assert moved.returncode == 0, moved.stdout + moved.stderr
    doc = json.loads((out / "findings.json").read_text())
    assert doc["verdict"]["new"] == []
    # and a branch that adds one weakness is caught by both gates
    (root / "app" / "extra.py").write_text(
        "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n")
    shutil.rmtree(out)
    added = run_cli("scan", str(root), "--advisories", str(ADVISORIES), "-o", str(out),
                    "--policy", policy, "--baseline", str(baseline))
    assert added.returncode == 1
    assert "FAILED new.max.any: 2 > 0" in added.stdout  # B602 and B404 (import subprocess)
    assert "FAILED ratchet.code/high" in added.stdout
