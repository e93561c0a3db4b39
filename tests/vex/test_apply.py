"""VEX in: which findings OpenVEX and CycloneDX VEX statements suppress, and which not."""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from posture_gate.errors import InputError
from posture_gate.model import Category, Finding, Location, Package, Severity, Suppression
from posture_gate.policy import schema
from posture_gate.policy.evaluate import evaluate
from posture_gate.vex import apply

DATA = Path(__file__).parents[1] / "data" / "vex"
OPENVEX = DATA / "openvex.json"
CDX = DATA / "cyclonedx-vex.json"


def dep(name: str, version: str, rule: str, *aliases: str,
        category: Category = Category.DEPENDENCY) -> Finding:
    return Finding(
        fingerprint=hashlib.sha256(f"{name}{version}{rule}".encode()).hexdigest(),
        scanner="pip-audit", scanner_version="2", found_by=("pip-audit",), rule_id=rule,
        category=category, severity=Severity.HIGH, title=f"{name} {version}: {rule}",
        message="m", location=Location(path="requirements.txt", start_line=1),
        package=Package(ecosystem="PyPI", name=name, version=version,
                        purl=f"pkg:pypi/{name}@{version}"),
        identifiers=(rule, *aliases))


# the examples' findings the fixtures speak about (ids as pip-audit reports them)
PYYAML = dep("pyyaml", "5.1", "PYSEC-2020-96", "CVE-2020-1747", "GHSA-6757-jp84-gxfx")
PYYAML_OTHER = dep("pyyaml", "5.1", "PYSEC-2021-142", "CVE-2020-14343",
                   "GHSA-8q59-q68h-6hv4")
REQUESTS = dep("requests", "2.19.1", "PYSEC-2018-28", "CVE-2018-18074")
REQUESTS_2 = dep("requests", "2.19.1", "PYSEC-2023-74", "CVE-2023-32681")
URLLIB3_A = dep("urllib3", "1.23", "PYSEC-2019-133", "CVE-2019-11324")
URLLIB3_B = dep("urllib3", "1.23", "PYSEC-2019-132", "CVE-2019-11236")
URLLIB3_C = dep("urllib3", "1.23", "PYSEC-2021-108", "CVE-2021-33503")
JINJA2 = dep("jinja2", "2.10", "PYSEC-2021-66", "CVE-2020-28493")
FLASK = dep("flask", "0.12.2", "PYSEC-2023-62", "CVE-2023-30861", "GHSA-m2qf-hxjv-5gpq")
WERKZEUG_A = dep("werkzeug", "0.15.3", "PYSEC-2023-58", "CVE-2023-25577")
WERKZEUG_B = dep("werkzeug", "0.15.3", "PYSEC-2023-57", "CVE-2023-23934")
ALL = (PYYAML, PYYAML_OTHER, REQUESTS, REQUESTS_2, URLLIB3_A, URLLIB3_B, URLLIB3_C, JINJA2,
       FLASK, WERKZEUG_A, WERKZEUG_B)


def suppressed(statement_files: list[Path], findings: tuple[Finding, ...] = ALL
               ) -> dict[str, Suppression]:
    out = apply.apply(findings, apply.load(statement_files))
    return {f.rule_id: f.suppression for f in out if f.suppression is not None}


def test_openvex_suppresses_exactly_not_affected_and_fixed_for_the_version() -> None:
    got = suppressed([OPENVEX])
    assert set(got) == {"PYSEC-2020-96", "PYSEC-2018-28"}
    yaml = got["PYSEC-2020-96"]
    assert yaml.kind == "vex" and yaml.owner == "Web Platform Security <security@example.com>"
    assert yaml.reason == "VEX not_affected (vulnerable_code_not_in_execute_path)"
    assert yaml.vex is not None
    assert (yaml.vex.status, yaml.vex.vulnerability, yaml.vex.product, yaml.vex.at) == (
        "not_affected", "CVE-2020-1747", "pkg:pypi/pyyaml@5.1", "2024-10-09T14:30:00Z")
    assert yaml.vex.source == f"{OPENVEX}#statements[0]"
    fixed = got["PYSEC-2018-28"]
    assert fixed.vex is not None and fixed.vex.status == "fixed"
    assert fixed.vex.at == "2024-10-10T09:00:00Z"  # the document's time


