"""The content of the scanned tree as the file-level scanners see it: repo-relative path ->
sha256 of the bytes, for the result cache (resultcache.py) to tell what changed.

The walk skips what every file-level scanner skips (NOT_PROJECT_DIRS at any depth, the
output directories, links leading outside the root) and, like bandit's and semgrep's own
walks, never enters a directory symlink. A file symlink inside the root is hashed through
(bandit opens it). Whatever is skipped here, a finding in it disables reuse (the cache
checks that every cached finding lies in a hashed file).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from .scanners.base import NOT_PROJECT_DIRS

_CHUNK = 1 << 20
MAX_FILES = 500_000  # past this the tree is not worth hashing: no cache for it


class TooManyFiles(Exception):
    pass


def file_digest(path: str | Path) -> str | None:
    """sha256 of a regular file's bytes (through a link), None if it cannot be read."""
    h = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None  # a FIFO or device planted in the tree is never read
        with os.fdopen(fd, "rb", closefd=False) as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return h.hexdigest()


def manifest(root: Path, *, exclude_dirs: Sequence[str] = (),
             outside_links: Sequence[str] = (), max_files: int = MAX_FILES
             ) -> dict[str, str]:
    """rel path -> digest of every readable regular file the scanners may read."""
    excluded = frozenset(exclude_dirs)
    leaving = frozenset(outside_links)
    out: dict[str, str] = {}
    stack = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if rel in leaving or rel in excluded:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in NOT_PROJECT_DIRS:
                        stack.append((entry.path, f"{rel}/"))
                    continue
                if entry.is_symlink() and os.path.isdir(entry.path):
                    continue  # a directory link: not walked by the scanners either
            except OSError:
                continue
            digest = file_digest(entry.path)
            if digest is not None:
                out[rel] = digest
                if len(out) > max_files:
                    raise TooManyFiles(f"more than {max_files} files")
    return out


def combined(files: Mapping[str, str]) -> str:
    """One digest for a whole manifest (order-independent)."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + files[rel].encode() + b"\n")
    return h.hexdigest()


def changes(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(added or modified, deleted) paths, sorted."""
    touched = sorted(rel for rel, d in new.items() if old.get(rel) != d)
    gone = sorted(rel for rel in old if rel not in new)
    return touched, gone
