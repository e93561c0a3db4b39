"""The KEV gate, the EPSS floors, and the trust rules for the threat files."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from posture_gate.errors import PolicyError
from posture_gate.model import Finding
from posture_gate.policy import schema, trust
from posture_gate.policy.evaluate import evaluate
from posture_gate.threat import feeds
from posture_gate.threat.data import ThreatSource

from .test_feeds import EPSS, KEV, TODAY, dep


def _policy(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    p = tmp_path / "p.yml"
    p.write_text("version: 1\n" + text)
    return schema.load_policy(str(p), today=TODAY)


def _findings() -> tuple[tuple[Finding, ...], tuple[ThreatSource, ...]]:
    data = feeds.load(kev=KEV, epss=EPSS, today=TODAY)
    found = [dep("PYSEC-2020-96", "CVE-2020-1747"),      # KEV-listed (fixture), epss 0.042
             dep("PYSEC-2018-66", "CVE-2018-1000656"),   # epss 0.0035
             dep("PYSEC-2099-1")]                        # no CVE: no EPSS score
    return feeds.enrich(found, data), data.sources


def test_kev_gate_fails_on_the_kev_listed_finding(tmp_path: Path) -> None:
    findings, sources = _findings()
    pol = _policy(tmp_path, "gates:\n  kev: {max: {any: 0}}\n")
    v = evaluate(pol, findings, [], today=TODAY, check_coverage=False, threat=sources)
    assert v.status == "fail"
    (gate,) = v.gates
    assert (gate.name, gate.kind, gate.count) == ("kev.max.any", "kev", 1)
    assert gate.fingerprints == (findings[0].fingerprint,)
    # without the KEV-listed finding it passes
    v = evaluate(pol, findings[1:], [], today=TODAY, check_coverage=False, threat=sources)
    assert v.status == "pass" and v.gates[0].count == 0


def test_kev_gate_without_a_kev_file_cannot_be_evaluated(tmp_path: Path) -> None:
    findings, sources = _findings()
    pol = _policy(tmp_path, "gates:\n  kev: {max: {any: 0}}\n")
    epss_only = tuple(s for s in sources if s.kind == "epss")
    v = evaluate(pol, findings, [], today=TODAY, check_coverage=False, threat=epss_only)
    assert v.status == "error" and v.exit_code == 2
    assert "no KEV catalogue was given" in v.errors[0]


def test_min_epss_and_min_percentile_filter_like_min_cvss(tmp_path: Path) -> None:
    findings, sources = _findings()
    pol = _policy(tmp_path, "gates:\n  dependency: {max: {any: 0}, min_epss: 0.01}\n")
    v = evaluate(pol, findings, [], today=TODAY, check_coverage=False, threat=sources)
    # 0.042 counts, 0.0035 does not, the unscored one counts (fail closed)
    assert v.gates[0].count == 2
    assert set(v.gates[0].fingerprints) == {findings[0].fingerprint, findings[2].fingerprint}
    pol = _policy(tmp_path, "gates:\n  dependency: {max: {any: 0}, min_percentile: 0.7}\n")
    v = evaluate(pol, findings, [], today=TODAY, check_coverage=False, threat=sources)
    assert v.gates[0].count == 3  # 0.923 and 0.721 both reach the 70th percentile
    pol = _policy(tmp_path, "gates:\n  dependency: {max: {any: 0}, min_percentile: 0.8}\n")
    v = evaluate(pol, findings, [], today=TODAY, check_coverage=False, threat=sources)
    assert v.gates[0].count == 2


def test_an_epss_floor_without_an_epss_file_warns_and_counts_everything(
        tmp_path: Path) -> None:
    findings = [dep("PYSEC-2018-66", "CVE-2018-1000656")]
    pol = _policy(tmp_path, "gates:\n  dependency: {max: {any: 0}, min_epss: 0.5}\n")
    v = evaluate(pol, findings, [], today=TODAY, check_coverage=False)
    assert v.gates[0].count == 1
    assert any("no EPSS file was given" in w for w in v.warnings)


@pytest.mark.parametrize("text", [
    "gates:\n  dependency: {max: {any: 0}, min_epss: 1.5}\n",
    "gates:\n  kev: {max: {anything: 0}}\n",
    "threat: {kev: k.json, feed: x}\n",
    "threat: {max_age_days: -1}\n",
])
def test_schema_rejects_bad_threat_keys(tmp_path: Path, text: str) -> None:
    with pytest.raises(PolicyError):
        _policy(tmp_path, text)


def test_threat_policy_keys_parse(tmp_path: Path) -> None:
    pol = _policy(tmp_path, "threat: {kev: data/kev.json, epss: data/epss.csv.gz, "
                            "max_age_days: 3}\n")
    assert (pol.threat.kev, pol.threat.epss, pol.threat.max_age_days) == \
        ("data/kev.json", "data/epss.csv.gz", 3)
    assert _policy(tmp_path, "{}\n".replace("{}", "at_stake: [x]")).threat.max_age_days == 7


TRUSTED = """\
version: 1
threat: {kev: /ci/kev.json, epss: /ci/epss.csv.gz, max_age_days: 7}
gates:
  kev: {max: {any: 0}}
  dependency: {max: {high: 0}, min_epss: 0.1}
"""


def _resolve(tmp_path: Path, local: str) -> trust.Resolved:
    root = tmp_path / "repo"
    root.mkdir(exist_ok=True)
    (tmp_path / "trusted.yml").write_text(TRUSTED)
    (root / "posture-gate.yml").write_text("version: 1\n" + local)
    return trust.resolve(str(tmp_path / "trusted.yml"), None, root,
                         today=datetime.date(2024, 10, 12))


@pytest.mark.parametrize(("local", "key"), [
    ("threat: {kev: planted/kev.json}\n", "threat.kev: only the trusted policy"),
    ("threat: {epss: planted/epss.csv}\n", "threat.epss: only the trusted policy"),
    ("threat: {max_age_days: 30}\n", "threat.max_age_days: 30 loosens"),
    ("gates:\n  dependency: {max: {high: 0}, min_epss: 0.5}\n", "min_epss: 0.5 loosens"),
    ("gates:\n  kev: {max: {any: 1}}\n", "gates.kev.max: lets more"),
])
def test_a_repository_local_policy_cannot_reach_or_loosen(tmp_path: Path, local: str,
                                                         key: str) -> None:
    with pytest.raises(PolicyError, match=key):
        _resolve(tmp_path, local)


def test_a_repository_local_policy_may_tighten(tmp_path: Path) -> None:
    r = _resolve(tmp_path, "threat: {max_age_days: 2}\ngates:\n"
                           "  dependency: {max: {high: 0}, min_epss: 0.01}\n")
    assert r.policy.threat.max_age_days == 2 and r.policy.threat.kev == "/ci/kev.json"
    dep_gate = next(s for s in r.policy.gates if s.name == "dependency")
    assert dep_gate.gate.min_epss == 0.01
    assert any("min_epss" in t for t in r.trust.tightened)
