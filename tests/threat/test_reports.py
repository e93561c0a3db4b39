"""Every report shows the threat files (version, date, age) and the findings' KEV/EPSS."""

from __future__ import annotations

import dataclasses
import datetime
import json

import jsonschema

from posture_gate.model import ScanResult
from posture_gate.reporters import REPORTERS
from posture_gate.reporters.base import output_files
from posture_gate.reporters.jsonfile import read_run
from posture_gate.threat import feeds

from ..reporters.conftest import scan_result, verdict_for
from .test_feeds import EPSS, KEV

TODAY = datetime.date(2024, 10, 12)


def _run() -> ScanResult:
    data = feeds.load(kev=KEV, epss=EPSS, today=TODAY)
    base = scan_result()
    flask = next(f for f in base.findings if f.rule_id == "PYSEC-2018-66")
    pyyaml = dataclasses.replace(flask, fingerprint="e" * 64, rule_id="PYSEC-2020-96",
                                 title="pyyaml 5.1: PYSEC-2020-96",
                                 identifiers=("PYSEC-2020-96", "CVE-2020-1747"))
    enriched = feeds.enrich((*base.findings, pyyaml), data)
    return dataclasses.replace(base, findings=enriched, threat=data.sources,
                               started_at="2024-10-12T08:00:00Z")


def _text(name: str, run: ScanResult) -> str:
    return "".join(output_files(REPORTERS[name], run, verdict_for(run)).values())


def test_console_markdown_and_html_show_the_files_and_their_age() -> None:
    run = _run()
    for name in ("console", "markdown", "html"):
        text = _text(name, run)
        assert "CISA KEV catalogue 2024.10.10 dated 2024-10-10T15:01:26Z, 2 days before " \
               "this scan (2 entries" in text, name
        assert "FIRST EPSS scores v2023.03.01 dated 2024-10-10T00:00:00Z, 2 days before" \
            in text, name
    assert "KEV since 2024-10-01 (due 2024-10-22); EPSS 0.042 (p92)" in _text("html", run)


def test_json_carries_the_sources_and_reads_back_valid() -> None:
    run = _run()
    doc = json.loads(_text("json", run))
    assert [t["kind"] for t in doc["threat"]] == ["kev", "epss"]
    listed = [f for f in doc["findings"] if "kev" in f]
    assert listed and listed[0]["kev"]["cve"] == "CVE-2020-1747"
    from importlib import resources
    schema = json.loads((resources.files("posture_gate") / "schemas" /
                         "finding-v1.schema.json").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(doc)) == []
    back = read_run(doc, "findings.json")
    assert back.threat == run.threat
    assert [f.kev for f in back.findings] == [f.kev for f in run.findings]


def test_sarif_results_carry_kev_and_epss_properties() -> None:
    run = _run()
    doc = json.loads(_text("sarif", run))
    props = [r["properties"] for r in in_results(doc)]
    kev = [p for p in props if "kev" in p]
    assert kev and kev[0]["kev"]["dateAdded"] == "2024-10-01"
    assert any("epss" in p for p in props)
    assert all(r["properties"].get("threatData") for r in doc["runs"])


def in_results(doc: dict) -> list[dict]:  # type: ignore[type-arg]
    return [r for run in doc["runs"] for r in run["results"]]




def test_reports_count_the_dependency_findings_left_unknown() -> None:
    run = _run()
    unknown = sum(1 for f in run.findings if f.category.value in ("dependency", "os")
                  and f.severity.value == "unknown")
    total = sum(1 for f in run.findings if f.category.value in ("dependency", "os"))
    assert unknown and unknown < total
    line = f"everity unknown for {unknown} of {total} dependency/OS package finding(s)"
    for name in ("markdown", "html"):
        assert line in _text(name, run), name
    ranked = dataclasses.replace(run, findings=tuple(
        f for f in run.findings if f.severity.value != "unknown"))
    assert "everity unknown for" not in _text("markdown", ranked)


def test_junit_carries_the_threat_files_as_suite_properties() -> None:
    text = _text("junit", _run())
    assert '<property name="threat.kev" value="CISA KEV catalogue 2024.10.10 dated ' \
           '2024-10-10T15:01:26Z, 2 days before this scan' in text
    assert '<property name="threat.epss" value="FIRST EPSS scores v2023.03.01' in text


def test_gitlab_reports_carry_the_files_and_each_findings_exploitation() -> None:
    from ..reporters.schemas import gitlab_errors

    run = _run()
    files = output_files(REPORTERS["gitlab-dependency-scanning"], run, verdict_for(run))
    dep = json.loads(files["gl-dependency-scanning-report.json"])
    assert gitlab_errors("gl-dependency-scanning-report.json", dep) == []
    infos = [m["value"] for m in dep["scan"]["messages"] if m["level"] == "info"]
    assert any(v.startswith("threat data: CISA KEV catalogue 2024.10.10 dated ") for v in infos)
    notes = [v["details"]["threat"]["value"] for v in dep["vulnerabilities"]
             if "threat" in v["details"]]
    assert "KEV since 2024-10-01 (due 2024-10-22); EPSS 0.042 (p92)" in notes
