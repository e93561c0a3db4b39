"""The last snapshot of a scanned root (treedigest.Snapshot), kept for the next scan of it:
a file whose status is the one recorded, settled before that scan began, is not read and
hashed again (treedigest.snapshot's `known`). On pydantic-ai (2,541 files, 184 MB) that is
most of a warm re-run's look at the tree.

Kept beside the result cache's entries, which it helps key, and trusted as they are: never
inside the scanned tree (cachedir.usable), private files, never through a link. One file
per root, the most recently used KEEP roots. A memo that is damaged, of another shape or of
another root remembers nothing; a wrong status in it only makes a file be read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from . import cachedir
from .treedigest import Identity, Snapshot

SCHEMA = "posture-gate/tree-memo/v1"
FOLDER = "trees"
KEEP = 8
MAX_BYTES = 256 << 20  # ~150 bytes a file: far past treedigest.MAX_FILES
_DIGEST = re.compile(r"[0-9a-f]{64}")


def _name(root: Path) -> str:
    return hashlib.sha256(os.fsencode(root)).hexdigest()[:32] + ".json"


def load(folder: Path, root: Path) -> Snapshot | None:
    try:
        fd = os.open(folder / FOLDER / _name(root), os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as fh:
            # not strictjson: a file name's lone surrogates (its bytes) are what is kept
            doc = json.loads(fh.read(MAX_BYTES + 1).decode("ascii"))
    except (OSError, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return _decode(doc, root)


def _decode(doc: Any, root: Path) -> Snapshot | None:
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA \
            or doc.get("root") != os.fsdecode(root):
        return None
    started, rows = doc.get("started_ns"), doc.get("files")
    if type(started) is not int or not isinstance(rows, dict):
        return None
    files: dict[str, str] = {}
    stats: dict[str, Identity] = {}
    for rel, row in rows.items():
        if not (isinstance(row, list) and len(row) == 6 and isinstance(row[5], str)
                and _DIGEST.fullmatch(row[5])
                and all(type(n) is int and n >= 0 for n in row[:5])):
            return None  # not written by us: trust none of it
        files[rel] = row[5]
        stats[rel] = (row[0], row[1], row[2], row[3], row[4])
    return Snapshot(files=files, stats=stats, started_ns=started)


def save(folder: Path, root: Path, snap: Snapshot) -> None:
    """Remember `snap` for the next scan of `root`; nothing when the cache is not writable."""
    if snap.files and snap.reused == len(snap.files):
        return  # nothing read this time: the memo on disk already says all of it
    trees = cachedir.private_dir(folder, FOLDER)
    if trees is None:
        return
    rows = {rel: [*snap.stats[rel], digest] for rel, digest in snap.files.items()}
    # ASCII: a file name that is not UTF-8 (its bytes as lone surrogates) is kept as \udcXX
    data = json.dumps({"schema": SCHEMA, "root": os.fsdecode(root),
                       "started_ns": snap.started_ns, "files": rows},
                      separators=(",", ":")).encode("ascii")
    if len(data) > MAX_BYTES:
        return
    name = _name(root)
    with contextlib.suppress(OSError):
        cachedir.write_private(trees / name, data)
        cachedir.prune(trees, keep=name, most=KEEP, is_entry=lambda n: n.endswith(".json"),
                       is_temp=lambda n: n.endswith(".tmp"))
