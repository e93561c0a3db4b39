"""--format cyclonedx: a CycloneDX 1.6 SBOM valid against the official schema, with every
audited package, the package vulnerabilities, their VEX analysis, KEV and EPSS."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from posture_gate.model import RunStatus, ScannerRun
from posture_gate.reporters import REPORTERS
from posture_gate.threat import feeds
from posture_gate.vex import apply

from .conftest import scan_result, verdict_for

CDX = Path(__file__).parents[1] / "data" / "schemas" / "cyclonedx-1.6"
BASE = "http://cyclonedx.org/schema/"


@functools.cache
def _validator() -> jsonschema.Draft7Validator:
    def load(name: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads((CDX / name).read_text())
        return doc

    registry: Registry = Registry().with_resources(
        (BASE + name, Resource.opaque(load(name)))
        for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"))
    return jsonschema.Draft7Validator(load("bom-1.6.SNAPSHOT.schema.json"), registry=registry,
                                      format_checker=jsonschema.FormatChecker())


def bom_errors(doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in _validator().iter_errors(doc)]


def _bom(run: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(REPORTERS["cyclonedx"].render(run, verdict_for(run)))
    return doc


def test_the_schema_rejects_what_it_should() -> None:
    assert bom_errors({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}) == []
    assert bom_errors({"bomFormat": "CycloneDX", "specVersion": "1.6", "bogus": 1})
    assert bom_errors({"bomFormat": "CycloneDX", "specVersion": "1.6", "vulnerabilities": [
        {"id": "X", "ratings": [{"severity": "dreadful"}]}]})


def test_synthetic_run_is_a_valid_bom_of_its_packages() -> None:
    run = scan_result()
    doc = _bom(run)
    assert bom_errors(doc) == []
    assert (doc["bomFormat"], doc["specVersion"]) == ("CycloneDX", "1.6")
    pkgs = {f.package.purl or f.package.name for f in run.findings if f.package}
    assert {c["purl"] for c in doc["components"]} >= {p for p in pkgs if p.startswith("pkg:")}
    ids = {v["id"] for v in doc["vulnerabilities"]}
    assert "PYSEC-2023-221" in ids and not any(i.startswith("B") for i in ids)  # no code
    refs = {c["bom-ref"] for c in doc["components"]}
    assert all(a["ref"] in refs for v in doc["vulnerabilities"] for a in v["affects"])
    assert _bom(run) == doc  # deterministic, serial number included


def test_every_audited_package_is_a_component() -> None:
    base = scan_result()
    audited = ScannerRun(name="pip-audit", scanner="pip-audit", status=RunStatus.OK,
                         properties={"packages": [
                             {"ecosystem": "PyPI", "name": "gunicorn", "version": "22.0.0",
                              "purl": "pkg:pypi/gunicorn@22.0.0"},
                             {"ecosystem": "PyPI", "name": "flask", "version": "0.12.2",
                              "purl": "pkg:pypi/flask@0.12.2"}]})
    run = dataclasses.replace(base, scanners=(audited, *base.scanners[1:]))
    doc = _bom(run)
    assert bom_errors(doc) == []
    purls = [c["purl"] for c in doc["components"]]
    assert "pkg:pypi/gunicorn@22.0.0" in purls  # audited, not vulnerable
    assert len(purls) == len(set(purls))


def test_vex_analysis_kev_and_epss_are_carried() -> None:
    from tests.threat.test_feeds import EPSS, KEV
    from tests.vex.test_apply import CDX as CDX_VEX
    from tests.vex.test_apply import FLASK, OPENVEX, PYYAML, URLLIB3_A

    findings = apply.apply((PYYAML, FLASK, URLLIB3_A), apply.load([OPENVEX, CDX_VEX]))
    findings = feeds.enrich(findings, feeds.load(kev=KEV, epss=EPSS,
                                                 today=datetime.date(2024, 10, 12)))
    run = dataclasses.replace(scan_result(), findings=findings)
    doc = _bom(run)
    assert bom_errors(doc) == []
    by = {v["id"]: v for v in doc["vulnerabilities"]}
    yaml = by["PYSEC-2020-96"]
    assert yaml["analysis"]["state"] == "not_affected"
    assert yaml["analysis"]["justification"] == "code_not_reachable"
    assert {p["name"] for p in yaml["properties"]} >= {"posture-gate:kev:dateAdded",
                                                       "posture-gate:epss:score"}
    assert by["PYSEC-2023-62"]["analysis"]["justification"] == "code_not_reachable"
    assert "analysis" not in by["PYSEC-2019-133"]
    assert by["PYSEC-2019-133"]["affects"][0]["ref"] == "pkg:pypi/urllib3@1.23"


@pytest.mark.parametrize("text", ["\x1b[31m<script>\u202e", "a\"b\\c\n\u0000"])
def test_hostile_text_stays_valid(text: str) -> None:
    from tests.vex.test_apply import PYYAML

    f = PYYAML.with_(message=text, title=text, references=(f"https://x/{text}",))
    run = dataclasses.replace(scan_result(), findings=(f,))
    out = REPORTERS["cyclonedx"].render(run, verdict_for(run))
    assert "\x1b" not in out and "\u202e" not in out
    assert bom_errors(json.loads(out)) == []
