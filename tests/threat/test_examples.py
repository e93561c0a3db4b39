"""examples/ scanned by the real pip-audit (offline, advisories on 127.0.0.1): the KEV gate,
the EPSS floor and the GHSA severities on real findings."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from posture_gate.model import Category, Finding, ScanResult, Severity
from posture_gate.policy import schema
from posture_gate.policy.evaluate import evaluate
from posture_gate.reporters.unknowns import unknown_dependencies, unknown_line
from posture_gate.scan import ScanOptions, scan
from posture_gate.threat import feeds

from ..conftest import TEST_CACHE, bin_dir, copy_webapp
from ..test_advisory_zip_in_dir import ghsa_zip
from .test_feeds import EPSS_GZ, KEV, TODAY

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).parents[2] / "examples"
GHSA = Path(__file__).parents[1] / "data" / "advisories-ghsa"
POLICY = """version: 1
scanners:
  pip-audit: {requirements: [requirements.txt]}
gates:
  kev: {max: {any: 0}}
  dependency: {max: {any: 0}, min_epss: 0.01}
"""


@pytest.fixture(autouse=True)
def _tools_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}")


def _scan(tmp_path: Path, advisories: Path, threat: feeds.ThreatData | None = None
          ) -> ScanResult:
    p = tmp_path / "policy.yml"
    p.write_text(POLICY)
    policy = schema.load_policy(str(p), today=TODAY)
    root = tmp_path / "webapp"
    if not root.exists():
        copy_webapp(tmp_path)
    out = tmp_path / f"out-{advisories.name}"
    result, _ = scan(policy, ScanOptions(root=root, output_dir=out, advisories=advisories,
                                         cache_dir=Path(TEST_CACHE), threat=threat))
    return result


def _deps(run: ScanResult) -> list[Finding]:
    return [f for f in run.findings if f.category is Category.DEPENDENCY]


def test_kev_gate_and_epss_floor_on_the_examples(tmp_path: Path) -> None:
    data = feeds.load(kev=KEV, epss=EPSS_GZ, today=TODAY)
    run = _scan(tmp_path, EXAMPLES / "advisories", data)
    assert run.threat == data.sources
    listed = [f for f in _deps(run) if f.kev is not None]
    assert [f.rule_id for f in listed] == ["PYSEC-2020-96"]  # pyyaml, CVE-2020-1747
    assert all(f.epss is not None for f in _deps(run) if any(
        i.startswith("CVE-") for i in f.identifiers))
    p = tmp_path / "policy.yml"
    policy = schema.load_policy(str(p), today=TODAY)
    v = evaluate(policy, run.findings, run.scanners, today=TODAY, threat=run.threat)
    assert v.status == "fail"
    kev_gate = next(g for g in v.gates if g.kind == "kev")
    assert kev_gate.count == 1 and kev_gate.fingerprints == (listed[0].fingerprint,)
    dep_gate = next(g for g in v.gates if g.name.startswith("dependency"))
    floor = [f for f in _deps(run) if f.epss is None or f.epss.score >= 0.01]
    assert dep_gate.count == len(floor) < len(_deps(run))


@pytest.mark.parametrize("layout", ["records", "all.zip"])
def test_ghsa_records_resolve_unknown_severities(tmp_path: Path, layout: str) -> None:
    before = _scan(tmp_path, EXAMPLES / "advisories")
    mirror = tmp_path / "advisories"
    shutil.copytree(EXAMPLES / "advisories", mirror)
    if layout == "records":  # GHSA JSON files beside the PYSEC YAML ones
        shutil.copytree(GHSA, mirror, dirs_exist_ok=True)
    else:  # an osv.dev-style zip export beside them
        ghsa_zip(mirror / "all.zip")
    after = _scan(tmp_path, mirror)
    # the same advisories are found (pip-audit merges a GHSA record into its PYSEC alias)
    assert sorted(f.rule_id for f in _deps(after)) == sorted(f.rule_id for f in _deps(before))
    unknown_before = Counter(f.severity for f in _deps(before))[Severity.UNKNOWN]
    unknown_after = Counter(f.severity for f in _deps(after))[Severity.UNKNOWN]
    assert unknown_after < unknown_before
    ghsa_ids = {p.stem for p in GHSA.rglob("GHSA-*.json")}
    was = {f.rule_id: f for f in _deps(before)}
    changed = [f for f in _deps(after) if was[f.rule_id].severity is Severity.UNKNOWN
               and f.severity is not Severity.UNKNOWN]
    assert len(changed) == unknown_before - unknown_after
    for f in changed:  # each severity names the GHSA record that gave it
        assert f.severity_source and f.severity_source.split()[0] in ghsa_ids
        assert f.severity_source.split()[0] in f.identifiers
        assert f.cvss is not None
    # every report says how many are left unranked
    assert unknown_dependencies(after.findings) == (unknown_after, len(_deps(after)))
    line = unknown_line(after.findings)
    assert line and line.startswith(f"severity unknown for {unknown_after} of ")
    print(f"unknown dependency findings: {unknown_before} -> {unknown_after} of "
          f"{len(_deps(after))}")


def test_the_cyclonedx_sbom_of_the_examples_lists_every_audited_pin(tmp_path: Path) -> None:
    from posture_gate.reporters import REPORTERS

    from ..reporters.test_cyclonedx import bom_errors

    run = _scan(tmp_path, EXAMPLES / "advisories")
    p = tmp_path / "policy.yml"
    verdict = evaluate(schema.load_policy(str(p), today=TODAY), run.findings, run.scanners,
                       today=TODAY, threat=run.threat)
    doc = json.loads(REPORTERS["cyclonedx"].render(run, verdict))
    assert bom_errors(doc) == []
    pins = [line.split("==") for line in
            (EXAMPLES / "webapp" / "requirements.txt").read_text().split()]
    assert {c["purl"] for c in doc["components"]} == \
        {f"pkg:pypi/{n}@{v}" for n, v in pins}  # gunicorn and cryptography too: audited
    assert len(doc["vulnerabilities"]) == len(_deps(run)) == 21
