"""`scan --vex` at the command line: trusted files only, exactly their findings suppressed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.clirun import CliFixture

from ..conftest import ADVISORIES, copy_webapp
from .test_apply import CDX, OPENVEX

EXPECTED = {"PYSEC-2020-96", "PYSEC-2018-28", "PYSEC-2023-62", "PYSEC-2023-58"}


def test_a_vex_file_inside_the_tree_is_refused(tmp_path: Path, cli: CliFixture) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    planted = root / ".vex.json"
    shutil.copy(OPENVEX, planted)
    out = tmp_path / "out"
    r = cli("scan", str(root), "--vex", str(planted), "-o", str(out))
    assert r.returncode == 2
    assert "--vex:" in r.stderr and "is inside the scanned tree" in r.stderr
    assert not out.exists()


def test_a_malformed_vex_file_is_exit_2(tmp_path: Path, cli: CliFixture) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    bad = tmp_path / "vex.json"
    bad.write_text('{"@context": "https://openvex.dev/ns/v0.2.0", "author": "a"}')
    r = cli("scan", str(root), "--vex", str(bad), "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and f"{bad}: not a usable VEX document" in r.stderr


def _policy(tmp_path: Path, extra: str = "") -> Path:
    p = tmp_path / "trusted.yml"
    p.write_text(f"version: 1\nadvisories: {ADVISORIES}\n{extra}"
                 "scanners:\n  pip-audit: {requirements: [requirements.txt]}\n"
                 "gates:\n  dependency: {max: {any: 0}}\n")
    return p


@pytest.mark.slow
def test_scan_with_openvex_and_cyclonedx_suppresses_exactly_their_findings(
        tmp_path: Path, cli: CliFixture) -> None:
    root = copy_webapp(tmp_path)
    out = tmp_path / "out"
    r = cli("scan", str(root), "--policy", str(_policy(tmp_path)), "--vex", str(OPENVEX),
            "--vex", str(CDX), "-o", str(out), "-f", "console,json,markdown")
    assert r.returncode == 1, r.stderr
    doc = json.loads((out / "findings.json").read_text())
    sup = {f["rule_id"]: f["suppression"] for f in doc["findings"] if f["suppression"]}
    assert set(sup) == EXPECTED
    assert all(s["kind"] == "vex" and s["vex"]["author"] for s in sup.values())
    deps = [f for f in doc["findings"] if f["category"] == "dependency"]
    gate = next(g for g in doc["verdict"]["gates"] if g["name"] == "dependency.max.any")
    assert gate["count"] == len(deps) - len(EXPECTED)
    assert doc["suppressed"] == len(EXPECTED)
    # `gate` on the saved run keeps the VEX decisions
    g = cli("gate", str(out / "findings.json"), "--policy", str(_policy(tmp_path)))
    assert g.returncode == 1 and f"{len(deps) - len(EXPECTED)} > 0" in g.stdout


@pytest.mark.slow
def test_a_vex_file_in_the_tree_named_by_the_trusted_policy_is_honoured(
        tmp_path: Path, cli: CliFixture) -> None:
    root = copy_webapp(tmp_path)
    shutil.copy(OPENVEX, root / "vex.json")
    policy = _policy(tmp_path, f"vex: [{root / 'vex.json'}]\n")
    out = tmp_path / "out"
    r = cli("scan", str(root), "--policy", str(policy), "--vex", str(root / "vex.json"),
            "-o", str(out))
    assert r.returncode == 1, r.stderr
    doc = json.loads((out / "findings.json").read_text())
    assert {f["rule_id"] for f in doc["findings"] if f["suppression"]} == \
        {"PYSEC-2020-96", "PYSEC-2018-28"}
