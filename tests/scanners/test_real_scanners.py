"""Adapters against the real tools on small inputs (no network: loopback OSV only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ADVISORIES, run_cli

pytestmark = pytest.mark.slow


def _policy(tmp: Path, body: str) -> Path:
    p = tmp / "policy.yml"
    p.write_text("version: 1\n" + body)
    return p


def test_pip_audit_on_a_pinned_pyproject(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1"\n'
        'dependencies = [\n  "PyYAML==5.1",\n  "requests==2.19.1",\n]\n')
    policy = _policy(tmp_path, "scanners:\n  pip-audit: {}\ngates:\n  dependency: "
                               "{max: {critical: 99}}\n")
    proc = run_cli("scan", str(project), "--policy", str(policy), "--advisories",
                   str(ADVISORIES), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    where = {(f["package"]["name"], f["location"]["path"], f["location"]["start_line"])
             for f in doc["findings"]}
    assert where == {("pyyaml", "pyproject.toml", 5), ("requests", "pyproject.toml", 6)}
    assert doc["scanners"][0]["raw_count"] == 5


def test_unpinned_pyproject_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "d"\nversion = "1"\ndependencies = ["requests>=2"]\n')
    policy = _policy(tmp_path, "scanners:\n  pip-audit: {}\n")
    proc = run_cli("scan", str(tmp_path), "--policy", str(policy), "--advisories",
                   str(ADVISORIES), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "pip-audit: pyproject.toml:4: dependency not pinned with ==: requests>=2" in proc.stderr


def test_trivy_without_a_db_is_exit_2_naming_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    policy = _policy(tmp_path, "scanners:\n  trivy: {scanners: [vuln, secret]}\n"
                               "gates:\n  dependency: {max: {critical: 99}}\n")
    (tmp_path / "requirements.txt").write_text("pyyaml==5.1\n")
    proc = run_cli("scan", str(tmp_path), "--policy", str(policy), "-o", str(tmp_path / "out"),
                   "--skip-db-update", "--trivy-cache-dir", str(cache), "-q")
    assert proc.returncode == 2
    assert f"no vulnerability DB in cache directory {cache}" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_virtualenvs_are_not_the_project(tmp_path: Path) -> None:
    code = 'import os\n\n\ndef run(x):\n    os.system("ls " + x)\n'
    for rel in (".venv/lib/site.py", "venv/lib/site.py", "src/app.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(code)
    policy = _policy(tmp_path, "scanners:\n  bandit: {}\n  semgrep: {}\n"
                               "gates:\n  code: {max: {critical: 99}}\n")
    proc = run_cli("scan", str(tmp_path), "--policy", str(policy), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert {f["location"]["path"] for f in doc["findings"]} == {"src/app.py"}


def test_inline_suppressions_are_reported_and_policy_decides(tmp_path: Path) -> None:
    src = tmp_path / "app.py"
    src.write_text(
        "import subprocess\n\n\n"
        "def a(cmd):\n"
        "    return subprocess.call(cmd, shell=True)  # nosec B602 # nosemgrep\n\n\n"
        "def b(cmd):\n"
        "    return subprocess.call(cmd, shell=True)\n")
    body = ("scanners:\n  bandit: {skip: [B404]}\n  semgrep: {}\n"
            "gates:\n  code: {max: {high: 1}}\n")
    allowed = run_cli("scan", str(tmp_path), "--policy", str(_policy(tmp_path, body)),
                      "-o", str(tmp_path / "o1"))
    assert allowed.returncode == 0, allowed.stdout
    assert "(1 suppressed finding(s) not counted)" in allowed.stdout
    doc = json.loads((tmp_path / "o1" / "findings.json").read_text())
    sup = [f for f in doc["findings"] if f["suppression"]]
    assert [(f["location"]["start_line"], f["suppression"]["kind"]) for f in sup] == [(5, "inline")]
    assert sup[0]["found_by"] == ["bandit", "semgrep"]
    strict = run_cli("scan", str(tmp_path), "--policy",
                     str(_policy(tmp_path, "allow_inline_suppressions: false\n" + body)),
                     "-o", str(tmp_path / "o2"))
    assert strict.returncode == 1
    assert "FAILED code.max.high: 2 > 1" in strict.stdout


def test_reports_inside_the_scanned_tree_are_not_scanned_next_time(webapp: Path) -> None:
    out = webapp / "posture-gate-report"
    for venv in (".venv", "venv"):  # a virtualenv holding a credential is not the project's
        (webapp / venv / "lib").mkdir(parents=True)
        (webapp / venv / "lib" / "creds.py").write_text(
            (webapp / "app" / "settings.py").read_text())
    counts = []
    for _ in range(2):
        proc = run_cli("scan", str(webapp), "--advisories", str(ADVISORIES), "-o", str(out),
                       "--format", "json,sarif,markdown,html,junit")
        assert proc.returncode == 1, proc.stderr
        doc = json.loads((out / "findings.json").read_text())
        counts.append({s["name"]: s["raw_count"] for s in doc["scanners"]})
        assert not [f for f in doc["findings"] if f["location"] and
                    f["location"]["path"].startswith(("posture-gate-report", ".venv", "venv"))]
    assert counts[0] == counts[1] == {"pip-audit": 21, "bandit": 16, "semgrep": 11,
                                      "trivy": 47}
