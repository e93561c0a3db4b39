"""The one subprocess helper: argv list (never a shell), timeout, capped capture."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

STDERR_TAIL = 4000  # characters of stderr kept for error messages


class NotFound(Exception):
    """The executable is not on PATH (nor beside the running interpreter)."""


class TimedOut(Exception):
    def __init__(self, seconds: float, stderr_tail: str) -> None:
        super().__init__(f"timed out after {seconds:g}s")
        self.seconds = seconds
        self.stderr_tail = stderr_tail


@dataclass(frozen=True, kw_only=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout_path: Path
    stdout_size: int
    stderr_tail: str
    duration_s: float


def which(name: str) -> str | None:
    """PATH only, like every CI tool: what runs is what the job's PATH says."""
    return shutil.which(name)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # Scanners fork workers (semgrep-core, pip's resolver): kill the whole group.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    stdout_path: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Completed:
    """Run argv with stdout to a file (outputs can be large) and stderr captured.

    Raises NotFound when argv[0] cannot be found, TimedOut after `timeout` seconds.
    """
    exe = which(argv[0]) if os.sep not in argv[0] else argv[0]
    if exe is None or not Path(exe).exists():
        raise NotFound(argv[0])
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    if stdout_path is None:
        fd, name = tempfile.mkstemp(prefix="pg-stdout-")
        os.close(fd)
        stdout_path = Path(name)
    started = time.monotonic()
    with open(stdout_path, "wb") as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                [exe, *argv[1:]],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=full_env,
                start_new_session=True,
            )
        except PermissionError as exc:
            raise NotFound(f"{argv[0]} ({exc.strerror})") from exc
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.wait()
            raise TimedOut(timeout, _tail(err)) from None
        finally:
            if proc.poll() is None:  # pragma: no cover - interrupted
                _kill_group(proc)
        tail = _tail(err)
    return Completed(
        argv=tuple(argv),
        returncode=rc,
        stdout_path=stdout_path,
        stdout_size=stdout_path.stat().st_size,
        stderr_tail=tail,
        duration_s=time.monotonic() - started,
    )


def _tail(fh: IO[bytes]) -> str:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - STDERR_TAIL * 4))
    data: bytes = fh.read()
    return data.decode("utf-8", "replace")[-STDERR_TAIL:]


def capture(argv: Sequence[str], *, timeout: float = 30.0) -> str:
    """Small commands (`--version`): stdout+stderr as text. Raises NotFound / TimedOut."""
    exe = which(argv[0])
    if exe is None:
        raise NotFound(argv[0])
    try:
        done = subprocess.run(
            [exe, *argv[1:]],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0"},
        )
    except subprocess.TimeoutExpired:
        raise TimedOut(timeout, "") from None
    return (done.stdout + done.stderr).decode("utf-8", "replace")
