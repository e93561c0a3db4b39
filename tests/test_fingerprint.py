"""Fingerprints: no line numbers, whitespace-insensitive, disambiguated in order."""

from __future__ import annotations

from pathlib import Path

from posture_gate import fingerprint as fp
from posture_gate.model import Category, Finding, Location, Severity
from posture_gate.scanners.bandit import Bandit
from posture_gate.scanners.base import Job, ScanContext

BANDIT_DOC = """{"errors": [], "results": [
 {"test_id": "B602", "test_name": "subprocess_popen_with_shell_equals_true",
  "filename": "app.py", "line_number": %d, "line_range": [%d], "issue_severity": "HIGH",
  "issue_confidence": "HIGH", "issue_cwe": {"id": 78}, "issue_text": "shell"}],
 "metrics": {"_totals": {"SEVERITY.HIGH": 1, "SEVERITY.MEDIUM": 0, "SEVERITY.LOW": 0,
  "SEVERITY.UNDEFINED": 0, "CONFIDENCE.HIGH": 1, "CONFIDENCE.MEDIUM": 0,
  "CONFIDENCE.LOW": 0, "CONFIDENCE.UNDEFINED": 0}}}"""


def _bandit_fp(root: Path, line: int) -> str:
    ctx = ScanContext(root=root, work_dir=root, source=fp.SourceLines(root))
    data = (BANDIT_DOC % (line, line)).encode()
    job = Job(name="bandit", scanner="bandit", argv=("bandit",))
    return Bandit().parse(data, job, ctx, "1", exit_code=1).findings[0].fingerprint


def test_moving_code_keeps_the_fingerprint(tmp_path: Path) -> None:
    call = "subprocess.call(cmd, shell=True)"
    (tmp_path / "app.py").write_text(f"import subprocess\n{call}\n")
    before = _bandit_fp(tmp_path, 2)
    (tmp_path / "app.py").write_text(f"import subprocess\n\n\n# moved\n   {call}  \n")
    assert _bandit_fp(tmp_path, 5) == before
    (tmp_path / "app.py").write_text("import subprocess\nsubprocess.call(other, shell=True)\n")
    assert _bandit_fp(tmp_path, 2) != before


def _f(fpr: str, line: int) -> Finding:
    return Finding(fingerprint=fpr, scanner="bandit", scanner_version="1", rule_id="B1",
                   category=Category.CODE, severity=Severity.LOW, title="t", message="m",
                   location=Location(path="a.py", start_line=line))


def test_identical_findings_get_distinct_ids_by_order() -> None:
    out = fp.disambiguate([_f("x" * 64, 30), _f("x" * 64, 10), _f("y" * 64, 1)])
    assert out[1].fingerprint == "x" * 64  # the first in the file keeps the base id
    assert out[0].fingerprint not in ("x" * 64, "y" * 64)
    assert out[2].fingerprint == "y" * 64


def test_canonical_advisory_prefers_cve_then_ghsa() -> None:
    assert fp.canonical_advisory(["PYSEC-1", "GHSA-b", "CVE-2", "CVE-1"]) == "CVE-1"
    assert fp.canonical_advisory(["PYSEC-1", "GHSA-b", "GHSA-a"]) == "GHSA-a"
    assert fp.canonical_advisory(["PYSEC-1"]) == "PYSEC-1"


def test_source_lines_never_leave_the_root(tmp_path: Path) -> None:
    (tmp_path / "inside.py").write_text("a\nb\n")
    lines = fp.SourceLines(tmp_path)
    assert lines.line_range("inside.py", 2, 2) == "b"
    assert lines.line_range("../../etc/passwd", 1, 1) == ""
