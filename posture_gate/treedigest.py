"""The content of the scanned tree as the file-level scanners see it: repo-relative path ->
sha256 of the bytes, for the result cache (resultcache.py) to tell what changed.

The walk skips what every file-level scanner skips (NOT_PROJECT_DIRS at any depth, the
output directories, links leading outside the root) and, like bandit's and semgrep's own
walks, never enters a directory symlink. A file symlink inside the root is hashed through
(bandit opens it). Whatever is skipped here, a finding in it disables reuse (the cache
checks that every cached finding lies in a hashed file).

After the scan, unchanged() tells whether the tree still holds what was hashed without
reading it all again: a file whose status (device, inode, size, mtime, ctime) is what it was
when hashed, and was already well before the walk began, has not been written since (any
write sets its ctime to the time of the write, and no one but root can set it back). Files
changed shortly before the walk are read again, as git re-reads "racily clean" entries.
The same rule lets a snapshot take a file's digest from the last scan's (treememo.py).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import stat
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from . import priority, workers
from .scanners.base import NOT_PROJECT_DIRS, Weight

_CHUNK = 1 << 20
_THREADED_FROM = 64  # files to read before a second thread is worth starting
MAX_FILES = 500_000  # past this the tree is not worth hashing: no cache for it
# A status this close to the walk's start (or after it) proves nothing: a write within the
# same timestamp tick (up to 2 s on some filesystems) can leave it as it was.
RACY_NS = 2_000_000_000

Identity = tuple[int, int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns


@dataclass(frozen=True)
class Snapshot:
    files: Mapping[str, str]  # rel path -> sha256, as manifest()
    stats: Mapping[str, Identity]  # the status of each file as it was before it was read
    started_ns: int  # wall clock (the clock file times are set from) before the walk
    reused: int = 0  # files whose digest came from an earlier snapshot, not read


def weight(snap: Snapshot) -> Weight:
    size = 2  # an Identity's st_size
    python = sum(st[size] for rel, st in snap.stats.items() if rel.endswith(".py"))
    return Weight(python=python, other=sum(st[size] for st in snap.stats.values()) - python)


class TooManyFiles(Exception):
    pass


def _identity(st: os.stat_result) -> Identity:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _read(path: str | Path) -> tuple[str, Identity] | None:
    """(sha256, status) of a regular file (through a link), None if it cannot be read. The
    status is taken before the bytes: a write while they are read moves the ctime past it."""
    h = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None  # a FIFO or device planted in the tree is never read
        with os.fdopen(fd, "rb", closefd=False) as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return h.hexdigest(), _identity(st)


def file_digest(path: str | Path) -> str | None:
    """sha256 of a regular file's bytes (through a link), None if it cannot be read."""
    got = _read(path)
    return None if got is None else got[0]


def manifest(root: Path, *, exclude_dirs: Sequence[str] = (),
             outside_links: Sequence[str] = (), max_files: int = MAX_FILES
             ) -> dict[str, str]:
    """rel path -> digest of every readable regular file the scanners may read."""
    return dict(snapshot(root, exclude_dirs=exclude_dirs, outside_links=outside_links,
                         max_files=max_files).files)


def snapshot(root: Path, *, exclude_dirs: Sequence[str] = (),
             outside_links: Sequence[str] = (), max_files: int = MAX_FILES,
             known: Snapshot | None = None) -> Snapshot:
    """The manifest, with each file's status for unchanged() to compare with. A file that
    `known` (an earlier snapshot of this root) saw with the status it has now, settled
    before that walk began, keeps the digest it had then and is not read."""
    started = time.time_ns()
    settled = known.started_ns - RACY_NS if known is not None else 0
    walked: list[str] = []
    reused: dict[str, tuple[str, Identity]] = {}
    unread: list[tuple[str, str]] = []
    for rel, path in _walk(root, exclude_dirs, outside_links):
        walked.append(rel)
        if len(walked) > max_files:
            raise TooManyFiles(f"more than {max_files} files")
        was = known.stats.get(rel) if known is not None else None
        if known is not None and was is not None and rel in known.files \
                and _unwritten(path, was, settled):
            reused[rel] = (known.files[rel], was)
        else:
            unread.append((rel, path))
    read = _read_all(unread)
    files: dict[str, str] = {}
    stats: dict[str, Identity] = {}
    for rel in walked:  # in the walk's order, whichever thread read it
        if (got := reused.get(rel) or read.get(rel)) is not None:
            files[rel], stats[rel] = got
    return Snapshot(files=files, stats=stats, started_ns=started, reused=len(reused))


