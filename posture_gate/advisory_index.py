"""The advisory index: every record's JSON back to back, found by id and by package, in one
file per source digest under the cache (`<cache>/advisories/<digest>.idx`).

File layout: MAGIC, sha256 of the rest, header length (8 bytes, big-endian), header JSON
(`digest`, `newest`, `spans`: id -> [offset, length] in the body, `packages`: key -> ids), body.
A reader checks the magic, the checksum, the digest it asked for and every span: a truncated,
corrupt, foreign or half-written file is a miss (rebuilt), never an error or a wrong answer.
Files are written atomically (a new file renamed over the old one).

The cache directory is trusted like the advisory source itself (scan.py never uses one inside
the scanned tree): whoever can write it can forge an index with a matching checksum.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cachedir
from .fsutil import TooLarge, read_capped, write_atomic

MAGIC = b"PGADVIX1"
_PREFIX = len(MAGIC) + 32  # magic + sha256
MAX_INDEX_BYTES = 2 << 30
KEEP = 4  # indexes kept per cache: the most recently used ones (sources, advisory updates)
_NAME = re.compile(r"^[0-9a-f]{64}\.idx$")


@dataclass(frozen=True, kw_only=True)
class Index:
    digest: str  # the source's content digest (advisory_source.Snapshot.digest)
    newest: str | None  # newest `modified`/`published` of the records served
    spans: Mapping[str, tuple[int, int]]  # id -> (offset, length) of its JSON in body
    by_package: Mapping[str, tuple[str, ...]]  # "ecosystem lower:canonical name" -> ids
    body: bytes


def pack(*, digest: str, newest: str | None, records: Mapping[str, Mapping[str, Any]],
         by_package: Mapping[str, tuple[str, ...]]) -> Index:
    parts: list[bytes] = []
    spans: dict[str, tuple[int, int]] = {}
    offset = 0
    for vid, record in records.items():
        blob = json.dumps(record, separators=(",", ":")).encode()
        spans[vid] = (offset, len(blob))
        parts.append(blob)
        offset += len(blob)
    return Index(digest=digest, newest=newest, spans=spans, by_package=dict(by_package),
                 body=b"".join(parts))


def encode(index: Index) -> bytes:
    header = json.dumps({"digest": index.digest, "newest": index.newest,
                         "spans": {k: list(v) for k, v in index.spans.items()},
                         "packages": {k: list(v) for k, v in index.by_package.items()}},
                        separators=(",", ":")).encode()
    payload = len(header).to_bytes(8, "big") + header + index.body
    return MAGIC + hashlib.sha256(payload).digest() + payload


def decode(data: bytes, digest: str) -> Index | None:
    """The index in `data` if it is whole and was built from the source with `digest`."""
    if len(data) < _PREFIX + 8 or data[:len(MAGIC)] != MAGIC:
        return None
    payload = memoryview(data)[_PREFIX:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC):_PREFIX]:
        return None
    size = int.from_bytes(payload[:8], "big")
    if size > len(payload) - 8:
        return None
    try:
        header = json.loads(bytes(payload[8:8 + size]))
    except ValueError:
        return None
    body = bytes(payload[8 + size:])
    return _checked(header, digest, len(body), body)


def _checked(header: Any, digest: str, length: int, body: bytes) -> Index | None:
    if not isinstance(header, dict) or header.get("digest") != digest:
        return None
    newest, spans, packages = header.get("newest"), header.get("spans"), header.get("packages")
    if not (newest is None or isinstance(newest, str)) or not isinstance(spans, dict) \
            or not isinstance(packages, dict):
        return None
    out_spans: dict[str, tuple[int, int]] = {}
    for vid, span in spans.items():
        if not (isinstance(span, list) and len(span) == 2
                and all(type(n) is int and n >= 0 for n in span) and span[0] + span[1] <= length):
            return None
        out_spans[vid] = (span[0], span[1])
    out_packages: dict[str, tuple[str, ...]] = {}
    for key, ids in packages.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) and i in out_spans
                                                for i in ids):
            return None
        out_packages[key] = tuple(ids)
    return Index(digest=digest, newest=newest, spans=out_spans, by_package=out_packages,
                 body=body)


def _path(folder: Path, digest: str) -> Path:
    return folder / f"{digest}.idx"


def fetch(folder: Path, digest: str) -> Index | None:
    """The cached index for `digest`, or None (absent, unreadable, corrupt: rebuild it)."""
    path = _path(folder, digest)
    try:
        data = read_capped(path, MAX_INDEX_BYTES)
    except (OSError, TooLarge):
        return None
    index = decode(data, digest)
    if index is not None:
        with contextlib.suppress(OSError):
            os.utime(path)  # most recently used: kept by prune()
    return index


def store(folder: Path, index: Index) -> bool:
    """Write the index for later runs; False when the cache cannot be written (read-only
    home, full disk): the scan goes on with the index it built."""
    try:
        write_atomic(_path(folder, index.digest), encode(index))
    except OSError:
        return False
    prune(folder, keep=_path(folder, index.digest).name)
    return True


def prune(folder: Path, *, keep: str) -> None:
    """At most KEEP indexes (least recently used go first) and no abandoned temp files."""
    cachedir.prune(folder, keep=keep, most=KEEP, is_entry=lambda n: bool(_NAME.match(n)),
                   is_temp=lambda n: n.startswith(".") and n.endswith(".tmp"))
