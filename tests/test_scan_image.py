"""Container image scans end to end: OS totals, dedup with pip-audit, gates on `os`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADVISORIES, EXAMPLES, bin_dir, copy_webapp, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("image")
    proc = subprocess.run([str(bin_dir() / "python"), str(EXAMPLES / "container" / "build.py"),
                           "--out-dir", str(out)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return out


def scan(built: Path, tmp: Path, policy: Path, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    root = copy_webapp(tmp)
    out = tmp / "out"
    proc = run_cli("scan", str(root), "--policy", str(policy), "--image",
                   str(built / "image.tar"), "--trivy-cache-dir", str(built / "trivy-cache"),
                   "--advisories", str(ADVISORIES), "-o", str(out), *extra)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads((out / "findings.json").read_text())


def test_demo_policy_image_findings_merge_with_pip_audit(built: Path, tmp_path: Path) -> None:
    code, doc = scan(built, tmp_path, EXAMPLES / "posture-gate.yml")
    assert code == 1
    runs = {r["name"]: r for r in doc["scanners"]}
    assert runs["trivy-image"]["raw_count"] == 8 and runs["trivy"]["raw_count"] == 47
    os_findings = sorted((f["rule_id"], f["package"]["name"], f["package"]["fixed_versions"],
                          f["severity"]) for f in doc["findings"] if f["category"] == "os")
    assert os_findings == [
        ("CVE-2023-45853", "zlib1g", [], "critical"),
        ("CVE-2023-5678", "libssl3", ["3.0.13-1~deb12u1"], "low"),
        ("CVE-2023-5678", "openssl", ["3.0.13-1~deb12u1"], "low"),
    ]
    # every Python finding from the image is the same problem pip-audit found in
    # requirements.txt: merged, not double counted
    deps = [f for f in doc["findings"] if f["category"] == "dependency"]
    assert len(deps) == 21
    both = {(f["package"]["name"], f["rule_id"], f["severity"]) for f in deps
            if f["found_by"] == ["pip-audit", "trivy"]}
    assert both == {("pyyaml", "PYSEC-2020-176", "critical"),
                    ("pyyaml", "PYSEC-2020-96", "critical"),
                    ("pyyaml", "PYSEC-2021-142", "critical"),
                    ("requests", "PYSEC-2018-28", "high"),
                    ("requests", "PYSEC-2023-74", "medium")}
    # the default os gate counts only what can be fixed: the unfixed zlib critical passes
    os_gate = next(g for g in doc["verdict"]["gates"] if g["name"] == "os.max.critical")
    assert os_gate["passed"] and os_gate["count"] == 0


def test_os_gate_fails_and_passes_as_the_policy_says(built: Path, tmp_path: Path) -> None:
    strict = tmp_path / "strict.yml"
    strict.write_text("version: 1\nscanners:\n  trivy: {fs: false, skip_db_update: true, "
                      "offline_scan: true}\ngates:\n  os: {max: {critical: 0}}\n")
    code, doc = scan(built, tmp_path / "a", strict)
    assert code == 1 and [g["name"] for g in doc["verdict"]["gates"] if not g["passed"]] == \
        ["os.max.critical"]
    lenient = tmp_path / "lenient.yml"
    lenient.write_text(strict.read_text().replace("{max: {critical: 0}}",
                                                  "{max: {critical: 1, low: 3}}"))
    code, doc = scan(built, tmp_path / "b", lenient)
    assert code == 0
    assert doc["totals"]["os"]["critical"] == 1 and doc["totals"]["os"]["low"] == 2


def test_cyclonedx_sbom_lists_the_image_packages(built: Path, tmp_path: Path) -> None:
    from tests.reporters.test_cyclonedx import bom_errors

    _, doc = scan(built, tmp_path, EXAMPLES / "posture-gate.yml", "--format",
                     "console,json,cyclonedx")
    bom = json.loads((tmp_path / "out" / "bom.cdx.json").read_text())
    assert bom_errors(bom) == []
    image_run = next(r for r in doc["scanners"] if r["name"] == "trivy-image")
    listed = image_run["properties"]["packages"]
    purls = {c["purl"] for c in bom["components"]}
    # every package trivy listed in the image (vulnerable or not), and every pinned one
    assert {p["purl"] for p in listed if "purl" in p} <= purls
    assert any(p["purl"].startswith("pkg:deb/") for p in listed if "purl" in p)
    assert "pkg:pypi/gunicorn@22.0.0" in purls
    assert len(listed) > len([f for f in doc["findings"] if f["category"] == "os"])
