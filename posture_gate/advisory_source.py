"""An advisory mirror as bytes: a directory of OSV records or an OSV `all.zip` export.

`read` takes one snapshot of every record file and its content digest, which keys the index
cache (advisory_index.py). The digest hashes the bytes themselves, not names, sizes and
mtimes: a record edited in place with its size and mtime kept (`os.utime`, `rsync -t`, a
coarse-mtime file system, a cache restore) must change the key, or a stale index would be
served. Hashing is ~50 ms for the whole PyPI database, against seconds to parse it. The
index is built from the very bytes that were hashed, so no edit between hashing and parsing
can make an index disagree with its key.

`parse` turns the snapshot into records; it is the only costly step and runs only when the
index cache misses.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError
from .fsutil import TooLarge, human_size, read_capped

# Bump when parsing or normalising records changes: the digest (the cache key) includes it,
# so indexes built by older code are never read.
FORMAT = b"posture-gate advisory index v1\n"
SUFFIXES = (".json", ".yaml", ".yml")
MAX_RECORD_BYTES = 16 << 20  # the largest real OSV record is well under 1 MiB
MAX_TOTAL_BYTES = 1 << 30  # osv.dev's PyPI all.zip unpacks to a small fraction of this
MAX_ZIP_BYTES = 512 << 20


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    source: Path
    digest: str  # sha256 hex over FORMAT, the kind and every (name, content)
    files: tuple[tuple[str, bytes], ...]  # (name for messages, content), in load order


def read(source: Path) -> Snapshot:
    """A directory (every *.json/*.yaml/*.yml below it, and every such member of each *.zip
    below it: an osv.dev `all.zip` export next to PYSEC records) or a zip file."""
    if source.is_dir():
        return _read_dir(source)
    if source.is_file():
        return _read_zip(source)
    raise UsageError(f"{source}: advisories directory not found")


def _read_dir(directory: Path) -> Snapshot:
    digest = hashlib.sha256(FORMAT + b"dir\0")
    files: list[tuple[str, bytes]] = []
    total = 0
    for parts, path in _walk(str(directory)):
        if path.endswith(".zip"):
            members = _read_zip(Path(path)).files
            total += sum(len(d) for _, d in members)
            if total > MAX_TOTAL_BYTES:
                raise UsageError(f"{directory}: advisory records larger than "
                                 f"{human_size(MAX_TOTAL_BYTES)} in all")
            for name, data in members:  # name: <zip path>:<member>
                _add(digest, "/".join(parts) + name[len(path):], data)
            files += members
            continue
        try:
            data = read_capped(Path(path), MAX_RECORD_BYTES)
        except TooLarge as exc:
            raise UsageError(f"{path}: advisory record {exc}") from None
        except OSError as exc:
            raise UsageError(f"{path}: not a readable OSV record ({exc.strerror or exc})") \
                from None
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise UsageError(f"{directory}: advisory records larger than "
                             f"{human_size(MAX_TOTAL_BYTES)} in all")
        _add(digest, "/".join(parts), data)
        files.append((path, data))
    return Snapshot(source=directory, digest=digest.hexdigest(), files=tuple(files))


def _walk(top: str) -> list[tuple[tuple[str, ...], str]]:
    """(relative parts, path) of each record file below `top`, in Path order (by parts).

    Like Path.rglob: symlinked directories are not entered, symlinked files are read. Unlike
    it, a directory that cannot be listed is an error: skipping it would drop its records."""
    found: list[tuple[tuple[str, ...], str]] = []
    pending: list[tuple[tuple[str, ...], str]] = [((), top)]
    while pending:
        parts, folder = pending.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            raise UsageError(f"{folder}: advisories directory not readable "
                             f"({exc.strerror or exc})") from None
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append(((*parts, entry.name), entry.path))
            elif os.path.splitext(entry.name)[1] in (*SUFFIXES, ".zip") and entry.is_file():
                found.append(((*parts, entry.name), entry.path))
    found.sort()
    return found


def _add(digest: Any, name: str, data: bytes) -> None:
    # name, NUL, length, content: no two different file sets hash the same byte stream
    digest.update(name.encode("utf-8", "surrogateescape") + b"\0"
                  + len(data).to_bytes(8, "big") + data)


def _read_zip(path: Path) -> Snapshot:
    try:
        blob = read_capped(path, MAX_ZIP_BYTES)
    except TooLarge as exc:
        raise UsageError(f"{path}: advisory zip {exc}") from None
    except OSError as exc:
        raise UsageError(f"{path}: unreadable advisory zip ({exc.strerror or exc})") from None
    try:
        files = tuple(_members(path, blob))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
            OSError, ValueError) as exc:
        # OSError/ValueError: a corrupt member (CRC, truncated stream, bad header)
        raise UsageError(f"{path}: not a readable OSV zip export ({exc})") from None
    # The zip's own bytes fix every member's name and content: hash them once.
    digest = hashlib.sha256(FORMAT + b"zip\0" + blob).hexdigest()
    return Snapshot(source=path, digest=digest, files=files)


def _members(path: Path, blob: bytes) -> Iterator[tuple[str, bytes]]:
    total = 0
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            if info.is_dir() or not info.filename.endswith(SUFFIXES):
                continue
            # file_size is what ZipExtFile will let through (it stops there and checks the
            # CRC), so checking it before reading bounds a zip bomb.
            if info.file_size > MAX_RECORD_BYTES:
                raise UsageError(f"{path}:{info.filename}: advisory record larger than "
                                 f"{human_size(MAX_RECORD_BYTES)}")
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise UsageError(f"{path}: advisory records larger than "
                                 f"{human_size(MAX_TOTAL_BYTES)} in all")
            yield f"{path}:{info.filename}", zf.read(info)


def parse(snapshot: Snapshot) -> Iterator[dict[str, Any]]:
    """Each file's OSV record as JSON-able data; files that are not records are skipped.

    YAML goes through yamlfast (libyaml when PyYAML has it)."""
    load_yaml = _yaml_load() if any(not n.endswith(".json") for n, _ in snapshot.files) \
        else None
    for name, data in snapshot.files:
        try:
            text = data.decode("utf-8")
            doc = jsonable(json.loads(text) if load_yaml is None or name.endswith(".json")
                           else load_yaml(text))
        except Exception as exc:  # ValueError, YAMLError, RecursionError (deep nesting)...
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            where = f":{line + 1}" if line is not None else ""
            raise UsageError(f"{name}{where}: not a readable OSV record "
                             f"({type(exc).__name__})") from None
        if isinstance(doc, dict) and isinstance(doc.get("id"), str):
            yield doc  # READMEs, notices and other data files are not records


def _yaml_load() -> Callable[[str], Any]:
    from .yamlfast import safe_load  # only when a record is YAML: a warm run never needs it

    return safe_load


def jsonable(value: Any) -> Any:
    """YAML turns unquoted timestamps into datetimes; OSV (and pip-audit) want RFC 3339."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date):
        return value.isoformat() + "T00:00:00Z"
    return value
