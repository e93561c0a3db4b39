"""The one subprocess helper: argv list (never a shell), timeout, capped capture, and no
child that outlives posture-gate.

Each scanner runs in its own process group (it forks workers: semgrep-core, pip's
resolver) so that one killpg stops all of it. Three things see that the groups die:
- run() kills the group after the scanner exits, times out or prints too much;
- kill_all(), called from the SIGTERM/SIGINT handler, kills every live group at once;
- a watchdog process, started with the first scanner, holds the read end of a pipe whose
  write end only posture-gate holds. When posture-gate dies in any way (SIGKILL included)
  the pipe closes and the watchdog kills every group still registered and every process
  whose environment carries this run's token (children that left their group).
  PR_SET_PDEATHSIG is not used: it fires on the death of the spawning *thread*, and the
  preexec_fn it would need is unsafe in a threaded program.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from . import priority, toolpath

STDERR_TAIL = 4000  # characters of stderr kept for error messages
MAX_OUTPUT = 256 << 20  # bytes of stdout per scanner; five at once stay far below memory
CHUNK = 1 << 20
TOKEN_VAR = "POSTURE_GATE_RUN"  # noqa: S105 - a name, not a secret; in every scanner's environment, for the watchdog


class NotFound(Exception):
    """The executable is not on PATH (nor beside the running interpreter)."""


class TimedOut(Exception):
    def __init__(self, seconds: float, stderr_tail: str) -> None:
        super().__init__(f"timed out after {seconds:g}s")
        self.seconds = seconds
        self.stderr_tail = stderr_tail


class TooMuchOutput(Exception):
    def __init__(self, limit: int, stderr_tail: str) -> None:
        super().__init__(f"printed more than {limit} bytes")
        self.limit = limit
        self.stderr_tail = stderr_tail


class Cancelled(Exception):
    """kill_all() ran (posture-gate is being stopped): no result from this process."""


class Interrupted(BaseException):
    """SIGTERM or SIGINT: not an error of the scan; the CLI exits 128 + signum.

    A BaseException like KeyboardInterrupt, so that no `except Exception` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass(frozen=True, kw_only=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout_path: Path
    stdout_size: int
    stderr_tail: str
    duration_s: float


# --- process groups and the watchdog -------------------------------------------------

_groups: set[int] = set()
_cancelled = False
_interrupted = False  # a SIGTERM/SIGINT arrived: set once, for the life of the process
_watchdog_lock = threading.Lock()
_watchdog: subprocess.Popen[bytes] | None = None
_watchdog_fd: int | None = None
_token = secrets.token_hex(16)

# Runs with `python -I -S`: no site, no imports of posture-gate, stdin is the pipe.
_WATCHDOG = r"""
import os, signal, sys
token = ("{var}=" + sys.argv[1]).encode()
groups = set()
for line in sys.stdin.buffer:
    op, _, pgid = line.strip().partition(b" ")
    if op == b"+":
        groups.add(int(pgid))
    elif op == b"-":
        groups.discard(int(pgid))
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
me = os.getpid()
for _ in range(20):
    found = False
    for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open("/proc/" + name + "/environ", "rb") as fh:
                env = fh.read().split(b"\0")
        except OSError:
            continue
        if token in env:
            found = True
            try:
                os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass
    if not found:
        break
""".replace("{var}", TOKEN_VAR)


def _tell_watchdog(line: str) -> None:
    fd = _watchdog_fd
    if fd is None:
        return
    with contextlib.suppress(OSError):  # the watchdog is gone; run() and kill_all() still
        os.write(fd, line.encode())       # kill the groups


def _start_watchdog() -> None:
    global _watchdog, _watchdog_fd
    with _watchdog_lock:
        if _watchdog is not None:
            return
        rfd, wfd = os.pipe()  # both close-on-exec: no scanner inherits the write end
        try:
            # Its own session: a signal to posture-gate's process group does not reach it.
            _watchdog = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WATCHDOG, _token], stdin=rfd,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        finally:
            os.close(rfd)
        _watchdog_fd = wfd


def stop_watchdog() -> None:
    """Close our end of the pipe and reap the watchdog (it exits on EOF)."""
    global _watchdog, _watchdog_fd
    with _watchdog_lock:
        fd, dog = _watchdog_fd, _watchdog
        _watchdog_fd = _watchdog = None
    if fd is not None:
        os.close(fd)
    if dog is not None:
        try:
            dog.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - it only kills and exits
            dog.kill()


def kill_all() -> None:
    """Kill every scanner's process group now; run() then raises Cancelled. Async-signal
    friendly: no lock is taken (the signal handler runs on the main thread)."""
    global _cancelled
    _cancelled = True  # set before reading the set: see _register
    for pgid in list(_groups):
        _killpg(pgid)


def resume() -> None:
    """Allow new processes again after kill_all() stopped one batch, unless a signal asked
    for it: then the process is on its way out."""
    global _cancelled
    if not _interrupted:
        _cancelled = False


def _register(pgid: int) -> None:
    _groups.add(pgid)
    _tell_watchdog(f"+ {pgid}\n")
    if _cancelled:  # kill_all ran between our Popen and the add: kill it ourselves
        _killpg(pgid)


def _unregister(pgid: int) -> None:
    _killpg(pgid)  # whatever the scanner left behind in its group dies with it
    _groups.discard(pgid)
    _tell_watchdog(f"- {pgid}\n")


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _signal_handler(signum: int, _frame: object) -> None:
    global _interrupted
    if _interrupted:
        return  # later signals must not interrupt the clean-up the first one started
    _interrupted = True
    kill_all()
    raise Interrupted(signum)


