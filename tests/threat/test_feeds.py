"""KEV and EPSS files: strict parsing, age, provenance, matching through aliases."""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
from pathlib import Path

import pytest

from posture_gate.errors import InputError
from posture_gate.model import Category, Finding, Severity
from posture_gate.threat import feeds

DATA = Path(__file__).parents[1] / "data" / "threat"
KEV = DATA / "known_exploited_vulnerabilities.json"
EPSS = DATA / "epss_scores-2024-10-10.csv"
EPSS_GZ = DATA / "epss_scores-2024-10-10.csv.gz"
TODAY = datetime.date(2024, 10, 12)


def dep(rule: str, *ids: str) -> Finding:
    return Finding(fingerprint=hashlib.sha256(rule.encode()).hexdigest(), scanner="pip-audit",
                   scanner_version="2", rule_id=rule, category=Category.DEPENDENCY,
                   severity=Severity.UNKNOWN, title="t", message="m", identifiers=(rule, *ids),
                   found_by=("pip-audit",))


def test_real_format_files_load_with_provenance() -> None:
    data = feeds.load(kev=KEV, epss=EPSS_GZ, today=TODAY)
    assert data.kev is not None and data.epss is not None
    log4j = data.kev["CVE-2021-44228"]
    assert (log4j.date_added, log4j.due_date, log4j.ransomware) == \
        ("2021-12-10", "2021-12-24", True)
    assert data.kev["CVE-2020-1747"].ransomware is False
    assert data.epss["CVE-2021-44228"].percentile == pytest.approx(0.99992)
    kev, epss = data.sources
    assert (kev.kind, kev.version, kev.date, kev.entries) == \
        ("kev", "2024.10.10", "2024-10-10T15:01:26Z", 2)
    assert kev.sha256 == hashlib.sha256(KEV.read_bytes()).hexdigest()
    assert (epss.kind, epss.version, epss.date, epss.entries) == \
        ("epss", "v2023.03.01", "2024-10-10T00:00:00Z", 22)
    # the digest is of what was parsed: the inflated CSV, equal to the plain file's
    assert epss.sha256 == hashlib.sha256(EPSS.read_bytes()).hexdigest()
    plain = feeds.load(epss=EPSS, today=TODAY)
    assert plain.epss == data.epss and plain.kev is None


def test_a_file_older_than_max_age_is_an_error() -> None:
    late = datetime.date(2024, 10, 20)
    with pytest.raises(InputError, match=r"KEV catalogue dated 2024-10-10 is 10 days old, "
                                         r"older than max_age_days \(7\)"):
        feeds.load(kev=KEV, today=late)
    with pytest.raises(InputError, match=r"EPSS scores file dated 2024-10-10 is 10 days old"):
        feeds.load(epss=EPSS, today=late)
    assert feeds.load(kev=KEV, epss=EPSS, today=late, max_age_days=10).sources
    with pytest.raises(InputError, match="after today"):
        feeds.load(kev=KEV, today=datetime.date(2024, 10, 1))


