"""`export openvex`: ignores and VEX decisions out, valid against the OpenVEX schema, and
read back in by --vex with the same effect."""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path

import jsonschema

from posture_gate.policy import schema
from posture_gate.policy.evaluate import evaluate
from posture_gate.reporters.jsonfile import JsonReporter
from posture_gate.vex import apply
from tests.support.clirun import CliFixture

from ..reporters.conftest import scan_result
from .test_apply import CDX, FLASK, OPENVEX, PYYAML, REQUESTS_2, URLLIB3_A, WERKZEUG_A

SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "openvex" /
                     "openvex_json_schema.json").read_text())
TODAY = datetime.date(2024, 10, 12)


def _saved(tmp_path: Path) -> Path:
    p = tmp_path / "p.yml"
    p.write_text("version: 1\ngates:\n  dependency: {max: {any: 0}}\nignore:\n"
                 "  - {id: CVE-2019-11324, reason: 'only used for internal URLs', "
                 "owner: team-a, expires: '2024-12-01'}\n"
                 "  - {id: B602, reason: code finding, owner: team-a, expires: '2024-12-01'}\n")
    policy = schema.load_policy(str(p), today=TODAY)
    findings = apply.apply((PYYAML, FLASK, URLLIB3_A, REQUESTS_2, WERKZEUG_A),
                           apply.load([OPENVEX, CDX]))
    run = dataclasses.replace(scan_result(), findings=findings,
                              finished_at="2024-10-12T08:00:00Z")
    verdict = evaluate(policy, findings, [], today=TODAY, check_coverage=False)
    saved = tmp_path / "findings.json"
    saved.write_text(JsonReporter().render(run, verdict))
    return saved


def test_export_is_valid_openvex_with_every_decision(tmp_path: Path, cli: CliFixture) -> None:
    out = tmp_path / "out.openvex.json"
    r = cli("export", "openvex", str(_saved(tmp_path)), "-o", str(out),
            "--author", "Security <sec@example.com>")
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    v = jsonschema.Draft202012Validator(SCHEMA,
                                        format_checker=jsonschema.FormatChecker())
    assert [e.message for e in v.iter_errors(doc)] == []
    by = {s["vulnerability"]["name"]: s for s in doc["statements"]}
    assert set(by) == {"CVE-2020-1747", "CVE-2023-30861", "CVE-2023-25577", "PYSEC-2019-133"}
    yaml = by["CVE-2020-1747"]
    assert (yaml["status"], yaml["justification"], yaml["timestamp"]) == (
        "not_affected", "vulnerable_code_not_in_execute_path", "2024-10-09T14:30:00Z")
    assert yaml["products"] == [{"@id": "pkg:pypi/pyyaml@5.1"}]
    assert "PYSEC-2020-96" in yaml["vulnerability"]["aliases"]
    flask = by["CVE-2023-30861"]  # a CycloneDX justification is said in words
    assert flask["impact_statement"] == \
        "code_not_reachable; sessions are never permanent in this app"
    assert by["CVE-2023-25577"]["status"] == "fixed"
    ignored = by["PYSEC-2019-133"]
    assert (ignored["status"], ignored["impact_statement"]) == \
        ("not_affected", "only used for internal URLs")
    assert "owner team-a" in ignored["status_notes"]
    assert "ignore expires 2024-12-01" in ignored["status_notes"]
    assert doc["author"] == "Security <sec@example.com>"
    assert "CVE-2023-32681" not in json.dumps(doc)  # in triage: not a decision


def test_the_export_read_back_suppresses_the_same_findings(tmp_path: Path,
                                                          cli: CliFixture) -> None:
    out = tmp_path / "out.openvex.json"
    assert cli("export", "openvex", str(_saved(tmp_path)), "-o", str(out)).returncode == 0
    again = apply.apply((PYYAML, FLASK, URLLIB3_A, REQUESTS_2, WERKZEUG_A), apply.load([out]))
    assert {f.rule_id for f in again if f.suppression} == \
        {"PYSEC-2020-96", "PYSEC-2023-62", "PYSEC-2023-58", "PYSEC-2019-133"}


def test_nothing_to_export_is_exit_2(tmp_path: Path, cli: CliFixture) -> None:
    run = scan_result(fs=(PYYAML,))
    p = tmp_path / "p.yml"
    p.write_text("version: 1\n")
    verdict = evaluate(schema.load_policy(str(p), today=TODAY), run.findings, [],
                       today=TODAY, check_coverage=False)
    saved = tmp_path / "findings.json"
    saved.write_text(JsonReporter().render(run, verdict))
    out = tmp_path / "x.json"
    r = cli("export", "openvex", str(saved), "-o", str(out))
    assert r.returncode == 2 and "nothing to export" in r.stderr and not out.exists()