def install_signal_handlers() -> dict[int, object] | None:
    """SIGTERM and SIGINT kill the scanners and raise Interrupted on the main thread.
    Returns the previous handlers (None off the main thread, where Python cannot)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous: dict[int, object] = {}
    for s in (signal.SIGTERM, signal.SIGINT):
        previous[s] = signal.signal(s, _signal_handler)
    return previous


def restore_signal_handlers(previous: dict[int, object] | None) -> None:
    """Put the previous handlers back; after an interruption, ignore both signals instead:
    the process is exiting, and a default handler would cut its clean-up short.
    (SIG_IGN is not set from the handler itself: CPython then reports a signal still pending
    as "ignored due to race condition" on stderr.)"""
    for s, handler in (previous or {}).items():
        signal.signal(s, signal.SIG_IGN if _interrupted else handler)  # type: ignore[arg-type]


# --- running one process ----------------------------------------------------------------

def _open_private(path: Path) -> int:
    # A new file only (O_EXCL), never through a symlink, readable by us alone.
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                   0o600)


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    stdout_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    max_output: int = MAX_OUTPUT,
    nice: int = 0,
) -> Completed:
    """Run argv with stdout to a new file (outputs can be large) and stderr captured.
    `nice` > 0 lowers its CPU priority (and its process group's) by that much.

    Raises NotFound when argv[0] cannot be found, TimedOut after `timeout` seconds,
    TooMuchOutput past `max_output` bytes of stdout (the process is killed at once), and
    Cancelled when kill_all() stopped it.
    """
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be finite and > 0, not {timeout}")
    exe = toolpath.which(argv[0]) if os.sep not in argv[0] else argv[0]
    if exe is None or not Path(exe).exists():
        raise NotFound(argv[0])
    if _cancelled:
        raise Cancelled()
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    full_env[TOKEN_VAR] = _token
    if stdout_path is None:
        fd, name = tempfile.mkstemp(prefix="pg-stdout-")
        stdout_path = Path(name)
    else:
        fd = _open_private(stdout_path)
    _start_watchdog()
    started = time.monotonic()
    deadline = started + timeout
    with os.fdopen(fd, "wb") as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                [exe, *argv[1:]], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=err, env=full_env, start_new_session=True)
        except PermissionError as exc:
            raise NotFound(f"{argv[0]} ({exc.strerror})") from None
        _register(proc.pid)
        if nice > 0:
            priority.lower(proc.pid, nice)
        stdout = proc.stdout
        if stdout is None:  # pragma: no cover - stdout=PIPE always sets it
            raise RuntimeError("no stdout pipe")
        try:
            size = _copy(proc, stdout, out, deadline, max_output)
            if size > max_output:
                raise TooMuchOutput(max_output, _tail(err))
            if size < 0:
                raise TimedOut(timeout, _tail(err))
            try:
                rc = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise TimedOut(timeout, _tail(err)) from None
            if _cancelled:
                raise Cancelled()
            tail = _tail(err)
        finally:
            _unregister(proc.pid)
            stdout.close()
            proc.wait()
        size = out.tell()
    return Completed(
        argv=tuple(argv),
        returncode=rc,
        stdout_path=stdout_path,
        stdout_size=size,
        stderr_tail=tail,
        duration_s=time.monotonic() - started,
    )


def _copy(proc: subprocess.Popen[bytes], src: IO[bytes], out: IO[bytes], deadline: float,
          limit: int) -> int:
    """Copy stdout to `out` until EOF: bytes copied, limit + 1 when over the limit, or -1
    at the deadline. Over the limit or late, the group is killed before returning."""
    size = 0
    idle_after_exit = 0
    poller = select.poll()
    poller.register(src, select.POLLIN | select.POLLHUP)
    while not _cancelled:
        left = deadline - time.monotonic()
        if left <= 0:
            _killpg(proc.pid)
            return -1
        if not poller.poll(min(left, 0.5) * 1000):
            if proc.poll() is not None:
                # The scanner exited but something it started holds stdout open: kill its
                # group so that the pipe reaches EOF now, not at the deadline; a process
                # that left the group (the watchdog's token finds it at exit) is not waited
                # for beyond a few idle polls.
                _killpg(proc.pid)
                idle_after_exit += 1
                if idle_after_exit > 4:
                    return size
            continue
        chunk = os.read(src.fileno(), CHUNK)
        if not chunk:
            return size
        if size + len(chunk) > limit:
            _killpg(proc.pid)
            return limit + 1
        out.write(chunk)
        size += len(chunk)
    return size  # cancelled: run() raises Cancelled


def _tail(fh: IO[bytes]) -> str:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - STDERR_TAIL * 4))
    data: bytes = fh.read()
    return data.decode("utf-8", "replace")[-STDERR_TAIL:]


def capture(argv: Sequence[str], *, timeout: float = 30.0) -> str:
    """Small commands (`--version`): stdout+stderr as text. Raises NotFound / TimedOut, and
    Cancelled when kill_all() stopped it (its own group, registered like a scanner's)."""
    exe = toolpath.which(argv[0])
    if exe is None:
        raise NotFound(argv[0])
    if _cancelled:
        raise Cancelled()
    _start_watchdog()
    child = subprocess.Popen(
        [exe, *argv[1:]], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0", "PYTHONSAFEPATH": "1",
             TOKEN_VAR: _token})
    _register(child.pid)
    try:
        out, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimedOut(timeout, "") from None
    finally:
        _unregister(child.pid)
        child.communicate()
    if _cancelled:
        raise Cancelled()
    return out.decode("utf-8", "replace")
