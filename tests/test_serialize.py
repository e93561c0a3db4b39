"""serialize.py: the saved verdict reads back as the typed data it was written from."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from posture_gate.errors import InputError
from posture_gate.policy.model import GateKind, GateResult, Verdict, VerdictStatus
from posture_gate.reporters.jsonfile import document
from posture_gate.serialize import gate_dict, read_run, read_verdict
from tests.reporters.conftest import scan_result, verdict_for


def _saved() -> tuple[dict[str, Any], Verdict]:
    run = scan_result()
    verdict = verdict_for(run)
    return json.loads(json.dumps(document(run, verdict))), verdict


def test_the_verdict_round_trips_with_its_enums() -> None:
    doc, verdict = _saved()
    back = read_verdict(doc, read_run(doc, "f.json"), "f.json")
    assert back.status is verdict.status and isinstance(back.status, VerdictStatus)
    assert [g.kind for g in back.gates] == [g.kind for g in verdict.gates]
    assert all(isinstance(g.kind, GateKind) for g in back.gates)
    assert back.gates == verdict.gates


def test_the_file_holds_the_plain_values() -> None:
    gate = GateResult(name="code.max.high", kind=GateKind.CATEGORY, severity="high", limit=0,
                      count=1, passed=False)
    assert json.dumps(gate_dict(gate)["kind"]) == '"category"'
    doc, _ = _saved()
    assert doc["verdict"]["status"] in ("pass", "fail", "error")


@pytest.mark.parametrize("kind", ["sideways", "", "CATEGORY"])
def test_an_unknown_gate_kind_is_named_not_a_crash(kind: str) -> None:
    doc, _ = _saved()
    doc["verdict"]["gates"][0]["kind"] = kind
    with pytest.raises(InputError, match=re.escape("f.json: malformed verdict: "
                                                   f"verdict.gates[0].kind is {kind!r}")):
        read_verdict(doc, read_run(doc, "f.json"), "f.json")


def test_a_plain_status_string_becomes_the_enum_and_a_wrong_one_is_refused() -> None:
    # a str where the enum is declared, on purpose: what a caller outside mypy passes
    v = Verdict(status="fail", gates=(), findings=(),  # type: ignore[arg-type]
                new_fingerprints=frozenset())
    assert v.status is VerdictStatus.FAIL and v.exit_code == 1
    assert f"{v.status}" == str(v.status) == "fail"
    assert v.status == "fail"  # type: ignore[comparison-overlap]  # a str enum
    with pytest.raises(ValueError, match="maybe"):
        Verdict(status="maybe", gates=(), findings=(),  # type: ignore[arg-type]
                new_fingerprints=frozenset())
    assert [s.exit_code for s in VerdictStatus] == [0, 1, 2]



def test_a_gate_keeps_its_unknown_count_and_a_bad_severity_is_named() -> None:
    doc, verdict = _saved()
    counted = [i for i, g in enumerate(verdict.gates) if g.unknown]
    assert counted, "the fixture's verdict has a gate that counted an unknown severity"
    i = counted[0]
    assert doc["verdict"]["gates"][i]["unknown"] == verdict.gates[i].unknown
    assert "unknown" not in doc["verdict"]["gates"][next(
        j for j, g in enumerate(verdict.gates) if not g.unknown)]
    doc["verdict"]["gates"][i]["unknown_as"] = "dire"
    with pytest.raises(InputError, match=re.escape(f"verdict.gates[{i}].unknown_as is 'dire'")):
        read_verdict(doc, read_run(doc, "f.json"), "f.json")


@pytest.mark.parametrize("key, block", [
    ("coverage", {"bogus": 1}), ("coverage", {"languages": {}}),
    ("coverage", {"languages": [], "iac": []}),
    ("effectiveness", {"bogus": 1}), ("posture", {"bogus": 1})])
def test_a_malformed_section_is_an_input_error_naming_it(key: str, block: Any) -> None:
    """A saved section missing what its writer always writes is not read as empty."""
    doc = json.loads(json.dumps(document(scan_result(), verdict_for(scan_result()))))
    doc[key] = block
    with pytest.raises(InputError, match=f"{key} is malformed"):
        read_run(doc, "findings.json")
