"""CPU priority of a started scanner: the runner lowers every job but the one expected to
take longest, so on a runner with fewer free cores than jobs the scan ends sooner."""

from __future__ import annotations

import os


def cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def lower(pid: int, by: int) -> None:
    """Set after the start, on the new session's process group (not in preexec_fn, which is
    unsafe in a threaded program): a child it forked in the meantime is lowered too.

    Linux with autogroup scheduling (the default on most distributions) shares the CPU
    between sessions first and applies a process's nice value only inside its session, and
    every job starts one (start_new_session): the session's own nice value, in
    /proc/PID/autogroup, is the one that counts between jobs."""
    level = os.getpriority(os.PRIO_PROCESS, 0) + by
    try:
        os.setpriority(os.PRIO_PGRP, pid, level)
    except OSError:  # already gone, or a platform without it: a scheduling hint only
        return
    try:
        with open(f"/proc/{pid}/autogroup", "w", encoding="ascii") as fh:
            fh.write(str(min(level, 19)))
    except OSError:  # no autogroup here (or it exited): the nice value above is what counts
        pass
