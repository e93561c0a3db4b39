"""Dedup's reading of the flagged files, done while the last scanners still run.

After every scanner ends, dedup (merge.py) parses each Python file two code scanners both
flagged (statements.py), on the scan's path to its verdict: 0.24 s of yt-dlp's 0.48 s after
its last scanner. Once one code scanner has ended and another still runs, the files the
first flagged are the only ones dedup can need, so they are parsed then, on the main thread
(which would only wait), and only while fewer jobs run than there are cores: the parse
takes a core the scanners leave idle, never one the last of them could use. It stops as
the last job ends; dedup parses whatever is left, as before. The same index is read, so
the reads are dedup's own (inside the root, capped, never through a link out of it).

Files one scanner flagged are more than those two scanners flagged, and a parsed file is
held until dedup ends (about 7 times its size: yt-dlp's 53 files flagged by semgrep, 1.2 MB,
are 8.6 MB parsed), so reading ahead stops at AHEAD_BYTES of source."""

from __future__ import annotations

from . import priority
from .model import Category
from .runner import Running
from .statements import StatementIndex

AHEAD_BYTES = 8 << 20


def parse_ahead(spans: StatementIndex, running: Running, cores: int | None = None) -> int:
    """Parse, into `spans`, the .py files of the code findings of the jobs that have ended,
    while a code scanner still runs on fewer jobs than `cores`. Returns the files parsed."""
    cores = cores or priority.cores()
    parsed: set[str] = set()
    while True:
        left = running.still_running()
        if not any(Category.CODE in s.job_categories(j) for s, j in left):
            return len(parsed)
        todo = list(dict.fromkeys(
            f.location.path for o in running.ended() for f in o.findings
            if f.category is Category.CODE and f.location is not None
            and f.location.path.endswith(".py") and f.location.path not in parsed))
        if not todo or len(left) >= cores:
            running.wait()
            continue
        for path in todo:
            if spans.bytes_read >= AHEAD_BYTES:
                return len(parsed)
            if len(running.still_running()) != len(left):
                break  # a job ended: look again (the last one may have)
            parsed.add(path)
            spans.load(path)