def _kev_doc() -> dict:  # type: ignore[type-arg]
    doc: dict = json.loads(KEV.read_text())  # type: ignore[type-arg]
    return doc


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["vulnerabilities"][1].pop("dueDate"), r"vulnerabilities\[1\]\.dueDate"),
    (lambda d: d["vulnerabilities"][0].update(dateAdded="12/10/2021"),
     r"vulnerabilities\[0\]\.dateAdded is '12/10/2021', not a YYYY-MM-DD date"),
    (lambda d: d["vulnerabilities"][0].update(cveID="GHSA-6757-jp84-gxfx"), "not a CVE id"),
    (lambda d: d["vulnerabilities"][0].update(knownRansomwareCampaignUse="yes"),
     "not Known or Unknown"),
    (lambda d: d.update(count=3), "a truncated file"),
    (lambda d: d.pop("catalogVersion"), "catalogVersion"),
    (lambda d: d.update(dateReleased="yesterday"), "dateReleased"),
    (lambda d: d["vulnerabilities"].append(dict(d["vulnerabilities"][0])) or
     d.update(count=3), "listed twice"),
    (lambda d: d.update(vulnerabilities=[], count=0), "lists no vulnerabilities"),
])
def test_malformed_kev_names_file_and_key(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = _kev_doc()
    change(doc)
    bad = tmp_path / "kev.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=message) as exc:
        feeds.load(kev=bad, today=TODAY)
    assert str(bad) in exc.value.one_line()


@pytest.mark.parametrize(("lines", "message"), [
    ({0: "model_version:v2023.03.01,score_date:2024-10-10T00:00:00+0000"}, r":1: expected"),
    ({0: "#model_version:v2023.03.01"}, r":1: the comment line lacks"),
    ({0: "#model_version:v1,score_date:10/10/2024"}, r":1: score_date"),
    ({1: "cve,score,percentile"}, r":2: expected the header"),
    ({3: "CVE-2019-1010083,0.0027"}, r":4: expected cve,epss,percentile, got 2"),
    ({3: "CVE-2019-1010083,nan,0.5"}, r":4: epss 'nan' is not a number in \[0, 1\]"),
    ({3: "CVE-2019-1010083,0.1,1.5"}, r":4: percentile '1.5'"),
    ({3: "PYSEC-2019-179,0.1,0.5"}, r":4: 'PYSEC-2019-179' is not a CVE id"),
    ({3: "CVE-2018-1000656,0.1,0.5"}, r":4: CVE-2018-1000656 scored twice"),
])
def test_malformed_epss_names_file_and_line(tmp_path: Path, lines: dict[int, str],
                                            message: str) -> None:
    text = EPSS.read_text().splitlines()
    for n, line in lines.items():
        text[n] = line
    bad = tmp_path / "epss.csv"
    bad.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match=message) as exc:
        feeds.load(epss=bad, today=TODAY)
    assert exc.value.one_line().startswith(str(bad))


def test_broken_or_oversized_gzip_is_an_error(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(EPSS_GZ.read_bytes()[:-12])
    with pytest.raises(InputError, match="not a valid gzip file"):
        feeds.load(epss=cut, today=TODAY)
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"0" * 5000))
    monkeypatch.setattr(feeds, "MAX_EPSS", 4096)
    with pytest.raises(InputError, match="inflates to more than"):
        feeds.load(epss=bomb, today=TODAY)
    with pytest.raises(InputError, match="not found"):
        feeds.load(kev=tmp_path / "nope.json", today=TODAY)


def test_findings_are_matched_through_every_alias() -> None:
    data = feeds.load(kev=KEV, epss=EPSS, today=TODAY)
    pyyaml = dep("PYSEC-2020-96", "CVE-2020-1747", "GHSA-6757-jp84-gxfx")
    flask = dep("PYSEC-2018-66", "CVE-2018-1000656", "GHSA-562c-5r94-xh97")
    ghsa_only = dep("GHSA-6757-jp84-gxfx")  # its CVE known only from the advisory record
    lower = dep("pysec-x", "cve-2020-1747")
    none = dep("PYSEC-2099-1")
    out = feeds.enrich([pyyaml, flask, ghsa_only, lower, none], data,
                       lambda i: ["CVE-2020-1747"] if i == "GHSA-6757-jp84-gxfx" else [])
    assert out[0].kev is not None and out[0].kev.cve == "CVE-2020-1747"
    assert out[0].epss is not None and out[0].epss.score == pytest.approx(0.04181)
    assert out[1].kev is None and out[1].epss is not None and out[1].epss.cve == \
        "CVE-2018-1000656"
    assert out[2].kev == out[0].kev
    assert out[3].kev == out[0].kev
    assert out[4] is none
    # without the advisory records a GHSA-only finding has no CVE to match
    assert feeds.enrich([ghsa_only], data)[0].kev is None


def test_two_cve_aliases_take_the_earliest_kev_and_the_highest_epss() -> None:
    data = feeds.load(kev=KEV, epss=EPSS, today=TODAY)
    both = feeds.enrich([dep("X-1", "CVE-2020-1747", "CVE-2021-44228")], data)[0]
    assert both.kev is not None and both.kev.cve == "CVE-2021-44228"  # added 2021
    assert both.epss is not None and both.epss.cve == "CVE-2021-44228"


def test_threat_fields_round_trip_through_the_finding_json() -> None:
    data = feeds.load(kev=KEV, epss=EPSS, today=TODAY)
    f = feeds.enrich([dep("PYSEC-2020-96", "CVE-2020-1747")], data)[0]
    d = f.to_dict()
    assert d["kev"] == {"cve": "CVE-2020-1747", "date_added": "2024-10-01",
                        "due_date": "2024-10-22", "ransomware": False}
    assert Finding.from_dict(json.loads(json.dumps(d))) == f
    assert "kev" not in dep("A").to_dict()  # runs without threat data keep their shape
