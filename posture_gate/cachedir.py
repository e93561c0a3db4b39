"""Where posture-gate keeps what it may reuse between runs, and where it must not.

The cache root holds one folder per kind of entry (`advisories/`: advisory indexes). It is
never inside the scanned tree: the code under review could plant entries there, and the
scanners would scan our own cache.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def default_root() -> Path | None:
    """`$XDG_CACHE_HOME/posture-gate`, else `~/.cache/posture-gate`; None without a home.

    A relative XDG_CACHE_HOME is ignored, as the XDG spec says: it would depend on the
    working directory, which may be the scanned tree."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "posture-gate"
    try:
        return Path.home() / ".cache" / "posture-gate"
    except RuntimeError:  # no HOME and no passwd entry
        return None


def usable(cache_root: Path | None, scanned_root: Path, kind: str) -> Path | None:
    """`cache_root/kind`, or None (no persistent cache) when it would lie inside the
    scanned tree, symlinks resolved."""
    if cache_root is None:
        return None
    folder = (cache_root / kind).resolve()
    scanned = scanned_root.resolve()
    if folder == scanned or scanned in folder.parents:
        return None
    return folder


def private_dir(base: Path, *parts: str) -> Path | None:
    """base/parts as real directories of mode 0700 (made if missing); None when one of
    them is a link or not a directory: the cache is then not used."""
    path = base
    for part in (None, *parts):
        if part is not None:
            path = path / part
        try:
            path.mkdir(mode=0o700, parents=part is None, exist_ok=True)
            st = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISDIR(st.st_mode):
            return None
        if stat.S_IMODE(st.st_mode) != 0o700 and st.st_uid == os.getuid():
            with contextlib.suppress(OSError):
                os.chmod(path, 0o700)
    return path


def write_private(path: Path, data: bytes) -> None:
    """A new 0600 file renamed over `path` (a link there is replaced, never followed)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


STALE_TMP_S = 3600  # a temp file this old belongs to a writer that was killed


def prune(folder: Path, *, keep: str, most: int, is_entry: Callable[[str], bool],
          is_temp: Callable[[str], bool]) -> None:
    """At most `most` entries in `folder` (the least recently used go first; `keep`, the one
    just used, always stays) and no temp file abandoned by a killed writer. Never follows a
    link; a file that vanished meanwhile is no error (another run may prune too)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    found = []
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if is_entry(entry.name) and entry.name != keep:
            found.append((st.st_mtime, entry.path))
        elif is_temp(entry.name) and now - st.st_mtime > STALE_TMP_S:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
    for _, path in sorted(found, reverse=True)[most - 1:]:
        with contextlib.suppress(OSError):
            os.unlink(path)
