"""Strict JSON for documents posture-gate did not write itself in this run (scanner output,
a saved findings.json or baseline): every way such a document can be malformed becomes a
ValueError with a one-line reason, never another exception later on."""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from .textutil import one_line

# Real scanner output and our own files nest about a dozen levels; anything far deeper is
# not theirs, and would exhaust the stack of whatever walks it next (json.dumps, reporters).
MAX_DEPTH = 64

_SURROGATE = re.compile("[\ud800-\udfff]")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _tree_problem(doc: Any, strings: bool = True) -> str | None:
    """Too deep, or (when `strings`) a string holding a lone surrogate (JSON's \\udXXX
    escapes allow one; no UTF-8 writer accepts it). Iterative: never recurses itself."""
    if _too_deep(doc):
        return f"nested deeper than {MAX_DEPTH} levels"
    if strings and _lone_surrogate(doc):
        return "a string with a lone surrogate escape"
    return None


def _too_deep(doc: Any) -> bool:
    """Level by level, containers only (100k findings hold ~3M scalars: a list
    comprehension a container is twice as fast as a stack of every value)."""
    level = [doc] if type(doc) in (dict, list) else []
    depth = 1
    while level:
        if depth > MAX_DEPTH:
            return True
        below: list[Any] = []
        for c in level:
            below += [v for v in (c.values() if type(c) is dict else c)
                      if type(v) is dict or type(v) is list]
        level, depth = below, depth + 1
    return False


def _lone_surrogate(doc: Any) -> bool:
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            stack += value.keys()
            stack += value.values()
        elif isinstance(value, list):
            stack += value
    return False


def _may_hold_surrogate(text: str) -> bool:
    """Whether the parsed text can hold a lone surrogate: only from a \\udXXX escape, or
    from a raw one already in the text (not from a strict UTF-8 decode)."""
    if "\\ud" in text or "\\uD" in text:
        return True
    if text.isascii():
        return False
    try:  # before parsing: the copy is made while the text is all there is
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def loads(text: str) -> Any:
    """JSON text with finite numbers only (no NaN/Infinity, no float overflow, no
    4300-digit integers), nesting at most MAX_DEPTH, no lone surrogates. ValueError
    with a one-line reason otherwise."""
    return _parsed(text, _may_hold_surrogate(text))


def _parsed(text: str, strings: bool) -> Any:
    """`strings`: whether the text may hold a lone surrogate (then every string is
    checked once parsed)."""
    try:
        doc = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno} column "
                         f"{exc.colno})") from None
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # an integer too long, NaN, a float out of range
        raise ValueError(f"not valid JSON ({one_line(str(exc), 80)})") from None
    problem = _tree_problem(doc, strings)
    if problem:
        raise ValueError(problem)
    return doc


def load_bytes(data: bytes) -> Any:
    """`loads` of UTF-8 bytes (a BOM or UTF-16 is not accepted either)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start})") from None
    # A strict decode yields no lone surrogate; only a \udXXX escape can make one, and
    # looking for it in the bytes costs a fraction of looking in a wide str (100k
    # findings, 110 MB: 0.02 s against 0.46 s).
    return _parsed(text, b"\\ud" in data or b"\\uD" in data)


def kind_name(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list",
            dict: "dict"}.get(type(value), type(value).__name__)


def is_kind(value: object, kind: type | tuple[type, ...]) -> bool:
    """isinstance, except that a bool is never an int or a float (JSON true is not 1)."""
    if type(value) is bool:  # bool has no subclasses
        return kind is bool or (type(kind) is tuple and bool in kind)
    return isinstance(value, kind)


_MISSING = object()


class ShapeError(ValueError):
    """A field of a saved document (findings.json, baseline) is missing or of the wrong
    type; the message names the field, e.g. `findings[3].location.start_line is str`."""


def obj(value: object, where: str) -> Mapping[str, Any]:
    """`value` must be an object; `where` names it ('findings[3]')."""
    if not isinstance(value, Mapping):
        raise ShapeError(f"{where or 'document'} is {kind_name(value)}, expected an object")
    return value


def field(d: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = "", *,
          required: bool = True) -> Any:
    """d[key] of the given kind. Optional fields may be absent or null (-> None)."""
    value = d.get(key, _MISSING)
    if value is _MISSING or (value is None and not required):
        if required:
            raise ShapeError(f"{where}{key} is missing")
        return None
    if type(value) is kind:  # the common case, decided at once (never bool for int)
        return value
    if not is_kind(value, kind):
        raise ShapeError(f"{where}{key} is {kind_name(value)}")
    return value


def text_list(d: Mapping[str, Any], key: str, where: str = "") -> tuple[str, ...]:
    """An optional list of strings (absent or null: empty)."""
    items = field(d, key, list, where, required=False) or []
    if all(type(item) is str for item in items):
        return tuple(items)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ShapeError(f"{where}{key}[{i}] is {kind_name(item)}")
    return tuple(items)


def count(d: Mapping[str, Any], key: str, where: str = "", *, required: bool = True,
          limit: int = 1 << 53) -> int | None:
    """A non-negative integer (a count, a line number, a limit)."""
    value = field(d, key, int, where, required=required)
    if value is not None and not 0 <= value <= limit:
        raise ShapeError(f"{where}{key} is {value}, out of range")
    return value  # type: ignore[no-any-return]


E = TypeVar("E", bound=enum.Enum)


def choice(cls: type[E], d: Mapping[str, Any], key: str, where: str = "") -> E:
    """A string that must be one of an enum's values."""
    value = field(d, key, str, where)
    try:
        return cls(value)
    except ValueError:
        raise ShapeError(f"{where}{key} is {one_line(repr(value), 40)}, not a "
                         f"{cls.__name__.lower()}") from None


def maybe_choice(cls: type[E], d: Mapping[str, Any], key: str, where: str = "") -> E | None:
    """`choice`, or None when the key is absent or null."""
    return None if d.get(key) is None else choice(cls, d, key, where)
