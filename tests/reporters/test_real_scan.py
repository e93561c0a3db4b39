"""A real scan of examples/webapp in every format: GitLab reports validate against both
schema versions, SARIF against both SARIF schemas, and the planted token is nowhere."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ..conftest import ADVISORIES, PLANTED_TOKEN, copy_webapp, run_cli
from .schemas import GITLAB_TYPES, gitlab_errors, sarif_errors


@pytest.mark.slow
def test_real_scan_reports(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    out = tmp_path / "report"
    proc = run_cli("scan", str(root), "--advisories", str(ADVISORIES), "-o", str(out),
                   "--format", "json,gitlab,sarif,junit,markdown")
    assert proc.returncode == 1, proc.stderr  # the example fails the default policy
    for filename in GITLAB_TYPES:
        doc = json.loads((out / filename).read_text(encoding="utf-8"))
        assert gitlab_errors(filename, doc) == [], filename
    assert json.loads((out / "gl-sast-report.json").read_text())["vulnerabilities"]
    assert json.loads((out / "gl-secret-detection-report.json").read_text())["vulnerabilities"]
    assert sarif_errors(json.loads((out / "posture-gate.sarif").read_text())) == []
    ET.fromstring((out / "junit.xml").read_bytes())  # noqa: S314 - our own output
    assert (out / "summary.md").read_text().startswith("## posture-gate: ❌ FAIL")
    walked = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.parent.name == "raw" for p in walked)
    for path in walked:
        assert PLANTED_TOKEN not in path.read_text(encoding="utf-8", errors="replace"), path
    assert PLANTED_TOKEN not in proc.stdout + proc.stderr
