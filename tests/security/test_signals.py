"""SIGTERM, SIGINT and SIGKILL during a real `posture-gate scan`: no scanner outlives it;
and SIGTERM while `gate` writes its reports: the earlier reports stay, whole.

The scanners are fakes on PATH (fault injection: they hang), each leaving a worker in its
process group and printing half a report; one also starts a child in a session of its own,
out of reach of any process-group kill. Every process the run starts carries a marker in
its environment, so /proc tells exactly which of them are still alive.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import cli_argv, cli_env, copy_webapp, scannerless_python

FAKE = """#!{python}
import os, subprocess, sys, time
if "--version" in sys.argv:
    print("{name} 0.0.0"); sys.exit(0)
sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
subprocess.Popen(sleeper)  # a worker in the scanner's process group
if {escape}:
    subprocess.Popen(sleeper, start_new_session=True)  # out of the group's reach
sys.stdout.write('{{"results": [{{"partial": "')
sys.stdout.flush()
time.sleep(600)
"""

SCANNERS = ("bandit", "semgrep", "pip-audit", "trivy")
EARLIER = {"findings.json": '{"earlier": true}\n', "summary.md": "earlier run\n",
           "raw/bandit.json": '{"earlier": "raw"}\n'}


def processes_with(marker: str, *also: str) -> list[int]:
    """Live (non-zombie) processes whose environment holds marker (and each of `also`)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                env = fh.read()
            with open(f"/proc/{name}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if all(m.encode() in env for m in (marker, *also)) and state != "Z":
            found.append(int(name))
    return found


def wait_for(predicate: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    """Poll; the limit only keeps a broken run from hanging the suite."""
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


class Run:
    def __init__(self, tmp: Path, *, escape: bool = False) -> None:
        self.marker = f"PG_SIGNAL_TEST={uuid.uuid4().hex}"
        bindir = tmp / "bin"
        bindir.mkdir()
        for name in SCANNERS:
            fake = bindir / name
            fake.write_text(FAKE.format(python=sys.executable, name=name,
                                        escape=escape and name == "semgrep"))
            fake.chmod(0o755)
        self.tmpdir = tmp / "tmpdir"  # the run's $TMPDIR: must be empty afterwards
        self.tmpdir.mkdir()
        self.out = tmp / "report"
        for rel, text in EARLIER.items():
            (self.out / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.out / rel).write_text(text)
        policy = tmp / "policy.yml"
        policy.write_text("version: 1\nscanners:\n"
                          + "".join(f"  {n}: {{timeout: 600}}\n" for n in SCANNERS)
                          + "gates:\n  code: {max: {high: 0}}\n")
        root = copy_webapp(tmp)
        key, value = self.marker.split("=")
        env = cli_env(PATH=f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin",
                      TMPDIR=str(self.tmpdir), **{key: value})
        self.proc = subprocess.Popen(
            [*cli_argv(scannerless_python(tmp)), "scan", str(root), "--policy", str(policy),
             "-o", str(self.out), "-f", "console,json,markdown,sarif", "-q"],  # no progress
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def scanners(self) -> list[int]:
        """The scanners and what they started: the marker plus this run's token."""
        return processes_with(self.marker, "POSTURE_GATE_RUN=")

    def wait_until_scanning(self, expected: int) -> None:
        def ready() -> bool:
            return len(self.scanners()) >= expected
        wait_for(ready, f"{expected} scanner processes")

    def finish(self) -> tuple[int, str]:
        _, err = self.proc.communicate(timeout=120)
        return self.proc.returncode, err

    def assert_nothing_left(self) -> None:
        # Killed with SIGKILL, they are gone at once; the poll only absorbs the kernel's
        # reaping. A survivor sleeps for ten minutes and fails this.
        wait_for(lambda: not processes_with(self.marker), "every process of the run to die",
                 limit=20)
        assert list(self.tmpdir.iterdir()) == []

    def assert_earlier_reports_intact(self) -> None:
        for rel, text in EARLIER.items():
            assert (self.out / rel).read_text() == text, rel
        files = sorted(p.relative_to(self.out).as_posix() for p in self.out.rglob("*")
                       if p.is_file())
        assert files == sorted(EARLIER)  # no partial stdout, no half-written report


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_kills_every_scanner_and_cleans_up(signum: int, code: int,
                                                  tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.wait_until_scanning(2 * len(SCANNERS))  # each fake and its worker
    run.proc.send_signal(signum)
    rc, err = run.finish()
    assert rc == code, err
    assert err == f"posture-gate: interrupted by {signal.Signals(signum).name}; " \
        "scanners stopped\n"
    run.assert_nothing_left()
    run.assert_earlier_reports_intact()


def test_a_second_signal_does_not_break_the_clean_up(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.wait_until_scanning(2 * len(SCANNERS))
    run.proc.send_signal(signal.SIGTERM)
    run.proc.send_signal(signal.SIGINT)
    rc, err = run.finish()
    # Both may be pending when Python runs its handlers (lowest number first): either wins,
    # the other changes nothing.
    name = {143: "SIGTERM", 130: "SIGINT"}.get(rc)
    assert err == f"posture-gate: interrupted by {name}; scanners stopped\n", (rc, err)
    run.assert_nothing_left()
    run.assert_earlier_reports_intact()


def test_a_child_that_left_the_group_is_killed_too(tmp_path: Path) -> None:
    run = Run(tmp_path, escape=True)
    run.wait_until_scanning(2 * len(SCANNERS) + 1)
    run.proc.send_signal(signal.SIGTERM)
    rc, _ = run.finish()
    assert rc == 143
    run.assert_nothing_left()


def test_no_scanner_outlives_a_sigkilled_posture_gate(tmp_path: Path) -> None:
    """SIGKILL cannot be handled: the watchdog, whose pipe closes with posture-gate, kills
    the groups and the escaped child. (The temp dir cannot be removed in this case.)"""
    run = Run(tmp_path, escape=True)
    run.wait_until_scanning(2 * len(SCANNERS) + 1)
    before = run.scanners()
    run.proc.send_signal(signal.SIGKILL)
    run.finish()
    assert run.proc.returncode == -signal.SIGKILL
    wait_for(lambda: not run.scanners(), "the watchdog to kill every scanner", limit=20)
    assert not set(before) & set(processes_with(run.marker))
    wait_for(lambda: not processes_with(run.marker), "the watchdog to exit", limit=20)
    run.assert_earlier_reports_intact()


def test_a_signal_while_reports_are_written_leaves_the_earlier_ones(tmp_path: Path) -> None:
    """`gate` writing every report of 30k findings (seconds of work, a worker syncing each
    file): stopped once the first temporary file shows, it renames none of them."""
    golden = json.loads((Path(__file__).parent.parent / "reporters" / "golden"
                         / "findings.json").read_text(encoding="utf-8"))
    templates = golden["findings"]
    golden["findings"] = [{**templates[i % len(templates)], "fingerprint": f"{i:064x}"}
                          for i in range(30_000)]
    saved = tmp_path / "findings-in.json"
    saved.write_text(json.dumps(golden), encoding="utf-8")
    out = tmp_path / "report"
    for rel, text in EARLIER.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    proc = subprocess.Popen(
        [*cli_argv(), "gate", str(saved), "-o", str(out), "-q", "-f",
         "json,sarif,gitlab-sast,gitlab-dependency-scanning,junit,html,markdown"],
        env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: any(p.name.endswith(".tmp") for p in out.iterdir()) or
             proc.poll() is not None, "the first report's temporary file")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    for rel, text in EARLIER.items():
        assert (out / rel).read_text() == text, rel
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) \
        == sorted(EARLIER)  # no temporary file left, no report renamed into place
