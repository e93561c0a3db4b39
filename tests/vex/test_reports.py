"""VEX-suppressed findings in the reports: suppressed, with status, author, time, source."""

from __future__ import annotations

import dataclasses
import json

from posture_gate.reporters import REPORTERS
from posture_gate.reporters.base import output_files
from posture_gate.vex import apply

from ..reporters.conftest import scan_result, verdict_for
from .test_apply import CDX, FLASK, OPENVEX, PYYAML, URLLIB3_A


def _text(name: str) -> str:
    findings = apply.apply((PYYAML, FLASK, URLLIB3_A), apply.load([OPENVEX, CDX]))
    run = dataclasses.replace(scan_result(), findings=findings)
    return "".join(output_files(REPORTERS[name], run, verdict_for(run)).values())


def test_markdown_and_html_list_who_said_what_and_when() -> None:
    md = _text("markdown")
    assert "### Suppressed by VEX" in md
    assert ("- PYSEC-2020-96 pyyaml 5.1: not\\_affected (vulnerable\\_code\\_not\\_in\\_"
            "execute\\_path) by Web Platform Security &lt;security@example.com&gt;") in md
    assert "at 2024-10-09T14:30:00Z" in md and "PYSEC-2019-133" not in md.split(
        "### Suppressed by VEX")[1].split("###")[0]
    html = _text("html")
    assert "suppressed (vex)" in html and "code_not_reachable; sessions are never permanent" \
        in html and "App Team &lt;app-team@example.com&gt;" in html


def test_json_and_sarif_carry_the_statement() -> None:
    doc = json.loads(_text("json"))
    sup = {f["rule_id"]: f["suppression"] for f in doc["findings"] if f["suppression"]}
    assert sup["PYSEC-2020-96"]["vex"]["justification"] == \
        "vulnerable_code_not_in_execute_path"
    assert sup["PYSEC-2023-62"]["owner"] == "App Team <app-team@example.com>"
    assert "PYSEC-2019-133" not in sup
    sarif = json.loads(_text("sarif"))
    results = {r["ruleId"]: r for run in sarif["runs"] for r in run["results"]}
    assert results["PYSEC-2020-96"]["suppressions"][0]["kind"] == "external"
    assert "VEX not_affected" in results["PYSEC-2020-96"]["suppressions"][0]["justification"]


def test_console_lists_vex_decisions_and_the_unknown_count() -> None:
    text = _text("console")
    assert "  vex: PYSEC-2020-96 pyyaml 5.1: not_affected (vulnerable_code_not_in_execute_" \
           "path) by Web Platform Security <security@example.com> at 2024-10-09T14:30:00Z" \
           in text
    assert "PYSEC-2019-133" not in "".join(line for line in text.splitlines()
                                           if line.startswith("  vex:"))
    assert "(severity unknown for" not in text  # every package finding here is ranked
