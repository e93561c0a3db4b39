"""strictjson.loads: the depth and lone-surrogate checks, wherever in the tree they hide
(the walk skips scalars and, when the text cannot hold a surrogate, the string check)."""

from __future__ import annotations

import pytest

from posture_gate import strictjson


@pytest.mark.parametrize("text", [
    '{"a": "\\ud800"}', '{"\\uDBFF": 1}', '[[["x", ["\\udc80"]]]]', '{"a": {"b": ["\\uDfFf"]}}',
    '["ok", "\\ud83d\\ude00", "\\udc00"]', '"\\ud800"', '["\ud800 raw"]', '{"\udfff": 1}',
])
def test_lone_surrogates_anywhere(text: str) -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        strictjson.loads(text)


@pytest.mark.parametrize("text", [
    '{"a": "\\ud800"}', '{"\\uDBFF": 1}', '[[["x", ["\\udc80"]]]]', '["検", "\\udc00"]',
])
def test_load_bytes_finds_an_escaped_lone_surrogate(text: str) -> None:
    # it looks for the escape in the bytes, not in the decoded text
    with pytest.raises(ValueError, match="lone surrogate"):
        strictjson.load_bytes(text.encode("utf-8"))


@pytest.mark.parametrize("raw", ['["\ud800 raw"]', '{"\udfff": 1}'])
def test_load_bytes_refuses_a_raw_surrogate_as_not_utf8(raw: str) -> None:
    with pytest.raises(ValueError, match="not UTF-8"):
        strictjson.load_bytes(raw.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("text", [
    '["\\ud83d\\ude00 pair", "\\\\ud800 is text"]', '{"検": "Überprüfung"}', '"plain"',
])
def test_pairs_and_escaped_backslashes_are_fine(text: str) -> None:
    strictjson.loads(text)
    strictjson.load_bytes(text.encode("utf-8"))


@pytest.mark.parametrize(("depth", "ok"), [(64, True), (65, False)])
def test_depth_limit(depth: int, ok: bool) -> None:
    for text in ("[" * depth + "]" * depth,
                 '{"a": ' * (depth - 1) + '["x"]' + "}" * (depth - 1),
                 "[1, " * (depth - 1) + "{}" + "]" * (depth - 1)):
        if ok:
            strictjson.loads(text)
        else:
            with pytest.raises(ValueError, match="nested deeper than 64"):
                strictjson.loads(text)
