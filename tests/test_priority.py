"""Scheduling: the job expected to take longest keeps full CPU priority, the others do not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from posture_gate import proc
from posture_gate.runner import BACKGROUND_NICE, launch_order, run_all
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import Job, ScanContext
from tests.support.probe import Probe

# Waits before it looks: the priority is set just after the process starts.
REPORT = ("import json, os, time; time.sleep(1.0); "
          "ag = open('/proc/self/autogroup').read() if os.path.exists('/proc/self/autogroup') "
          "else ''; print(json.dumps({'nice': os.getpriority(os.PRIO_PROCESS, 0), "
          "'autogroup': ag.split()[-1] if ag else None}))")


def _own_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)


def _seen(out: Path) -> dict[str, int | None]:
    doc = json.loads(out.read_text())
    return {"nice": doc["nice"],
            "autogroup": None if doc["autogroup"] is None else int(doc["autogroup"])}


def test_a_lowered_job_runs_lower_in_its_session(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc.run([sys.executable, "-c", REPORT], cwd=tmp_path, timeout=60, stdout_path=out,
             nice=7)
    seen = _seen(out)
    assert seen["nice"] == min(_own_nice() + 7, 19)
    # its own session's autogroup is what the kernel weighs against the other jobs
    if seen["autogroup"] is not None and not _autogroup_settable():
        pytest.skip("this kernel does not let a process set a session's autogroup nice")
    assert seen["autogroup"] in (None, min(_own_nice() + 7, 19))


def _autogroup_settable() -> bool:
    """Whether this machine lets us set a session's autogroup nice value at all (a
    container may not): priority.lower then falls back to the plain nice value."""
    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        with open(f"/proc/{child.pid}/autogroup", "w", encoding="ascii") as fh:
            fh.write("1")
        return True
    except OSError:
        return False
    finally:
        child.kill()
        child.wait()


def test_a_job_left_alone_keeps_its_priority(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc.run([sys.executable, "-c", REPORT], cwd=tmp_path, timeout=60, stdout_path=out)
    assert _seen(out)["nice"] == _own_nice()


class _Slow(Probe):
    name = "slow"
    cost = 9


class _Quick(Probe):
    name = "quick"
    cost = 1


def test_run_all_lowers_every_job_but_the_first_in_launch_order(tmp_path: Path) -> None:
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path)
    jobs = [(scanner, Job(name=f"{scanner.name}-{i}", scanner=scanner.name,
                          argv=(sys.executable, "-c", REPORT), timeout=60))
            for i, scanner in enumerate((_Quick(), _Slow(), _Quick()))]
    ordered = launch_order(jobs)
    assert [j.name for _, j in ordered] == ["slow-1", "quick-0", "quick-2"]
    done = run_all(ordered, ctx, tmp_path / "staged")
    nice = [o.run.properties["nice"] for o in done]
    low = min(_own_nice() + BACKGROUND_NICE, 19)
    assert nice == [_own_nice(), low, low], [o.run.reason for o in done]


def test_the_lead_is_trivy_among_the_bundled_scanners() -> None:
    planned = [(SCANNERS[n], Job(name=n, scanner=n, argv=(n,)))
               for n in ("pip-audit", "bandit", "semgrep", "trivy", "zizmor")]
    assert [j.name for _, j in launch_order(planned)] == \
        ["trivy", "bandit", "semgrep", "pip-audit", "zizmor"]  # ties keep the given order
