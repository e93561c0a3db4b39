"""Loading a saved findings.json (`gate`, `report`, `baseline write`): anything malformed
is an InputError naming the file and the field, never another exception."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from posture_gate.commands.common import load_saved as _load_saved
from posture_gate.errors import InputError
from posture_gate.reporters.jsonfile import read_verdict
from tests.conftest import run_cli

GOLDEN = Path(__file__).parent / "golden" / "findings.json"


def _golden() -> Any:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def _load(path: Path) -> None:
    doc, run = _load_saved(path)
    read_verdict(doc, run, str(path))


def test_the_golden_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(_golden()))
    doc, run = _load_saved(path)
    assert len(run.findings) == len(_golden()["findings"])
    assert read_verdict(doc, run, str(path)).status == "error"


@pytest.mark.parametrize("where, value, field", [
    (("findings", 0, "location", "start_line"), "12", "findings[0].location.start_line is str"),
    (("findings", 0, "location", "start_line"), -3, "findings[0].location.start_line is -3"),
    (("findings", 0, "location"), "app.py", "findings[0].location is str"),
    (("findings", 1, "severity"), "urgent", "findings[1].severity is 'urgent', not a severity"),
    (("findings", 1, "category"), None, "findings[1].category is null"),
    (("findings", 0, "identifiers"), "CVE-1", "findings[0].identifiers is str"),
    (("findings", 0, "identifiers"), [1], "findings[0].identifiers[0] is int"),
    (("findings", 0, "found_by"), {"a": 1}, "findings[0].found_by is dict"),
    (("findings", 0, "title"), 7, "findings[0].title is int"),
    (("findings", 0), [], "findings[0] is list, expected an object"),
    (("findings",), {}, "findings is dict"),
    (("scanners", 0, "status"), "done", "scanners[0].status is 'done'"),
    (("scanners", 0, "required"), "yes", "scanners[0].required is str"),
    (("scanners", 0, "raw_count"), 1.5, "scanners[0].raw_count is float"),
    (("scanners", 0, "properties"), [], "scanners[0].properties is list"),
    (("scanners", 0, "warnings"), [None], "scanners[0].warnings[0] is null"),
    (("tool",), "posture-gate", "tool is str"),
    (("policy", "digest"), 1, "policy.digest is int"),
    (("root",), None, "root is null"),
    (("repo_config",), [1], "repo_config[0] is int"),
])
def test_a_field_of_the_wrong_type_is_named(where: tuple[Any, ...], value: object, field: str,
                                            tmp_path: Path) -> None:
    doc = _golden()
    target = doc
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=re.escape(f"{path}: malformed findings file: {field}")):
        _load(path)


@pytest.mark.parametrize("key, value, field", [
    ("status", "maybe", "verdict.status is 'maybe'"),
    ("gates", [{"name": "x"}], "verdict.gates[0].limit is missing"),
    ("gates", [1], "verdict.gates[0] is int"),
    ("errors", "boom", "verdict.errors is str"),
    ("ages", {"f": "3"}, "verdict.ages.f is str"),
    ("new", [3], "verdict.new[0] is int"),
])
def test_a_malformed_verdict_is_named(key: str, value: object, field: str,
                                      tmp_path: Path) -> None:
    doc = _golden()
    doc["verdict"][key] = value
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=re.escape(f"{path}: malformed verdict: {field}")):
        _load(path)


@pytest.mark.parametrize("data, reason", [
    (b'{"schema": "\xff"}', "not UTF-8"),
    (b"[" * 100000, "nested deeper than 64 levels"),
    (b'{"schema": NaN}', "NaN is not JSON"),
    (b'{"a": ' + b"1" * 5000 + b"}", "not valid JSON"),
    (b'{"a": "\\ud800"}', "lone surrogate"),
])
def test_an_unreadable_document_is_an_input_error(data: bytes, reason: str,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "findings.json"
    path.write_bytes(data)
    with pytest.raises(InputError, match=re.escape(reason)) as err:
        _load(path)
    assert str(path) in err.value.message


@pytest.mark.parametrize("command", [["gate", "--policy", "default"], ["report", "-f", "console"],
                                     ["baseline", "write", "-o", "b.json"]])
def test_the_commands_exit_2_with_one_line(command: list[str], tmp_path: Path) -> None:
    doc = _golden()
    doc["findings"][0]["location"]["start_line"] = "x"
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(doc))
    args = [command[0], *command[1:2], str(path), *command[2:]] if command[0] == "baseline" \
        else [command[0], str(path), *command[1:]]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "findings[0].location.start_line is str" in proc.stderr
