"""Progress on stderr while the scanners run: each one started and finished, with its count
and time; `-v` adds the argv of every run.

The runner reports to whichever listener the command installed (`listening`); with none,
nothing is printed (library use, tests, `-q`). Listeners are called from the runner's
threads, so they lock. On a terminal a live line shows what is still running; in a CI log
(not a TTY) every event is one plain line. Everything goes to stderr: stdout carries only
the report (`-o -` pipes it).
"""

from __future__ import annotations

import contextlib
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol, TextIO

from .model import RunStatus, ScannerRun
from .scanners.base import Job
from .textutil import one_line

PREFIX = "posture-gate: "


class Listener(Protocol):
    def started(self, job: Job) -> None: ...

    def finished(self, job: Job, run: ScannerRun) -> None: ...

    def note(self, text: str) -> None: ...


_current: Listener | None = None
_lock = threading.Lock()


@contextlib.contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    global _current
    with _lock:
        before, _current = _current, listener
    try:
        yield
    finally:
        close = getattr(listener, "close", None)
        if callable(close):
            close()
        with _lock:
            _current = before


def job_started(job: Job) -> None:
    if _current is not None:
        _current.started(job)


def job_finished(job: Job, run: ScannerRun) -> None:
    if _current is not None:
        _current.finished(job, run)


def note(text: str) -> None:
    if _current is not None:
        _current.note(text)


def _outcome(run: ScannerRun) -> str:
    took = f"{run.duration_s:.1f}s"
    if run.status is RunStatus.OK:
        cached = {"hit": " (stored result reused)", "partial": " (changed files re-scanned)"}
        return f"{run.raw_count} finding(s) in {took}{cached.get(run.cache or '', '')}"
    optional = "" if run.required else " (optional)"
    return f"{run.status.value}{optional} after {took}: {one_line(run.reason or '', 200)}"


class StderrProgress:
    """`live`: one self-updating line on a terminal; else plain lines for a log."""

    def __init__(self, stream: TextIO, *, live: bool = False, verbose: bool = False,
                 clock: Callable[[], float] = time.monotonic, tick_s: float = 1.0) -> None:
        self.stream = stream
        self.live = live
        self.verbose = verbose
        self.clock = clock
        self.running: dict[str, float] = {}
        self.done = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ticker: threading.Thread | None = None
        self.tick_s = tick_s

    def _write(self, line: str) -> None:
        # called with the lock held; a live line is cleared first and redrawn after
        clear = "\r\x1b[K" if self.live else ""
        self.stream.write(f"{clear}{PREFIX}{line}\n")
        self._redraw()

    def _redraw(self) -> None:
        if self.live and self.running:
            now = self.clock()
            names = ", ".join(f"{one_line(n, 40)} {now - t:.0f}s"
                              for n, t in self.running.items())
            self.stream.write(f"\r\x1b[K{PREFIX}running {names} ({self.done} done)")
        self.stream.flush()

    def started(self, job: Job) -> None:
        with self.lock:
            self.running[job.name] = self.clock()
            if self.verbose:
                self._write(f"{one_line(job.name, 80)} started: "
                            f"{one_line(shlex.join(job.argv), 4000)}")
            elif not self.live:
                self._write(f"{one_line(job.name, 80)} started")
            else:
                self._redraw()
            if self.live and self.ticker is None:
                self.ticker = threading.Thread(target=self._tick, daemon=True)
                self.ticker.start()

    def finished(self, job: Job, run: ScannerRun) -> None:
        with self.lock:
            self.running.pop(job.name, None)
            self.done += 1
            self._write(f"{one_line(job.name, 80)} {_outcome(run)}")

    def note(self, text: str) -> None:
        with self.lock:
            self._write(one_line(text, 300))

    def _tick(self) -> None:
        while not self.stop.wait(self.tick_s):
            with self.lock:
                self._redraw()

    def close(self) -> None:
        self.stop.set()
        if self.ticker is not None:
            self.ticker.join()
        with self.lock:
            if self.live and self.running:  # the live line is still on screen
                self.stream.write("\r\x1b[K")
                self.stream.flush()
