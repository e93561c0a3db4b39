"""The four real scanners on examples/ (offline: advisories served on 127.0.0.1)."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from posture_gate.schemas import load_schema
from tests.conftest import PLANTED_TOKEN

pytestmark = pytest.mark.slow

Scan = tuple[Path, Path, subprocess.CompletedProcess[str]]

RAW_COUNTS = {"pip-audit": 21, "bandit": 16, "semgrep": 11, "trivy": 47}
# (kept rule, file, line) of every bandit+semgrep merge the dedup makes on examples/
MERGES = {
    ("B324", "app/auth.py", 12), ("B608", "app/db.py", 53), ("B602", "app/jobs.py", 22),
    ("B608", "app/db.py", 43),  # query built on 43-46, executed on 47 (statements.py)
    ("B605", "app/jobs.py", 27), ("B501", "app/jobs.py", 31), ("B506", "app/views.py", 33),
    ("B301", "app/views.py", 42), ("B602", "app/views.py", 55), ("B201", "run.py", 10),
    ("B104", "run.py", 10),
}


def doc(scan: Scan) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((scan[1] / "findings.json").read_text())
    return loaded


def test_exit_1_and_table_under_default_policy(example_scan: Scan) -> None:
    _, _, proc = example_scan
    assert proc.returncode == 1, proc.stderr
    # stderr: each scanner started and finished (not a terminal: plain lines), then where
    # the reports went; no warning, no error
    *lines, wrote = proc.stderr.splitlines()
    assert len(lines) == 8 and all(re.fullmatch(
        r"posture-gate: [\w-]+ (started|\d+ finding\(s\) in \d+\.\ds)", ln) for ln in lines), \
        proc.stderr
    assert wrote.startswith("posture-gate: wrote findings.json to ")
    assert proc.stdout.startswith("category ")
    assert "VERDICT: FAIL" in proc.stdout
    for gate in ("code.max.high", "architecture.max.high", "dependency.max.high",
                 "secret.max.any"):
        assert f"FAILED {gate}" in proc.stdout


def test_totals_non_zero_where_the_example_has_weaknesses(example_scan: Scan) -> None:
    totals = doc(example_scan)["totals"]
    for category in ("code", "architecture", "dependency", "secret"):
        assert sum(totals[category].values()) > 0, category
    assert sum(totals["os"].values()) == 0  # no image in this scan
    assert totals["secret"] == {"critical": 1, "high": 0, "medium": 0, "low": 0, "info": 0,
                                "unknown": 0}


def test_exact_raw_counts_per_scanner(example_scan: Scan) -> None:
    runs = {s["name"]: s for s in doc(example_scan)["scanners"]}
    assert {n: r["raw_count"] for n, r in runs.items()} == RAW_COUNTS
    assert all(r["status"] == "ok" and r["tested_version"] for r in runs.values())
    assert {r["exit_code"] for n, r in runs.items() if n in ("bandit", "pip-audit")} == {1}


def test_normalized_counts_equal_the_raw_tools_counts(example_scan: Scan) -> None:
    _, out, _ = example_scan
    d = doc(example_scan)
    # every finding, merged or not, is still attributed to each scanner that found it
    found_by = Counter(s for f in d["findings"] for s in f["found_by"])
    # what the tools themselves printed (kept, redacted, in raw/)
    raw = {
        "bandit": len(json.loads((out / "raw/bandit.json").read_text())["results"]),
        "semgrep": len(json.loads((out / "raw/semgrep.json").read_text())["results"]),
        "pip-audit": sum(len(dep.get("vulns", [])) for dep in json.loads(
            (out / "raw/pip-audit.json").read_text())["dependencies"]),
        "trivy": sum(len(r.get("Misconfigurations") or []) + len(r.get("Secrets") or [])
                     + len(r.get("Vulnerabilities") or []) for r in json.loads(
            (out / "raw/trivy.json").read_text())["Results"]),
    }
    assert raw == RAW_COUNTS
    assert dict(found_by) == RAW_COUNTS
    assert len(d["findings"]) == sum(RAW_COUNTS.values()) - len(MERGES)


def test_the_merges_dedup_made(example_scan: Scan) -> None:
    merged = [f for f in doc(example_scan)["findings"] if len(f["found_by"]) > 1]
    got = {(f["rule_id"], f["location"]["path"], f["location"]["start_line"]) for f in merged}
    assert got == MERGES
    for f in merged:
        assert f["found_by"] == ["bandit", "semgrep"] and len(f["merged_fingerprints"]) == 1


def test_dependency_findings_carry_advisory_facts(example_scan: Scan) -> None:
    deps = [f for f in doc(example_scan)["findings"] if f["category"] == "dependency"]
    by_id = {f["rule_id"]: f for f in deps}
    expected = json.loads((Path(__file__).parent.parent / "examples" /
                           "expected-advisories.json").read_text())
    assert sorted(by_id) == sorted(i for ids in expected.values() for i in ids)
    yaml96 = by_id["PYSEC-2020-96"]
    assert yaml96["package"]["fixed_versions"] == ["5.3.1"]
    assert "CVE-2020-1747" in yaml96["identifiers"]
    assert yaml96["location"] == {"path": "requirements.txt", "start_line": 4, "end_line": 4}
    # severity comes from the advisory's CVSS vector where it has one, else unknown
    scored = [f for f in deps if f["cvss"]]
    assert scored and all(f["severity"] != "unknown" for f in scored)
    assert all(f["severity"] == "unknown" for f in deps if not f["cvss"])


def test_findings_file_validates_against_shipped_schema(example_scan: Scan) -> None:
    jsonschema.Draft202012Validator(load_schema("finding-v1")).validate(doc(example_scan))


def test_no_secret_value_in_any_output(example_scan: Scan) -> None:
    _, out, proc = example_scan
    assert PLANTED_TOKEN not in proc.stdout + proc.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) >= 5  # findings.json + raw/<scanner>.json
    for p in files:
        assert PLANTED_TOKEN not in p.read_text(errors="replace"), p


def test_fingerprints_are_unique_and_stable_across_runs(example_scan: Scan,
                                                        tmp_path: Path) -> None:
    from tests.conftest import ADVISORIES, run_cli
    root, _, _ = example_scan
    out = tmp_path / "again"
    run_cli("scan", str(root), "--advisories", str(ADVISORIES), "-o", str(out))
    first = sorted(f["fingerprint"] for f in doc(example_scan)["findings"])
    second = sorted(f["fingerprint"] for f in json.loads(
        (out / "findings.json").read_text())["findings"])
    assert len(set(first)) == len(first)
    assert first == second
