"""Progress on stderr: started/finished lines in a log, a live line on a terminal, the argv
with -v; the runner reports each job to the installed listener."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from posture_gate import progress
from posture_gate.model import RunStatus, ScannerRun
from posture_gate.progress import StderrProgress
from posture_gate.runner import run_all
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import Job, ScanContext

JOB = Job(name="bandit", scanner="bandit", argv=("bandit", "-r", ".", "-x", "a b"))
OK = ScannerRun(name="bandit", scanner="bandit", status=RunStatus.OK, raw_count=16,
                duration_s=3.25)
FAILED = ScannerRun(name="semgrep", scanner="semgrep", status=RunStatus.FAILED,
                    reason="exited with code 7:\x1b[31m bad\nconfig", duration_s=1.0)


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_plain_lines_for_a_log() -> None:
    out = io.StringIO()
    p = StderrProgress(out)
    p.started(JOB)
    p.started(Job(name="semgrep", scanner="semgrep", argv=("semgrep",)))
    p.finished(JOB, OK)
    p.finished(Job(name="semgrep", scanner="semgrep", argv=("semgrep",)), FAILED)
    p.note("not scanned: .venv2 (a virtualenv: it holds a pyvenv.cfg)")
    p.close()
    assert out.getvalue() == (
        "posture-gate: bandit started\n"
        "posture-gate: semgrep started\n"
        "posture-gate: bandit 16 finding(s) in 3.2s\n"
        "posture-gate: semgrep failed after 1.0s: exited with code 7: bad config\n"
        "posture-gate: not scanned: .venv2 (a virtualenv: it holds a pyvenv.cfg)\n")


def test_verbose_shows_the_argv_quoted() -> None:
    out = io.StringIO()
    p = StderrProgress(out, verbose=True)
    p.started(JOB)
    assert out.getvalue() == "posture-gate: bandit started: bandit -r . -x 'a b'\n"


def test_live_line_on_a_terminal() -> None:
    out = io.StringIO()
    clock = _Clock()
    p = StderrProgress(out, live=True, clock=clock, tick_s=3600)
    p.started(JOB)
    clock.t += 12
    p.finished(JOB, OK)
    p.close()
    assert out.getvalue() == (
        "\r\x1b[Kposture-gate: running bandit 0s (0 done)"
        "\r\x1b[Kposture-gate: bandit 16 finding(s) in 3.2s\n")  # nothing left to clear


def test_the_runner_reports_each_job(tmp_path: Path) -> None:
    events: list[str] = []

    class Listener:
        def started(self, job: Job) -> None:
            events.append(f"start {job.name}")

        def finished(self, job: Job, run: ScannerRun) -> None:
            events.append(f"end {job.name} {run.status.value}")

        def note(self, text: str) -> None:
            events.append(text)

    job = Job(name="bandit", scanner="bandit", argv=("no-such-scanner-posture-gate",))
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path)
    with progress.listening(Listener()):
        (outcome,) = run_all([(SCANNERS["bandit"], job)], ctx, tmp_path / "out")
    assert outcome.run.status is RunStatus.FAILED
    assert events == ["start bandit", "end bandit failed"]
    run_all([(SCANNERS["bandit"], job)], ctx, tmp_path / "out")  # no listener: silent
    assert len(events) == 2


def test_a_stored_result_is_said_to_be_one() -> None:
    out = io.StringIO()
    p = StderrProgress(out)
    p.finished(JOB, replace(OK, cache="hit"))
    p.finished(JOB, replace(OK, cache="partial"))
    assert out.getvalue() == (
        "posture-gate: bandit 16 finding(s) in 3.2s (stored result reused)\n"
        "posture-gate: bandit 16 finding(s) in 3.2s (changed files re-scanned)\n")


def test_an_interrupted_live_line_is_cleared() -> None:
    out = io.StringIO()
    p = StderrProgress(out, live=True, clock=_Clock(), tick_s=3600)
    p.started(JOB)
    p.close()
    assert out.getvalue().endswith("(0 done)\r\x1b[K")
