"""The syntax under posture_gate/locks.py: requirements-file lines as pip reads them, TOML
lock files read strictly, and where in a file a pin is written (for `file:line` messages).
Nothing here opens a file; the text comes from locks.py's capped, inside-the-root reads."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class LockError(ValueError):
    """An input that cannot be read safely or does not say what is installed: `file:line: why`."""


def printable(text: str) -> str:
    """Text from the tree as it may appear in a message: no control characters (a terminal
    escape in a file or package name must not reach the console)."""
    return "".join(c if c.isprintable() else "?" for c in text)


INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?<=^-r)|(?<=^-c))"
                      r"(\S+)$")
EDITABLE = re.compile(r"^(?:-e|--editable)(?:\s*=\s*|\s+)(\S+)")
OPTION_TAIL = re.compile(r"\s+--?[A-Za-z]")
EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """pip's reading of a requirements file: comments dropped, `\\` continuations joined;
    each logical line with the number of its first physical line."""
    buf: list[str] = []
    first = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if not buf:
            first = n
        if line.endswith("\\"):
            buf.append(line[:-1])
            continue
        buf.append(line)
        joined = " ".join(buf).strip()
        buf = []
        if joined:
            yield first, joined
    if buf and (joined := " ".join(buf).strip()):
        yield first, joined


def toml_doc(text: str, path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockError(f"{path}: not valid TOML ({exc})") from None


def typed_get(doc: Mapping[str, Any], keys: tuple[str, ...], kind: type, where: str,
         default: Any) -> Any:
    value: Any = doc
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    if not isinstance(value, kind):
        raise LockError(f"{where}: {'.'.join(keys)} is {type(value).__name__}")
    return value


def find_line(lines: Sequence[str], pattern: str, *, quoted: bool = False, start: int = 1) -> int:
    """1-based number of the first line from `start` matching `pattern` (inside quotes when
    `quoted`); `start` itself when none does."""
    rx = re.compile(rf"[\"']{pattern}[\"']" if quoted else pattern)
    for n in range(max(start, 1), len(lines) + 1):
        if rx.search(lines[n - 1]):
            return n
    return max(start, 1)


def table_lines(text: str, key: str, count: int) -> Callable[[int, str], int]:
    """A function (index, name) -> the line of that `[[key]]` entry's `version =` (else its
    `name =`, else its header): where the pin is written."""
    lines = text.splitlines()
    header = re.compile(rf"^\s*\[\[\s*{re.escape(key)}\s*\]\]\s*(#.*)?$")
    heads = [n for n, line in enumerate(lines, start=1) if header.match(line)]
    name_rx = r'^\s*name\s*=\s*["\']{}["\']'

    def where(i: int, name: str) -> int:
        if len(heads) != count:  # inline tables or a layout we do not know: search the name
            return find_line(lines, name_rx.format(re.escape(name)))
        start, end = heads[i], heads[i + 1] if i + 1 < len(heads) else len(lines) + 1
        block = lines[start:end - 1]
        for rx in (r"^\s*version\s*=", name_rx.format(re.escape(name))):
            for k, line in enumerate(block):
                if line.lstrip().startswith("["):
                    break  # a sub-table: the entry's own keys are above it
                if re.match(rx, line):
                    return start + 1 + k
        return start

    return where


def source_kind(lock: str, pkg: Mapping[str, Any], where: str) -> str:
    """'registry' (audit it), 'local' (a source directory: the project's own code) or what it
    is (git, URL, archive...: not audited, since no advisory database knows that artifact)."""
    if lock == "poetry.lock":
        source = pkg.get("source")
        if source is None:
            return "registry"
        kind = source.get("type") if isinstance(source, dict) else None
        if not isinstance(kind, str):
            raise LockError(f"{where}: source.type is not a string")
        return {"legacy": "registry", "directory": "local"}.get(kind, kind)
    if lock == "uv.lock":
        source = pkg.get("source")
        if not isinstance(source, dict):
            raise LockError(f"{where}: source is not a table")
        if "registry" in source:
            return "registry"
        if {"editable", "virtual", "directory"} & set(source) or (
                "path" in source and not is_archive(source["path"])):
            return "local"
        return next(iter(source), "unknown")
    if lock == "pdm.lock":
        if "git" in pkg or "url" in pkg:
            return "git" if "git" in pkg else "URL"
        if "path" in pkg:
            return "archive" if is_archive(pkg["path"]) else "local"
        return "local" if pkg.get("editable") else "registry"
    # pylock.toml (PEP 751): exactly one of vcs, directory, archive, or sdist/wheels (an index)
    if "vcs" in pkg:
        return "VCS"
    if "directory" in pkg:
        return "local"
    if "archive" in pkg:
        return "archive"
    return "registry"


def is_archive(path: object) -> bool:
    """A built artifact (someone's package, not the project's own code): not audited by
    name, since nothing says it is the registry's package of that name."""
    return not isinstance(path, str) or path.endswith(
        (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar"))
