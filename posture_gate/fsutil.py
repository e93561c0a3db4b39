"""Files posture-gate writes and reads: atomic, never through a symlink, umask respected, capped.

The output directory often lies inside the scanned tree, which may hold planted symlinks
(`posture-gate-report/raw -> /elsewhere`, `findings.json -> ~/.bashrc`): a write replaces a
link by a regular file or directory, it never writes through one.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path

from .errors import InputError, UsageError
from .workers import held_signals, pool


def _read_umask() -> int:
    # os.umask() can only be read by setting it; done once at import, before any thread runs,
    # so no other thread ever creates a file under a temporary umask of 0.
    old = os.umask(0o022)
    os.umask(old)
    return old


UMASK = _read_umask()
FILE_MODE = 0o666 & ~UMASK
MAX_POLICY_FILE = 1 << 20  # a policy is a page of YAML
MAX_FINDINGS_FILE = 512 << 20  # findings.json / baseline: far more findings than any run
_READ_CHUNK = 1 << 16  # read_capped, for a file that states no size (a pipe, /dev/zero)


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {human_size(limit)}")
        self.limit = limit


def human_size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def ensure_dir(base: Path, *parts: str) -> Path:
    """base/parts..., each part a real directory: a symlink (or file) there is removed and
    replaced by a directory. `base` itself is the caller's (see check_output_dir)."""
    path = base
    path.mkdir(parents=True, exist_ok=True)
    for part in parts:
        path = path / part
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            path.unlink()  # a link or a planted file: replaced, never followed
            st = None
        if st is None:
            try:
                path.mkdir()
            except FileExistsError:  # another thread made it meanwhile
                if not stat.S_ISDIR(os.lstat(path).st_mode):
                    raise
    return path


Chunks = Iterable[str | bytes]


def write_atomic(path: Path, data: str | bytes | Chunks, *, base: Path | None = None) -> None:
    """Write a new file and rename it over `path`: a reader never sees half a report, a
    failure never truncates one, and a symlink at `path` is replaced, not followed.
    `data` may come in chunks (str as UTF-8), written as they come: a large report need
    never be one string.

    With `base`, every directory between base and path is made a real directory first
    (ensure_dir); the file gets the mode the process umask allows (0666 & ~umask)."""
    tmp = _write_temp(path, data, base)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_temp(path: Path, data: str | bytes | Chunks, base: Path | None = None,
                *, sync: bool = True) -> str:
    """The new file, complete (and, with `sync`, synced), beside `path` under a temporary
    name."""
    if base is not None:
        rel = path.parent.relative_to(base)
        ensure_dir(base, *rel.parts)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)  # mkstemp makes 0600 whatever the umask
            for chunk in (data,) if isinstance(data, (str, bytes)) else data:
                fh.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _sync(tmp: str) -> None:
    """fsync a file _write_temp made (the data, whichever descriptor wrote it)."""
    fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicBatch:
    """Several files, each written as write_atomic writes one, renamed into place only once
    every one is complete: a failure while writing any (a reporter raising midway through
    its chunks) leaves all the old files as they were.

        with AtomicBatch() as batch:
            batch.write(out / "a.json", chunks)
    """

    def __init__(self) -> None:
        self._written: list[tuple[str, Path]] = []
        # Each file is synced by a worker while the next is made (fsync waits for the
        # disk, not the GIL); every sync has succeeded before the first rename.
        self._syncer = pool("fsync")
        self._synced: list[Future[None]] = []

    def write(self, path: Path, data: str | bytes | Chunks, *, base: Path | None = None) -> None:
        tmp = _write_temp(path, data, base, sync=False)
        self._written.append((tmp, path))
        self._synced.append(self._syncer.submit(_sync, tmp))

    def __enter__(self) -> AtomicBatch:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._syncer.shutdown(wait=True)  # every sync ended, whatever happened
            for synced in self._synced if exc_type is None else ():
                synced.result()  # a failed fsync renames nothing
            with held_signals():  # the renames are all or none: a signal waits for them
                while exc_type is None and self._written:
                    tmp, path = self._written[0]
                    os.replace(tmp, path)
                    self._written.pop(0)
        finally:
            for tmp, _ in self._written:
                Path(tmp).unlink(missing_ok=True)
            self._written.clear()


def read_capped(path: Path, limit: int) -> bytes:
    """At most `limit` bytes of path; TooLarge beyond (also for /dev/zero or a pipe, which
    have no size to ask for first).

    Reads ask for the size the file states, plus one byte to see it end, not for the limit:
    a buffered read(limit + 1) allocates the whole limit each time, which doubled the cost
    of hashing 2,661 advisory records (0.10 -> 0.05 s). What the file says is not trusted:
    a file that grows, or states no size, is read on in chunks up to the limit."""
    with open(path, "rb", buffering=0) as fh:
        want = min(limit + 1, max(os.fstat(fh.fileno()).st_size + 1, _READ_CHUNK))
        parts: list[bytes] = []
        total = 0
        while total <= limit and (data := fh.read(min(want, limit + 1 - total))):
            parts.append(data)
            total += len(data)
    if total > limit:
        raise TooLarge(limit)
    return b"".join(parts)  # one part (the usual case) is returned as it is, not copied


def read_input_bytes(path: Path, limit: int, what: str) -> bytes:
    """A saved findings.json or baseline: InputError for anything unreadable. Left as
    bytes: strictjson.load_bytes decodes them, and checks the bytes for what a str would
    cost more to search."""
    try:
        return read_capped(path, limit)
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except TooLarge as exc:
        raise InputError(f"{path}: {what} is {exc} (the limit)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None


def check_output_dir(out_dir: Path, root: Path) -> None:
    """Refuse an output directory reached through a symlink that lies inside the scanned
    tree: the tree is the attacker's, and `-o posture-gate-report` is usually inside it."""
    root = root.resolve()
    absolute = Path(os.path.abspath(out_dir))
    probe = Path(absolute.anchor)
    for part in absolute.parts[1:]:
        probe = probe / part
        if probe.is_symlink():
            try:
                probe.parent.resolve().relative_to(root)
            except ValueError:
                continue  # a link outside the tree was set up by the CI owner: trusted
            raise UsageError(f"--output-dir: {out_dir}: {probe} is a symlink inside the "
                             "scanned tree; refusing to write through it",
                             "remove it or choose another output directory")
