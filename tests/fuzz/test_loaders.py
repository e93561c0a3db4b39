"""Fuzz the loaders of saved files with mutations of a real findings.json (the reporters'
golden file) and of a baseline written from it.

Property: loading returns or raises InputError (one line, naming the file), never another
exception: the same code paths `gate`, `report` and `baseline write` take.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posture_gate import baseline as bl
from posture_gate.commands.common import load_saved as _load_saved
from posture_gate.errors import InputError
from posture_gate.reporters.jsonfile import read_run, read_verdict
from tests.fuzz.mutate import mutated_bytes
from tests.fuzz.settings import FUZZ

GOLDEN = Path(__file__).resolve().parent.parent / "reporters" / "golden" / "findings.json"
FINDINGS_SEED: Any = json.loads(GOLDEN.read_text(encoding="utf-8"))


def _baseline_seeds() -> list[Any]:
    run = read_run(FINDINGS_SEED, str(GOLDEN))
    now = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
    current = json.loads(bl.to_json(bl.build(run.findings, now=now)))
    # an older fingerprint algorithm: loading migrates every entry
    old = {**current, "fingerprint_algorithm": "posture-gate-fp/v0"}
    return [current, old]


BASELINE_SEEDS = _baseline_seeds()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-files")


def expect_input_error(exc: InputError, path: Path) -> None:
    assert "\n" not in exc.one_line()
    assert str(path) in exc.message


@FUZZ
@given(data=mutated_bytes(FINDINGS_SEED))
def test_fuzz_findings_json(data: bytes, scratch: Path) -> None:
    path = scratch / "findings.json"
    path.write_bytes(data)
    try:
        doc, run = _load_saved(path)
        read_verdict(doc, run, str(path))
    except InputError as exc:
        expect_input_error(exc, path)


@FUZZ
@given(data=st.sampled_from(BASELINE_SEEDS).flatmap(mutated_bytes))
def test_fuzz_baseline(data: bytes, scratch: Path) -> None:
    path = scratch / "baseline.json"
    path.write_bytes(data)
    try:
        bl.load(path)
    except InputError as exc:
        expect_input_error(exc, path)


def test_the_seeds_themselves_load(scratch: Path) -> None:
    path = scratch / "seed.json"
    path.write_text(json.dumps(FINDINGS_SEED))
    doc, run = _load_saved(path)
    assert run.findings and read_verdict(doc, run, str(path)).status == "error"
    for seed in BASELINE_SEEDS:
        path.write_text(json.dumps(seed))
        assert bl.load(path).entries
