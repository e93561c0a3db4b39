"""SARIF for GitHub code scanning: structure, severities, locations, splitting."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from posture_gate import jsonout
from posture_gate.model import Category, Finding, Location, ScanResult, Severity
from posture_gate.policy.evaluate import Verdict
from posture_gate.reporters import sarif
from posture_gate.reporters.sarif import SarifReporter, artifact_uri, image_placeholder

from .conftest import IMAGE, fp, scan_result, verdict_for
from .schemas import multitool_available, multitool_errors, sarif_errors


def _doc(run: ScanResult, verdict: Verdict) -> dict:  # type: ignore[type-arg]
    doc: dict = json.loads(SarifReporter().render(run, verdict))  # type: ignore[type-arg]
    return doc


def test_one_run_per_scanner_with_distinct_ids(synthetic: tuple[ScanResult, Verdict]) -> None:
    doc = _doc(*synthetic)
    assert doc["version"] == "2.1.0" and doc["$schema"]
    names = [r["tool"]["driver"]["name"] for r in doc["runs"]]
    assert names == ["posture-gate/pip-audit", "posture-gate/bandit", "posture-gate/semgrep",
                     "posture-gate/trivy"]
    ids = [r["automationDetails"]["id"] for r in doc["runs"]]
    assert ids == ["posture-gate/pip-audit/", "posture-gate/bandit/", "posture-gate/semgrep/",
                   "posture-gate/trivy/"]
    assert sarif_errors(doc) == []


def test_scanner_without_findings_still_has_a_run() -> None:
    run = scan_result(fs=())
    doc = _doc(run, verdict_for(run, gates=()))
    assert len(doc["runs"]) == 4
    assert all(r["results"] == [] and r["tool"]["driver"]["rules"] == [] for r in doc["runs"])
    assert sarif_errors(doc) == []


def test_failed_scanner_is_an_invocation_error(synthetic: tuple[ScanResult, Verdict]) -> None:
    semgrep = _doc(*synthetic)["runs"][2]
    inv = semgrep["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert inv["toolExecutionNotifications"][0]["level"] == "error"


def test_rule_carries_highest_severity_and_tags(synthetic: tuple[ScanResult, Verdict]) -> None:
    bandit = _doc(*synthetic)["runs"][1]
    rules = {r["id"]: r for r in bandit["tool"]["driver"]["rules"]}
    b602 = rules["B602"]  # one high and one medium finding
    assert b602["properties"]["security-severity"] == "8.0"
    assert b602["defaultConfiguration"]["level"] == "error"
    assert b602["properties"]["tags"][:2] == ["security", "code"]
    assert "CWE-78" in b602["properties"]["tags"]
    for r in rules.values():
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"]
        assert r["help"]["text"] and r["help"]["markdown"]
        assert len(r["shortDescription"]["text"]) <= 1024
    levels = {(res["ruleId"], res["level"]) for res in bandit["results"]}
    assert ("B602", "error") in levels and ("B602", "warning") in levels
    for res in bandit["results"]:
        assert bandit["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]


@pytest.mark.parametrize(("severity", "level", "score"), [
    (Severity.CRITICAL, "error", "9.5"), (Severity.HIGH, "error", "8.0"),
    (Severity.MEDIUM, "warning", "5.5"), (Severity.LOW, "note", "2.0"),
    (Severity.INFO, "note", None), (Severity.UNKNOWN, "note", None)])
def test_severity_mapping(severity: Severity, level: str, score: str | None) -> None:
    f = Finding(fingerprint=fp(1), scanner="bandit", scanner_version="1", rule_id="X1",
                category=Category.CODE, severity=severity, title="t", message="m",
                location=Location(path="a.py", start_line=3, end_line=3))
    run = scan_result(fs=(f,))
    doc = _doc(run, verdict_for(run, gates=()))
    bandit = doc["runs"][1]
    assert bandit["results"][0]["level"] == level
    assert bandit["tool"]["driver"]["rules"][0]["properties"].get("security-severity") == score


def test_locations_and_fingerprints(synthetic: tuple[ScanResult, Verdict]) -> None:
    doc = _doc(*synthetic)
    by_fp = {res["partialFingerprints"]["postureGate/v1"]: res
             for run in doc["runs"] for res in run["results"]}
    assert len(by_fp) == len(synthetic[0].findings)
    for res in by_fp.values():
        # The stable fingerprint also drives GitHub's alert tracking (module docstring).
        assert res["partialFingerprints"]["primaryLocationLineHash"] == \
            res["partialFingerprints"]["postureGate/v1"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not loc["artifactLocation"]["uri"].startswith(("/", "file:"))
        assert all(v >= 1 for v in loc["region"].values())
    # Dependency without a line and whole-file misconfig: line 1 of the manifest/Dockerfile.
    assert by_fp[fp(7)]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    dockerfile = by_fp[fp(4)]["locations"][0]["physicalLocation"]
    assert dockerfile["artifactLocation"]["uri"] == "Dockerfile"
    assert dockerfile["region"]["startLine"] == 1
    # OS package in an image: a stable placeholder without tag or digest.
    os_loc = by_fp[fp(8)]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert os_loc == "container-image/registry.example.com_team_app"
    # A multi-line region keeps its end line.
    assert by_fp[fp(1)]["locations"][0]["physicalLocation"]["region"]["endLine"] == 23
    # Suppressed findings are kept, marked as suppressed.
    assert by_fp[fp(3)]["suppressions"][0]["kind"] == "external"
    assert by_fp[fp(10)]["suppressions"][0]["kind"] == "inSource"
    assert by_fp[fp(1)]["baselineState"] == "new"
    assert by_fp[fp(4)]["baselineState"] == "unchanged"


def test_uri_and_placeholder_helpers() -> None:
    assert artifact_uri("app/my file#1.py") == "app/my%20file%231.py"
    assert artifact_uri("/abs/./x.py") == "abs/./x.py"
    assert artifact_uri("./a\\b.py") == "a/b.py"
    assert artifact_uri("a\nb%c") == "a%0Ab%25c"
    assert artifact_uri("") == "unknown"
    assert image_placeholder(IMAGE) == "container-image/registry.example.com_team_app"
    assert image_placeholder("localhost:5000/app:3") == "container-image/localhost_5000_app"
    assert image_placeholder("app.tar") == "container-image/app.tar"
    assert image_placeholder(None) == "container-image/unknown"


def _many(n: int) -> tuple[Finding, ...]:
    base = Finding(fingerprint="", scanner="semgrep", scanner_version="1.185.0",
                   rule_id="r", category=Category.CODE, severity=Severity.MEDIUM,
                   title="generated", message="A generated finding for the split test.",
                   identifiers=("CWE-79",))
    sevs = Severity.ordered()
    return tuple(replace(base, fingerprint=f"{i:064x}", rule_id=f"rule-{i % 50}",
                         severity=sevs[i % len(sevs)],
                         location=Location(path=f"src/mod{i % 400}.py", start_line=i % 900 + 1,
                                           end_line=i % 900 + 1))
                 for i in range(n))


def _check_split(files: dict[str, str], total: int, results_per_run: int,
                 runs_per_file: int) -> list[dict]:  # type: ignore[type-arg]
    docs = [json.loads(t) for t in files.values()]
    seen: set[str] = set()
    ids: list[str] = []
    for doc in docs:
        assert len(doc["runs"]) <= runs_per_file <= 20
        assert len(gzip.compress(json.dumps(doc).encode())) < 10 * 1024 * 1024
        for r in doc["runs"]:
            assert len(r["results"]) <= results_per_run <= 25_000
            ids.append(r["automationDetails"]["id"])
            seen |= {x["partialFingerprints"]["postureGate/v1"] for x in r["results"]}
            if len(r["results"]) > 0 and r["tool"]["driver"]["name"] == "posture-gate/semgrep":
                assert r["properties"]["postureGateSplit"]["resultsTotal"] == total
                notes = r["invocations"][0]["toolExecutionNotifications"]
                assert any("split" in n["message"]["text"] for n in notes)
    assert len(ids) == len(set(ids)), "automationDetails ids must be distinct"
    assert len(seen) == total
    return docs


def test_30000_findings_split_under_github_limits() -> None:
    run = scan_result(fs=_many(30_000))
    verdict = verdict_for(run, gates=())
    files = SarifReporter().files(run, verdict)
    docs = _check_split(files, 30_000, 5_000, 15)
    semgrep_ids = [r["automationDetails"]["id"] for d in docs for r in d["runs"]
                   if r["tool"]["driver"]["name"] == "posture-gate/semgrep"]
    assert semgrep_ids == ["posture-gate/semgrep/"] + [
        f"posture-gate/semgrep/part-{n}/" for n in range(2, 7)]
    # Several files when the per-file limits bite (smaller limits, same code path).
    small = SarifReporter(results_per_run=2_000, runs_per_file=4).files(run, verdict)
    assert list(small)[:3] == ["posture-gate.sarif", "posture-gate-2.sarif",
                               "posture-gate-3.sarif"]
    docs += _check_split(small, 30_000, 2_000, 4)
    for d in docs[1:]:
        assert all("postureGateFiles" in r["properties"] for r in d["runs"])
    # Every file and run validates (both schemas). jsonschema needs ~0.7 ms per result,
    # so each run is checked with its envelope, all its rules and its first 100 results;
    # every result is built by the same code the golden and hostile tests validate fully.
    for doc in docs:
        assert sarif_errors({**doc, "runs": [{**r, "results": r["results"][:100]}
                                             for r in doc["runs"]]}) == []


def test_gzip_budget_splits_files() -> None:
    run = scan_result(fs=_many(3_000))
    files = SarifReporter(results_per_run=500, gzip_budget=20_000).files(run, verdict_for(
        run, gates=()))
    assert len(files) > 1
    for text in files.values():
        doc = json.loads(text)
        assert sarif_errors(doc) == []


def test_runs_are_sized_in_order_with_at_most_two_texts_waiting() -> None:
    made: list[int] = []

    def runs(n: int) -> Iterator[dict[str, Any]]:
        for i in range(n):
            made.append(i)
            yield {"i": i, "text": "x" * (i * 997) + "".join(map(str, range(i * 50)))}

    sized = sarif._sized(runs(7))
    assert [r["i"] for r, _ in sized] == list(range(7))
    assert [n for _, n in sized] == [len(gzip.compress(jsonout.dumps_bytes(r), 6, mtime=0))
                                     for r, _ in sized]
    assert sarif._sized(runs(1)) == [({"i": 0, "text": ""}, 0)]  # nothing to split
    assert sarif._sized(runs(0)) == []


@pytest.mark.real_tools
@pytest.mark.skipif(not multitool_available(),
                    reason="sarif-multitool not installed (scripts/test-deps/sarif-multitool.sh)")
def test_sarif_multitool_validate(synthetic: tuple[ScanResult, Verdict], tmp_path: Path) -> None:
    paths = []
    for name, text in SarifReporter().files(*synthetic).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(tmp_path / name)
    run = scan_result(fs=_many(300))
    split = SarifReporter(results_per_run=100, runs_per_file=2).files(
        run, verdict_for(run, gates=()))
    for name, text in split.items():
        (tmp_path / f"split-{name}").write_text(text, encoding="utf-8")
        paths.append(tmp_path / f"split-{name}")
    assert multitool_errors(paths, tmp_path) == []