def test_cyclonedx_vex_suppresses_exactly_its_not_affected_and_resolved() -> None:
    got = suppressed([CDX])
    assert set(got) == {"PYSEC-2023-62", "PYSEC-2023-58"}
    flask = got["PYSEC-2023-62"].vex
    assert flask is not None
    assert (flask.status, flask.justification, flask.impact, flask.author, flask.at) == (
        "not_affected", "code_not_reachable", "sessions are never permanent in this app",
        "App Team <app-team@example.com>", "2024-10-09T08:00:00Z")
    resolved = got["PYSEC-2023-58"].vex
    assert resolved is not None and resolved.status == "fixed"
    assert resolved.product == "pkg:pypi/werkzeug@0.15.3"


def test_another_version_affected_and_investigating_change_nothing() -> None:
    got = suppressed([OPENVEX, CDX])
    for rule in ("PYSEC-2021-142",  # the pyyaml statement is for 5.4
                 "PYSEC-2019-133", "PYSEC-2019-132",  # affected / under_investigation
                 "PYSEC-2021-66",  # a purl with no version applies to no version
                 "PYSEC-2023-57",  # werkzeug 2.2.2, not 0.15.3
                 "PYSEC-2021-108", "PYSEC-2023-74"):  # exploitable / in_triage
        assert rule not in got
    # the same statements on another installed version suppress nothing
    newer = tuple(f.with_(package=Package(ecosystem="PyPI", name=f.package.name,
                                          version="99.0", purl=None)) for f in ALL
                  if f.package is not None)
    assert suppressed([OPENVEX, CDX], newer) == {}


def test_code_findings_are_never_suppressed_by_vex() -> None:
    code = PYYAML.with_(category=Category.CODE)
    assert suppressed([OPENVEX], (code,)) == {}


def test_the_latest_statement_wins(tmp_path: Path) -> None:
    doc = json.loads(OPENVEX.read_text())
    later: dict[str, Any] = copy.deepcopy(doc)
    later["timestamp"] = "2024-10-11T00:00:00Z"
    later["statements"] = [{"vulnerability": {"name": "CVE-2020-1747"},
                            "products": [{"@id": "pkg:pypi/pyyaml@5.1"}],
                            "status": "affected", "action_statement": "upgrade"}]
    f = tmp_path / "later.json"
    f.write_text(json.dumps(later))
    assert "PYSEC-2020-96" not in suppressed([OPENVEX, f])
    assert "PYSEC-2020-96" not in suppressed([f, OPENVEX])  # time decides, not order


def test_vex_suppressions_survive_evaluation(tmp_path: Path) -> None:
    p = tmp_path / "p.yml"
    p.write_text("version: 1\ngates:\n  dependency: {max: {any: 0}}\n")
    policy = schema.load_policy(str(p), today=datetime.date(2024, 10, 12))
    findings = apply.apply((PYYAML, FLASK), apply.load([OPENVEX]))
    v = evaluate(policy, findings, [], today=datetime.date(2024, 10, 12),
                 check_coverage=False)
    assert v.gates[0].count == 1  # flask counts, pyyaml is suppressed
    kept = {f.rule_id: f.suppression for f in v.findings}
    assert kept["PYSEC-2020-96"] is not None and kept["PYSEC-2020-96"].kind == "vex"
    again = Finding.from_dict(json.loads(json.dumps(v.findings[0].to_dict())))
    assert again == v.findings[0]


