"""jsonout writes exactly the bytes of json.dumps(indent=2, ensure_ascii=False) (and of
textutil.json_escape_invisible after it), whichever encoder did the work."""

from __future__ import annotations

import importlib.util
import json
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posture_gate import jsonout
from posture_gate.textutil import json_escape_invisible


def stdlib(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)


HOSTILE = [
    "plain", "", "a\x00b\x1f\x7f\x85\x9f", "\b\f\n\r\t\"\\/", "検証 Überprüfung", "…",
    "\u2028\u2029\u200b\u202e\u2066\ufeff\u00ad\u061c", "\ufdd0\ufffe\U0001fffe\U0010ffff",
    "\U000e0001\U000e0041\U000110bd\U0001d173", "\x1b[31mred\x1b[0m", "release-5 pre-7x",
    "x: 0.00001", "😀 \U0001f600",
]
NUMBERS = [0, -1, 2**63 - 1, -(2**63), 2**64, 10**30, 0.0, -0.0, 7.5, 0.1, 1e-4, 9.99e-5,
           1e-5, 1.5e-7, 2.5e-9, 1e-10, 5e-324, 1e15, 1e16, 1.5e300, 123456789.123, True,
           False, None]


@pytest.mark.parametrize("value", [*HOSTILE, *NUMBERS, [], {}, {"a": []}, [{}], (1, "t"),
                                   {"nested": [{"k": [1.0, {"x": None}]}]}])
def test_same_bytes_as_the_stdlib(value: Any) -> None:
    doc = {"k": [value], "v": value}
    assert jsonout.dumps(doc) == stdlib(doc)
    assert jsonout.dumps_bytes(doc) == stdlib(doc).encode("utf-8")
    assert jsonout.dumps_escaped(doc) == json_escape_invisible(stdlib(doc))


def test_refused_by_orjson_still_written_as_json_writes_it() -> None:
    for doc in ({1: "int key"}, {"s": "\ud800 lone"}, [2**70]):
        assert jsonout.dumps(doc) == stdlib(doc)
        assert jsonout.dumps_escaped(doc) == json_escape_invisible(stdlib(doc))
    with pytest.raises(TypeError):
        jsonout.dumps({"x": object()})
    with pytest.raises(TypeError):
        jsonout.dumps_bytes({"x": {1, 2}})


def test_every_escaped_character_is_found_by_its_lead_byte() -> None:
    leads = {lead[0] for lead in jsonout._LEADS}
    for code in range(0x7F, 0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        if json_escape_invisible(ch) != ch:
            assert ch.encode("utf-8")[0] in leads, hex(code)


@settings(max_examples=300, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children), max_leaves=20))
def test_any_document(doc: Any) -> None:
    assert jsonout.dumps(doc) == stdlib(doc)
    assert jsonout.dumps_escaped(doc) == json_escape_invisible(stdlib(doc))


def test_without_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonout, "orjson", None)
    doc = {"k": HOSTILE, "n": NUMBERS}
    assert jsonout.dumps(doc) == stdlib(doc)
    assert jsonout.dumps_escaped(doc) == json_escape_invisible(stdlib(doc))


def test_orjson_is_installed() -> None:
    """A dependency (pyproject): without it the reports are right but slow."""
    assert importlib.util.find_spec("orjson") is not None, sys.path


def test_tiny_float_check_finds_numbers_not_uuids() -> None:
    """Misses would change bytes (the tests above); false alarms only cost time."""
    for data in (b"1.5e-7", b"[\n  1e-5,\n", b"[\n  2.5e-9\n]", b'{"x": 1e-6}', b"0.00001",
                 b'"rule-1", "pre-7", 3e-8\n'):
        assert jsonout._tiny_float(data)
    for data in (b'"id": "0f3e-5b2a-4c1d"', b'"pre-7", "1e-10"', b"1.5e-17,"):
        assert not jsonout._tiny_float(data)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.floats(allow_nan=False, allow_infinity=False) | st.text(),
                    lambda children: st.lists(children), max_leaves=10))
def test_inexact_dumps_is_the_same_data_and_length_but_for_tiny_floats(doc: Any) -> None:
    text, exact = jsonout.dumps_bytes(doc, exact=False), stdlib(doc).encode("utf-8")
    if not jsonout._tiny_float(text):
        assert text == exact
    assert json.loads(text) == doc
    assert abs(len(text) - len(exact)) <= 2 * _floats(doc)  # "1e-05", "0.00001": 2 apart


def _floats(doc: Any) -> int:
    return 1 if type(doc) is float else sum(map(_floats, doc)) if type(doc) is list else 0


@pytest.mark.parametrize("n", [0, 1, 2, 5, 7])
def test_list_chunks_is_the_whole_document(n: int) -> None:
    items = [{"i": i, "t": HOSTILE[i % len(HOSTILE)], "l": [1, [], {}], "e": {}}
             for i in range(n)]
    for head, tail in (({"schema": "x", "nested": {"findings": []}, "t": "\u202e"}, {}),
                       ({"a": 1}, {"after": {"findings": [1]}, "z": []})):
        doc = {**head, "findings": [], **tail}
        chunks = list(jsonout.list_chunks(doc, "findings", iter(items), batch=2))
        assert len(chunks) == n // 2 + 1
        whole = stdlib({**head, "findings": items, **tail})
        assert b"".join(chunks) == json_escape_invisible(whole).encode("utf-8")
        raw = jsonout.list_chunks(doc, "findings", iter(items), batch=3, escape=False)
        assert b"".join(raw) == whole.encode("utf-8")
    with pytest.raises(ValueError):
        next(jsonout.list_chunks({"findings": [1]}, "findings", items))
