"""Mutations of real documents (scanner samples, a saved findings.json, a baseline) for the
fuzzer: hypothesis strategies that turn one seed document into a malformed variant.

Mutations: delete a key; change a value's type (str, int, float, bool, null, list, dict, a
huge number, NaN, Infinity); put another part of the document in its place; duplicate list
items; change the case of a string (Class values, severities); nest deeply; truncate the
text; break its encoding (non-UTF-8 bytes, a BOM, UTF-16). Several may apply at once.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

Path = tuple[str | int, ...]

# Markers replaced in the serialized text by what json.dumps cannot write.
_RAW = {
    "\x00HUGE-INT\x00": "9" * 5000,  # past Python's int-from-string limit
    "\x00HUGE-FLOAT\x00": "1e400",  # overflows to infinity
    "\x00NEG-INT\x00": "-99999999999999999999999",
    "\x00DEEP\x00": "[" * 5000 + "]" * 5000,
    "\x00DEEP-OBJ\x00": '{"a":' * 200 + "1" + "}" * 200,
    "\x00LONE-SURROGATE\x00": '"\\udc80"',
}

REPLACEMENTS: list[Any] = [
    "", "x", "Secret", "CRITICAL", "critical", "-1", "\x00", "../../etc/passwd", "a" * 5000,
    "loop", "app/views.py",  # the fuzz roots hold a symlink loop and this file
    0, 1, -1, 2, 7, 2**31, 2**63, -(2**63),
    0.5, -1.5, 1e300,
    True, False, None,
    [], [None], [1, "a"], ["x"], [[]], [{}],
    {}, {"x": 1}, {"PURL": 3}, {"line": "1"},
    float("nan"), float("inf"), float("-inf"),
    *_RAW,
]


def paths(doc: Any, prefix: Path = ()) -> list[Path]:
    """Every path into the document, the root first (iterative)."""
    out: list[Path] = []
    stack: list[tuple[Any, Path]] = [(doc, prefix)]
    while stack:
        value, at = stack.pop()
        out.append(at)
        if isinstance(value, dict):
            stack.extend((v, (*at, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*at, i)) for i, v in enumerate(value))
    return out


def _get(doc: Any, at: Path) -> Any:
    for key in at:
        doc = doc[key]
    return doc


def _set(doc: Any, at: Path, value: Any) -> Any:
    if not at:
        return value
    _get(doc, at[:-1])[at[-1]] = value
    return doc


def _delete(doc: Any, at: Path) -> Any:
    if not at:
        return doc
    parent = _get(doc, at[:-1])
    del parent[at[-1]]
    return doc


def _recase(text: str, how: int) -> str:
    return [text.upper(), text.lower(), text.swapcase(), text.title(), f" {text}",
            text + "\u200b"][how % 6]


@st.composite
def mutated_doc(draw: st.DrawFn, seed: Any) -> Any:
    """The seed with 1-4 structural mutations."""
    doc = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, 4))):
        where = paths(doc)
        at = draw(st.sampled_from(where))
        kind = draw(st.sampled_from(["delete", "type", "swap", "dup", "case", "deep"]))
        value = _get(doc, at)
        if kind == "delete" and at:
            doc = _delete(doc, at)
        elif kind == "type":
            doc = _set(doc, at, copy.deepcopy(draw(st.sampled_from(REPLACEMENTS))))
        elif kind == "swap":
            other = _get(doc, draw(st.sampled_from(where)))
            doc = _set(doc, at, copy.deepcopy(other))
        elif kind == "dup" and isinstance(value, list) and value:
            i = draw(st.integers(0, len(value) - 1))
            value[i:i] = [copy.deepcopy(value[i])] * draw(st.integers(1, 3))
        elif kind == "case" and isinstance(value, str):
            doc = _set(doc, at, _recase(value, draw(st.integers(0, 5))))
        elif kind == "deep":
            doc = _set(doc, at, draw(st.sampled_from(["\x00DEEP\x00", "\x00DEEP-OBJ\x00"])))
    return doc


def dumps(doc: Any) -> bytes:
    text = json.dumps(doc, allow_nan=True, ensure_ascii=False)
    for marker, raw in _RAW.items():
        text = text.replace(json.dumps(marker, ensure_ascii=False), raw)
    return text.encode("utf-8", "surrogatepass")


def _truncate(data: bytes, n: int) -> bytes:
    return data[: n % (len(data) + 1)]


def _bad_encoding(data: bytes, how: int, n: int) -> bytes:
    at = n % (len(data) + 1)
    return [data[:at] + b"\xff\xfe" + data[at:],
            b"\xef\xbb\xbf" + data,
            data.decode("utf-8", "replace").encode("utf-16"),
            data[:at] + b"\xc3" + data[at:],
            data[:at] + b"\x00" + data[at:]][how % 5]


@st.composite
def mutated_bytes(draw: st.DrawFn, seed: Any) -> bytes:
    """A malformed variant of `seed` as bytes: structural mutations, then sometimes a
    text-level one (truncation, a broken encoding)."""
    data = dumps(draw(mutated_doc(seed)))
    text_level: list[Callable[[bytes], bytes]] = [
        *[lambda d: d] * 4,  # mostly structural: those reach past the JSON decoder
        lambda d: _truncate(d, draw(st.integers(0, 1 << 20))),
        lambda d: _bad_encoding(d, draw(st.integers(0, 4)), draw(st.integers(0, 1 << 20))),
    ]
    return draw(st.sampled_from(text_level))(data)
