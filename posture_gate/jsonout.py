"""Indented JSON for the reports, fast: byte for byte what
`json.dumps(obj, indent=2, ensure_ascii=False)` writes (its encoder is pure Python whenever
`indent` is given: 100,000 findings took 20 s of it per format).

orjson writes the same bytes for everything a report holds (str keys, str, int, float,
bool, None, lists, tuples, dicts) except three cases, each sent to the stdlib encoder:
- what it refuses: an integer beyond 64 bits, a lone surrogate, a non-str key (json's
  output for these is kept as it was);
- a float under 1e-4: orjson spells it 0.00001 or 1.5e-7 where repr() says 1e-05 and
  1.5e-07; any such spelling in its output (even inside a string) means the stdlib;
- a non-finite float (never in a run: every input is read strictly) would be null, not NaN.
Without orjson installed the stdlib does it all, slower.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from .textutil import json_escape_invisible

try:
    import orjson
except ImportError:  # pragma: no cover - a dependency; the fallback keeps the bytes
    orjson = None  # type: ignore[assignment]

_OPTIONS = 0 if orjson is None else (orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATACLASS
                                     | orjson.OPT_PASSTHROUGH_DATETIME)
_DIGITS = frozenset(b"0123456789")
_TINY_EXPONENT = re.compile(rb"e-[0-9](?:[,\n\]}]|\Z)")
# Lead bytes of every UTF-8 character textutil.json_escape_invisible escapes (DEL, C1,
# U+00AD, Cf, U+2028/9, non-characters): a superset, each hit checked exactly.
_LEADS = tuple(bytes([b]) for b in (0x7F, 0xC2, 0xD8, 0xDB, 0xDC, 0xE0, 0xE1, 0xE2, 0xEF,
                                    0xF0, 0xF1, 0xF2, 0xF3, 0xF4))


def _refuse(obj: Any) -> Any:
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _tiny_float(data: bytes) -> bool:
    """Whether orjson's output may hold a float it spells unlike repr() (see above)."""
    if b"0.0000" in data:
        return True
    # a one-digit exponent where a number ends (a UUID's 3e-5b is no float); the regex's
    # literal "e-" is searched at C speed, a Python loop over each "e-" of the prose was not
    return any(m.start() > 0 and data[m.start() - 1] in _DIGITS
               for m in _TINY_EXPONENT.finditer(data))


def dumps_bytes(obj: Any, *, exact: bool = True) -> bytes:
    """UTF-8 of json.dumps(obj, indent=2, ensure_ascii=False); TypeError as json raises.
    A lone surrogate makes it UnicodeEncodeError (no UTF-8 file could hold it anyway).
    Not `exact`, for text to be measured, not written: a float under 1e-4 may be spelled
    as orjson spells it (the same value, a byte or two apart), and the text is not searched
    for one (SARIF sizes every run before writing it)."""
    if orjson is not None:
        try:
            data = orjson.dumps(obj, default=_refuse, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            pass  # the stdlib decides: the same output, or the same error
        else:
            if not exact or not _tiny_float(data):
                return data
    return json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8")


def dumps(obj: Any) -> str:
    """json.dumps(obj, indent=2, ensure_ascii=False), exactly."""
    if orjson is not None:
        try:
            return dumps_bytes(obj).decode("utf-8")
        except UnicodeEncodeError:
            pass
    return json.dumps(obj, indent=2, ensure_ascii=False)


def escape_invisible(data: bytes) -> bytes:
    """textutil.json_escape_invisible on UTF-8 JSON text, without a regex pass over all of
    it (that pass costs ~200 ns a character): only the characters whose lead byte could
    start an escaped one are decoded and checked."""
    if data.isascii() and b"\x7f" not in data:
        return data
    hits: list[tuple[int, int]] = []
    for lead in _LEADS:
        width = 1 if lead[0] < 0x80 else 2 if lead[0] < 0xE0 else 3 if lead[0] < 0xF0 else 4
        i = data.find(lead)
        while i != -1:
            ch = data[i:i + width].decode("utf-8")
            if json_escape_invisible(ch) != ch:
                hits.append((i, width))
            i = data.find(lead, i + width)
    if not hits:
        return data
    out, at = [], 0
    for i, width in sorted(hits):
        out += [data[at:i], json_escape_invisible(data[i:i + width].decode("utf-8"))
                .encode("ascii")]
        at = i + width
    out.append(data[at:])
    return b"".join(out)


def dumps_escaped(obj: Any) -> str:
    """json_escape_invisible(json.dumps(obj, indent=2, ensure_ascii=False)), exactly
    (findings.json: no invisible character in the file, the same data once parsed)."""
    return dumps_escaped_bytes(obj).decode("utf-8")


def dumps_escaped_bytes(obj: Any) -> bytes:
    """UTF-8 of dumps_escaped(obj) (a lone surrogate is escaped, so it always encodes)."""
    try:
        return escape_invisible(dumps_bytes(obj))
    except UnicodeEncodeError:  # a lone surrogate, which the escaping spells \udXXX
        return json_escape_invisible(json.dumps(obj, indent=2, ensure_ascii=False)
                                     ).encode("utf-8")


def list_chunks(doc: dict[str, Any], key: str, items: Iterable[Any], *,
                batch: int = 1000, escape: bool = True) -> Iterator[bytes]:
    """dumps_escaped_bytes (`escape`) or dumps_bytes (not `escape`) of `doc` with
    doc[key] (an empty list in `doc`) holding `items`, in chunks of `batch` items: a
    report of 100k findings is never one string, and the items can be made (and
    dropped) one by one."""
    if doc.get(key) != []:
        raise ValueError(f"list_chunks: doc[{key!r}] is not the empty list to fill")
    dump = dumps_escaped_bytes if escape else dumps_bytes
    whole = dump(doc)
    # The key at the top level: indented by two spaces (no JSON string holds a newline).
    marker = b"\n  " + dump(key) + b": []"
    at = whole.index(marker) + len(marker) - 1  # at the "]"
    opening, closing = whole[:at], whole[at:]
    group: list[Any] = []
    sep = b""
    for item in items:
        group.append(item)
        if len(group) == batch:
            yield opening + sep + _list_body(dump(group))
            opening, sep, group = b"", b",", []
    if group:
        yield opening + sep + _list_body(dump(group)) + b"\n  " + closing
    else:
        yield opening + (b"\n  " if sep else b"") + closing


def _list_body(dumped: bytes) -> bytes:
    """The items of a dumped top-level list ("[\n  a,\n  b\n]"), as they are written one
    level deeper ("\n    a',\n    b'"): one dump a batch, not one an item."""
    return dumped[1:-2].replace(b"\n", b"\n  ")
