"""OSV range matching, severity from CVSS vectors, and the loopback OSV server."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from posture_gate import advisories as osv
from posture_gate.errors import UsageError
from posture_gate.model import Severity
from posture_gate.osv_server import OsvServer
from posture_gate.scanners.base import severity_from_score
from tests.conftest import ADVISORIES

RECORD = {
    "id": "PYSEC-TEST-1",
    "aliases": ["CVE-2099-0001"],
    "affected": [{
        "package": {"name": "Demo_Pkg", "ecosystem": "PyPI"},
        "ranges": [{"type": "ECOSYSTEM", "events": [
            {"introduced": "0"}, {"fixed": "1.2"}, {"introduced": "2.0"},
            {"last_affected": "2.1"}]}],
        "versions": ["3.0-odd"],
    }],
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
}


@pytest.mark.parametrize("version, hit", [
    ("0.1", True), ("1.1.9", True), ("1.2", False), ("1.9", False), ("2.0", True),
    ("2.1", True), ("2.1.1", False), ("3.0-odd", True), ("not-a-version", False),
])
def test_range_semantics(version: str, hit: bool) -> None:
    assert osv.affects(RECORD, "PyPI", "demo-pkg", version) is hit


def test_cvss_vector_scored_and_banded() -> None:
    score = osv.cvss_of(RECORD)
    assert score is not None and score.score == 9.8 and score.version == "3.1"
    assert severity_from_score(score.score) is Severity.CRITICAL
    assert severity_from_score(9.5, cvss_v2=True) is Severity.HIGH  # v2 has no critical band
    assert severity_from_score(0.0) is Severity.INFO
    assert severity_from_score(3.9) is Severity.LOW and severity_from_score(4.0) is \
        Severity.MEDIUM and severity_from_score(7.0) is Severity.HIGH


def test_bad_vector_is_no_score() -> None:
    assert osv.score_vector("CVSS_V3", "CVSS:3.1/garbage") is None


def test_example_records_load_with_dates_as_text() -> None:
    db = osv.load_dir(ADVISORIES)
    assert len(db.records) == 43  # every record of the eight pinned packages
    json.dumps(list(db.records.values()))  # YAML timestamps became RFC 3339 strings
    assert db.newest is not None and db.newest.endswith("Z")
    ids = sorted(r["id"] for r in db.query("PyPI", "PyYAML", "5.1"))
    assert ids == ["PYSEC-2020-176", "PYSEC-2020-96", "PYSEC-2021-142"]


def test_missing_dir_and_broken_record(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        osv.load_dir(tmp_path / "nope")
    (tmp_path / "bad.yaml").write_text("id: [unclosed\n")
    with pytest.raises(UsageError, match=r"bad\.yaml:\d+: not a readable OSV record"):
        osv.load_dir(tmp_path)


def test_withdrawn_records_are_not_served(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({**RECORD, "withdrawn": "2024-01-01T00:00:00Z"}))
    assert osv.load_dir(tmp_path).records == {}


def test_server_answers_query_batch_and_get() -> None:
    db = osv.load_dir(ADVISORIES)
    with OsvServer(db) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        body = json.dumps({"package": {"name": "pyyaml", "ecosystem": "PyPI"},
                           "version": "5.1"}).encode()
        req = urllib.request.Request(server.query_url, data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            vulns = json.loads(resp.read())["vulns"]
        assert len(vulns) == 3
        batch = json.dumps({"queries": [json.loads(body), {"package": {"name": "gunicorn"},
                                                            "version": "22.0.0"}]}).encode()
        req = urllib.request.Request(server.base_url + "/v1/querybatch", data=batch,
                                     method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            results = json.loads(resp.read())["results"]
        assert [len(r["vulns"]) for r in results] == [3, 0]
        with urllib.request.urlopen(server.base_url + "/v1/vulns/PYSEC-2020-96",
                                    timeout=5) as resp:
            assert json.loads(resp.read())["id"] == "PYSEC-2020-96"