@pytest.mark.parametrize(("doc", "message"), [
    ({"@context": "https://openvex.dev/ns/v0.2.0", "author": "a",
      "timestamp": "2024-10-10T00:00:00Z", "statements": [
          {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:pypi/a@1"}],
           "status": "not_affected"}]}, "not_affected needs a justification"),
    ({"@context": "https://openvex.dev/ns/v0.2.0", "author": "a",
      "timestamp": "2024-10-10T00:00:00Z", "statements": [
          {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:pypi/a@1"}],
           "status": "wontfix"}]}, r"statements\[0\]\.status is 'wontfix'"),
    ({"@context": "https://openvex.dev/ns/v0.2.0", "author": "a",
      "timestamp": "2024-10-10T00:00:00Z", "statements": [
          {"vulnerability": {"name": "CVE-1"}, "status": "fixed"}]}, "names no product"),
    ({"@context": "https://openvex.dev/ns/v0.2.0", "author": "a", "statements": []},
     "timestamp is missing"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.6", "vulnerabilities": [
        {"id": "CVE-1", "analysis": {"state": "not_affected"},
         "affects": [{"ref": "pkg:pypi/a@1"}]}]}, "not_affected needs a justification"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.6", "vulnerabilities": [
        {"id": "CVE-1", "analysis": {"state": "maybe"}, "affects": [{"ref": "x"}]}]},
     r"vulnerabilities\[0\]\.analysis\.state is 'maybe'"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []},
     "not a VEX document"),
    ({"spdxVersion": "SPDX-2.3"}, "neither OpenVEX"),
])
def test_malformed_vex_is_exit_2_naming_file_and_key(tmp_path: Path, doc: object,
                                                    message: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=message) as exc:
        apply.load([f])
    assert exc.value.one_line().startswith(str(f))


def test_a_vex_suppressed_finding_fits_the_finding_schema() -> None:
    import jsonschema

    from posture_gate.schemas import load_schema

    (f,) = apply.apply((PYYAML,), apply.load([OPENVEX]))
    finding_schema = {**load_schema("finding-v1"), "$ref": "#/$defs/finding"}
    finding_schema.pop("required", None)
    finding_schema.pop("properties", None)
    errors = list(jsonschema.Draft202012Validator(finding_schema).iter_errors(f.to_dict()))
    assert errors == []


def test_os_packages_match_through_purl_qualifiers(tmp_path: Path) -> None:
    doc = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/v",
           "author": "ops", "timestamp": "2024-10-10T00:00:00Z", "version": 1,
           "statements": [{
               "vulnerability": {"name": "CVE-2023-5678"},
               "products": [{"@id": "pkg:oci/webapp@sha256%3Aabc",
                             "subcomponents": [{"@id": "pkg:deb/debian/openssl@3.0.11-1"}]}],
               "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]}
    f = tmp_path / "os.json"
    f.write_text(json.dumps(doc))
    openssl = Finding(
        fingerprint="f" * 64, scanner="trivy", scanner_version="0.76", found_by=("trivy",),
        rule_id="CVE-2023-5678", category=Category.OS, severity=Severity.LOW, title="t",
        message="m", identifiers=("CVE-2023-5678",),
        package=Package(ecosystem="debian", name="openssl", version="3.0.11-1",
                        purl="pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12"))
    newer = openssl.with_(fingerprint="e" * 64, package=Package(
        ecosystem="debian", name="openssl", version="3.0.13-1",
        purl="pkg:deb/debian/openssl@3.0.13-1?arch=amd64&distro=debian-12"))
    out = apply.apply((openssl, newer), apply.load([f]))
    assert out[0].suppression is not None and out[0].suppression.kind == "vex"
    assert out[1].suppression is None


def test_a_repository_local_policy_cannot_name_vex_files(tmp_path: Path) -> None:
    from posture_gate.errors import PolicyError
    from posture_gate.policy import trust

    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "trusted.yml").write_text("version: 1\nvex: [/ci/vex.json]\n")
    (root / "posture-gate.yml").write_text("version: 1\nvex: [/ci/vex.json, planted.json]\n")
    with pytest.raises(PolicyError, match="vex: only the trusted policy"):
        trust.resolve(str(tmp_path / "trusted.yml"), None, root,
                      today=datetime.date(2024, 10, 12))
