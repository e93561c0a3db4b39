"""`scan --kev/--epss` and the policy's threat block at the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.clirun import CliFixture

from ..conftest import copy_webapp
from .test_feeds import EPSS_GZ, KEV

ON_DATE = "2024-10-12"


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "app.py").write_text("print('hi')\n")
    return root


def test_a_stale_file_is_exit_2_before_any_scan(tmp_path: Path, cli: CliFixture) -> None:
    root = _tree(tmp_path)
    out = tmp_path / "out"
    r = cli("scan", str(root), "--kev", str(KEV), "-o", str(out), "--today", "2024-11-30")
    assert r.returncode == 2
    assert "KEV catalogue dated 2024-10-10 is 51 days old, older than max_age_days (7)" \
        in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_malformed_file_is_exit_2_naming_file_and_line(tmp_path: Path,
                                                          cli: CliFixture) -> None:
    root = _tree(tmp_path)
    bad = tmp_path / "epss.csv"
    bad.write_text("#model_version:v2023.03.01,score_date:2024-10-10T00:00:00+0000\n"
                   "cve,epss,percentile\nCVE-2020-1747,0.5\n")
    r = cli("scan", str(root), "--epss", str(bad), "-o", str(tmp_path / "out"),
            "--today", ON_DATE)
    assert r.returncode == 2 and f"{bad}:3: expected cve,epss,percentile" in r.stderr


def test_a_threat_file_inside_the_tree_is_refused(tmp_path: Path, cli: CliFixture) -> None:
    root = _tree(tmp_path)
    planted = root / "kev.json"
    shutil.copy(KEV, planted)
    r = cli("scan", str(root), "--kev", str(planted), "-o", str(tmp_path / "out"),
            "--today", ON_DATE)
    assert r.returncode == 2 and "is inside the scanned tree" in r.stderr


@pytest.mark.slow
def test_scan_with_kev_and_epss_gates_on_the_examples(tmp_path: Path,
                                                      cli: CliFixture) -> None:
    root = copy_webapp(tmp_path)
    policy = tmp_path / "trusted.yml"
    threat = tmp_path / "threat"
    threat.mkdir()
    shutil.copy(KEV, threat / KEV.name)
    policy.write_text(f"""version: 1
advisories: {Path(__file__).parents[2] / "examples" / "advisories"}
threat: {{kev: threat/{KEV.name}, max_age_days: 3}}
scanners:
  pip-audit: {{requirements: [requirements.txt]}}
gates:
  kev: {{max: {{any: 0}}}}
""")
    out = tmp_path / "out"
    r = cli("scan", str(root), "--policy", str(policy), "--epss", str(EPSS_GZ),
            "-o", str(out), "--today", ON_DATE, "-f", "console,json,markdown")
    assert r.returncode == 1, r.stderr
    assert "FAILED kev.max.any" in r.stdout
    assert "threat data: CISA KEV catalogue 2024.10.10 dated 2024-10-10T15:01:26Z" in r.stdout
    doc = json.loads((out / "findings.json").read_text())
    assert [t["kind"] for t in doc["threat"]] == ["kev", "epss"]
    assert [f["rule_id"] for f in doc["findings"] if "kev" in f] == ["PYSEC-2020-96"]
    assert "KEV since 2024-10-01" in (out / "summary.md").read_text()
    # `gate` re-reads the threat sources from findings.json: the kev gate still applies
    g = cli("gate", str(out / "findings.json"), "--policy", str(policy), "--today", ON_DATE)
    assert g.returncode == 1 and "FAILED kev.max.any" in g.stdout
