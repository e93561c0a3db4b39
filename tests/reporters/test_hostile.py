"""Hostile text (paths, messages, rule ids, reasons) renders escaped in every format and
every output still parses and validates."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from posture_gate.model import RunStatus, ScannerRun, ScanResult
from posture_gate.policy.evaluate import Verdict
from posture_gate.reporters import REPORTERS
from posture_gate.reporters.base import output_files
from posture_gate.reporters.gitlab import identifiers
from posture_gate.reporters.junit import xml_text
from posture_gate.reporters.markdown import md

from .conftest import findings, scan_result, verdict_for
from .schemas import (
    GITLAB_TYPES,
    gitlab_errors,
    multitool_available,
    multitool_errors,
    sarif_errors,
)

EVIL = ("x\n| col | `tick` <script>alert(1)</script> ]]> [link](http://e.invalid) *b* _i_ "
        "\x1b[31mRED\x1b[0m \x1b]8;;http://e.invalid\x07osc\x1b]8;;\x07 nul\x00 bel\x07 "
        "vt\x0b ff\x0c esc\x1b del\x7f c1\x85 \ufffe end")
EVIL_PATH = "app/we ird\n|`<b>`]]>\x1b[1m\x00\x07%20.py"
FORMATS = ["console", "json", "sarif", "junit", "markdown", "gitlab-sast",
           "gitlab-dependency-scanning", "gitlab-container-scanning",
           "gitlab-secret-detection"]
_BAD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def hostile() -> tuple[ScanResult, Verdict]:
    fs = []
    for f in findings():
        loc = f.location and replace(f.location, path=EVIL_PATH)
        fs.append(f.with_(title=f"{f.title} {EVIL}", message=EVIL, location=loc,
                          rule_id=f"{f.rule_id}|<x>`", references=(*f.references,
                                                                    "javascript:alert(1)")))
    base = scan_result()
    scanners = (*base.scanners,
                ScannerRun(name="evil", scanner="semgrep", status=RunStatus.FAILED,
                           reason=EVIL), ScannerRun(name="evil", scanner="semgrep",
                                                    status=RunStatus.FAILED,
                                                    required=False, reason=EVIL))
    run = replace(base, findings=tuple(fs), scanners=scanners, policy=EVIL_PATH)
    verdict = verdict_for(run)
    verdict = replace(verdict, warnings=(*verdict.warnings, EVIL),
                      gates=tuple(replace(g, name=g.name + EVIL) for g in verdict.gates))
    return run, verdict


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, str]]:
    run, verdict = hostile()
    return {name: output_files(REPORTERS[name], run, verdict) for name in FORMATS}


def test_no_raw_control_characters(rendered: dict[str, dict[str, str]]) -> None:
    for name, files in rendered.items():
        if name == "json":
            continue  # findings.json keeps the data (json.dumps escapes it as \u001b)
        for filename, text in files.items():
            assert not _BAD_CONTROL.search(text), (name, filename)
            assert "\x1b" not in text and "RED" in text


def test_json_formats_parse_and_validate(rendered: dict[str, dict[str, str]]) -> None:
    for files in rendered.values():
        for filename, text in files.items():
            if filename.endswith((".json", ".sarif")):
                doc = json.loads(text)
                if filename in GITLAB_TYPES:
                    assert gitlab_errors(filename, doc) == [], filename
                if filename.endswith(".sarif"):
                    assert sarif_errors(doc) == []
                    for r in doc["runs"]:
                        for res in r["results"]:
                            uri = res["locations"][0]["physicalLocation"][
                                "artifactLocation"]["uri"]
                            assert re.fullmatch(r"[A-Za-z0-9/._~!$&'()*+,;=:@%-]+", uri), uri


def test_gitlab_urls_are_http_only(rendered: dict[str, dict[str, str]]) -> None:
    for filename in GITLAB_TYPES:
        doc = json.loads(rendered[next(n for n in FORMATS if REPORTERS[n].filename ==
                                       filename)][filename])
        for v in doc["vulnerabilities"]:
            for link in v.get("links", []):
                assert link["url"].startswith(("https://", "http://"))
            for ident in v["identifiers"]:
                assert ident["name"] and ident["value"] and ident["type"]


def test_junit_parses_and_escapes(rendered: dict[str, dict[str, str]]) -> None:
    text = rendered["junit"]["junit.xml"]
    root = ET.fromstring(text.encode("utf-8"))  # noqa: S314 - our own output
    assert "<script>" not in text and "]]>" not in text
    cases = root.findall(".//testcase")
    names = [c.get("name") for c in cases]
    assert len(names) == len(set(names)), "test case names must be unique"
    assert any("<script>" in (c.get("name") or "") for c in cases)  # escaped, round-trips
    for c in cases:
        assert "\n" not in (c.get("name") or "")
        assert re.fullmatch(r"[a-z0-9_.]+", c.get("classname") or "")
    errors = [c for c in cases if c.find("error") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert {c.get("name") for c in errors} == {"scanner semgrep", "scanner evil"}
    assert {c.get("name") for c in skipped} == {"scanner trivy-image-2", "scanner evil #2"}


def test_markdown_escapes(rendered: dict[str, dict[str, str]]) -> None:
    text = rendered["markdown"]["summary.md"]
    assert "<script>" not in text and "<b>" not in text
    assert "](" not in text.replace("\\](", "")
    for line in text.splitlines():
        if line.startswith("|"):
            # Every unescaped pipe is a cell border: count matches the table's header.
            cells = len(re.findall(r"(?<!\\)\|", line))
            assert cells in (7, 8, 9), line


def test_helpers() -> None:
    assert md("a|b\nc<d>`e`") == "a\\|b c&lt;d&gt;\\`e\\`"
    assert xml_text("a\x00b\x1b[1mc\ufffe") == "a bc"
    f = findings()[5].with_(identifiers=("", "CVE-2023-46136", "CWE-20", "OWASP-A03:2021"))
    ids = identifiers(f)
    assert ids[0]["name"] == "PYSEC-2023-221"
    assert [i["type"] for i in ids] == ["pysec", "cve", "cwe", "owasp"]
    assert ids[2]["value"] == "20"


@pytest.mark.skipif(not multitool_available(),
                    reason="sarif-multitool not installed (scripts/test-deps/sarif-multitool.sh)")
def test_hostile_sarif_passes_multitool(rendered: dict[str, dict[str, str]],
                                        tmp_path: Path) -> None:
    path = tmp_path / "hostile.sarif"
    path.write_text(rendered["sarif"]["posture-gate.sarif"], encoding="utf-8")
    assert multitool_errors([path], tmp_path) == []
