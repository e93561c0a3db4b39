"""Loading a baseline: anything malformed is an InputError naming the file and the field."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest

from posture_gate import baseline as bl
from posture_gate.errors import InputError
from posture_gate.reporters.jsonfile import read_run

GOLDEN = Path(__file__).parent / "reporters" / "golden" / "findings.json"


def _baseline() -> Any:
    run = read_run(json.loads(GOLDEN.read_text(encoding="utf-8")), str(GOLDEN))
    now = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
    return json.loads(bl.to_json(bl.build(run.findings, now=now)))


def test_a_written_baseline_loads(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_baseline()))
    assert bl.load(path).entries


@pytest.mark.parametrize("change, field", [
    (lambda d: d["findings"][0].update(category="nope"), "findings[0].category is 'nope'"),
    (lambda d: d["findings"][0].update(fingerprint=None), "findings[0].fingerprint is null"),
    (lambda d: d["findings"][0].update(merged_fingerprints="ab"),
     "findings[0].merged_fingerprints is str"),
    (lambda d: d["findings"][1].update(path=["a"]), "findings[1].path is list"),
    (lambda d: d.update(findings=["x"]), "findings[0] is str"),
    (lambda d: d.update(findings={}), "findings is dict"),
    (lambda d: d.update(allowed=[]), "allowed is list"),
    (lambda d: d.update(allowed={"code/high": "1"}), "allowed.code/high is str"),
    (lambda d: d.update(allowed={"code/high": -1}), "allowed.code/high is -1"),
    (lambda d: d.update(increases_allowed="no"), "increases_allowed is str"),
    (lambda d: d.update(fingerprint_algorithm=2), "fingerprint_algorithm is int"),
])
def test_a_field_of_the_wrong_type_is_named(change: Any, field: str, tmp_path: Path) -> None:
    doc = _baseline()
    change(doc)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=re.escape(f"{path}: malformed baseline: {field}")):
        bl.load(path)


@pytest.mark.parametrize("data, reason", [
    (b"\xff\xfe{}", "not UTF-8"),
    (b'{"a": ' * 70 + b"1" + b"}" * 70, "nested deeper than 64 levels"),
    (b'{"allowed": {"code/high": Infinity}}', "Infinity is not JSON"),
])
def test_an_unreadable_baseline_is_an_input_error(data: bytes, reason: str,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(data)
    with pytest.raises(InputError, match=re.escape(reason)) as err:
        bl.load(path)
    assert str(path) in err.value.message