def _read_all(items: Sequence[tuple[str, str]]) -> dict[str, tuple[str, Identity]]:
    """rel -> _read(path) of each readable one. The tree is hashed before any scanner
    starts, while a second core has nothing to do: this thread takes the files from the
    smallest up, one more from the largest down, until they meet. Reading and hashing a
    large file lets go of the GIL for most of its time; a small one is mostly Python, which
    holds it, so two threads taking files in any order wait on each other and gain nothing.
    djangogirls (709 files, 28 MB): 38 -> 22 ms; paperless-ngx (1,458 files, 103 MB):
    114 -> 62 ms."""
    if len(items) < _THREADED_FROM or priority.cores() < 2:
        return _read_from(collections.deque(items), contextlib.nullcontext(), largest=False)
    by_size = collections.deque(sorted(items, key=_size))
    lock = threading.Lock()
    with workers.pool("tree-hash") as pool:
        helper = pool.submit(_read_from, by_size, lock, largest=True)
        try:
            mine = _read_from(by_size, lock, largest=False)
        except BaseException:  # SIGTERM's Interrupted, say: the helper stops after its file
            with lock:
                by_size.clear()
            raise
        return {**mine, **helper.result()}


def _size(item: tuple[str, str]) -> int:
    try:
        return os.stat(item[1]).st_size
    except OSError:
        return 0  # _read will say it cannot be read


def _read_from(queue: collections.deque[tuple[str, str]], lock: AbstractContextManager[object],
               *, largest: bool) -> dict[str, tuple[str, Identity]]:
    out: dict[str, tuple[str, Identity]] = {}
    while True:
        with lock:
            if not queue:
                return out
            rel, path = queue.pop() if largest else queue.popleft()
        if (got := _read(path)) is not None:
            out[rel] = got


def _unwritten(path: str, was: Identity, settled: int) -> bool:
    """Not written since `was` was taken: the status open() would see now (through a link)
    is `was`, whose ctime is before `settled` (a look's start less RACY_NS)."""
    if was[4] >= settled:
        return False
    try:
        return _identity(os.stat(path)) == was
    except OSError:
        return False


def unchanged(snap: Snapshot, root: Path, *, exclude_dirs: Sequence[str] = (),
              outside_links: Sequence[str] = ()) -> bool:
    """The tree's manifest is still snap.files: the same paths, and each file either still
    has the status it had, from well before the snapshot began, or the same digest."""
    settled = snap.started_ns - RACY_NS
    seen = 0
    for rel, path in _walk(root, exclude_dirs, outside_links):
        was = snap.stats.get(rel)
        if was is not None:
            seen += 1
            if _unwritten(path, was, settled):
                continue  # not written since it was hashed
        got = _read(path)
        if (got[0] if got else None) != snap.files.get(rel):
            return False  # changed, unreadable now, or readable and new
    return seen == len(snap.files)  # else a file went away


def _walk(root: Path, exclude_dirs: Sequence[str], outside_links: Sequence[str]
          ) -> Iterator[tuple[str, str]]:
    """(rel path, path) of each file the scanners may read, directories and links to
    directories left out; whether it is a readable regular file is _read's to say."""
    excluded = frozenset(exclude_dirs)
    leaving = frozenset(outside_links)
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
            yield rel, entry.path


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
