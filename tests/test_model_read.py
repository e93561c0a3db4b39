"""Finding.from_dict: its fast path (every field of the expected type) gives exactly what
the field-by-field path gives, and leaves anything else to it (which names the problem)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posture_gate import model
from posture_gate.model import Finding

GOLDEN = json.loads((Path(__file__).parent / "reporters" / "golden" / "findings.json")
                    .read_text(encoding="utf-8"))["findings"]
KEYS = sorted({k for f in GOLDEN for k in f} | {"kev", "epss", "confidence", "unknown"})
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 10), st.floats(allow_nan=False),
    st.sampled_from(["", "code", "high", "HIGH", "low", "medium", "x", "inline", "2024-01-01"]),
    st.lists(st.sampled_from(["a", "CWE-79", "bandit"]), max_size=3),
    st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=3),
    st.sampled_from([{}, {"path": "a.py"}, {"path": "a.py", "start_line": 3},
                     {"path": "a.py", "start_line": "3"}, {"kind": "ignore"},
                     {"ecosystem": "PyPI", "name": "x", "version": None},
                     {"version": "3.1", "vector": "CVSS:3.1/AV:N", "score": 7.5},
                     {"version": "3.1", "vector": "v", "score": 11},
                     {"cve": "CVE-2024-1", "score": 0.5, "percentile": 0.9}]))


def full(d: Any) -> Any:
    try:
        return Finding.checked(d)
    except ValueError:
        return "refused"


@pytest.mark.parametrize("index", range(len(GOLDEN)))
def test_a_saved_finding_takes_the_fast_path(index: int) -> None:
    fast = model._well_typed(GOLDEN[index])
    assert fast is not None and fast == full(GOLDEN[index])


@settings(max_examples=500, deadline=None)
@given(st.integers(0, len(GOLDEN) - 1),
       st.lists(st.tuples(st.sampled_from(KEYS), st.one_of(st.just("<delete>"), VALUES)),
                max_size=4))
def test_the_fast_path_is_the_checked_path_or_steps_aside(index: int,
                                                          changes: list[Any]) -> None:
    d = dict(GOLDEN[index])
    for key, value in changes:
        if value == "<delete>":
            d.pop(key, None)
        else:
            d[key] = value
    expected = full(d)
    fast = model._well_typed(d)
    assert fast is None or fast == expected
    if expected == "refused":
        with pytest.raises(ValueError):
            Finding.from_dict(d)
    else:
        assert Finding.from_dict(d) == expected


GRID = [None, True, 0, 3, 1.5, "", "x", "code", "high", "low", "inline", [], ["a"], [1],
        ["a", None], {}, {"path": "a.py"}, {"path": 1}, {"kind": "ignore"}, {"kind": 2},
        {"ecosystem": "PyPI", "name": "x"}, {"version": "3.1", "vector": "v", "score": 11}]


def test_every_key_with_every_kind_of_value() -> None:
    # each single change of the grid, on each golden finding: the hypothesis test above
    # combines them, this one misses none
    for template in GOLDEN:
        for key in KEYS:
            for value in [*GRID, "<delete>"]:
                d = dict(template)
                if value == "<delete>":
                    d.pop(key, None)
                else:
                    d[key] = value
                fast = model._well_typed(d)
                assert fast is None or fast == full(d), (key, value)


@pytest.mark.parametrize("bad", [[], "x", None, {"fingerprint": 1}])
def test_from_dict_still_names_what_is_wrong(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"findings\[7\]"):
        Finding.from_dict(bad, "findings[7].")


def test_the_field_lists_name_every_field_once() -> None:
    # checked() and _well_typed() read a Finding through these lists: a field added to the
    # dataclass and left out of them would fail here, not silently read as its default
    listed = [*model._TEXT, *model._OPTIONAL_TEXT, *model._TEXT_LISTS, "confidence",
              *(k for k, _ in model._ENUM_KINDS), *(k for k, _ in model._PARTS)]
    assert sorted(listed) == sorted(f.name for f in dataclasses.fields(Finding))
