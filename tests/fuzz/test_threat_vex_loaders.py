"""Fuzz the KEV, EPSS and VEX readers with mutations of their real-format fixtures.

Property: loading returns or raises InputError (one line, naming the file), never another
exception; what it returns is well-formed."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posture_gate.errors import InputError
from posture_gate.threat import feeds
from posture_gate.vex import apply
from tests.fuzz.mutate import mutated_bytes
from tests.fuzz.settings import FUZZ

DATA = Path(__file__).resolve().parents[1] / "data"
KEV: Any = json.loads((DATA / "threat" / "known_exploited_vulnerabilities.json").read_text())
OPENVEX: Any = json.loads((DATA / "vex" / "openvex.json").read_text())
CDX: Any = json.loads((DATA / "vex" / "cyclonedx-vex.json").read_text())
EPSS = (DATA / "threat" / "epss_scores-2024-10-10.csv").read_text()
TODAY = datetime.date(2024, 10, 12)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-threat")


def _one_line_naming(exc: InputError, path: Path) -> None:
    assert "\n" not in exc.one_line() and str(path) in exc.message


@FUZZ
@given(data=mutated_bytes(KEV))
def test_kev_reader(scratch: Path, data: bytes) -> None:
    path = scratch / "kev.json"
    path.write_bytes(data)
    try:
        out = feeds.load(kev=path, today=TODAY, max_age_days=100000)
    except InputError as exc:
        _one_line_naming(exc, path)
        return
    assert out.kev and all(k.cve.startswith("CVE-") for k in out.kev.values())


@st.composite
def _epss_text(draw: st.DrawFn) -> str:
    lines = EPSS.splitlines()
    n = draw(st.integers(0, len(lines) - 1))
    junk = draw(st.sampled_from(["", "x", "CVE-1-1,0.1,0.2", "CVE-2020-1747,1e400,0.5",
                                 "CVE-2020-1747,-0.0,nan", ",,", "\x00", "a,b,c,d",
                                 "#model_version:,score_date:", "cve,epss", "\ufeff" + lines[n],
                                 lines[n] * 2, lines[n].upper(), lines[n][:5]]))
    lines[n] = junk
    return "\n".join(lines[:draw(st.integers(0, len(lines)))])


@FUZZ
@given(text=_epss_text())
def test_epss_reader(scratch: Path, text: str) -> None:
    path = scratch / "epss.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        out = feeds.load(epss=path, today=TODAY, max_age_days=100000)
    except InputError as exc:
        _one_line_naming(exc, path)
        return
    assert out.epss and all(0 <= s.score <= 1 and 0 <= s.percentile <= 1
                            for s in out.epss.values())


@FUZZ
@given(data=st.one_of(mutated_bytes(OPENVEX), mutated_bytes(CDX)))
def test_vex_reader(scratch: Path, data: bytes) -> None:
    path = scratch / "vex.json"
    path.write_bytes(data)
    try:
        statements = apply.load([path])
    except InputError as exc:
        _one_line_naming(exc, path)
        return
    assert all(s.products and s.vulns for s in statements)
