"""proc.run: timeouts, the output cap, private stdout files, and no child that outlives us.

Children are small Python programs started by the real proc.run (fault injection: hang,
flood, leave a grandchild behind); liveness is read from /proc, never from a sleep.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from posture_gate import proc

PY = sys.executable


def alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(predicate, what: str, limit: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Poll until predicate() holds; the limit only keeps a broken test from hanging."""
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def script(tmp: Path, body: str) -> list[str]:
    path = tmp / "child.py"
    path.write_text(textwrap.dedent(body))
    return [PY, str(path)]


def test_stdout_goes_to_the_file_and_stderr_tail_is_kept(tmp_path: Path) -> None:
    argv = script(tmp_path, """
        import sys
        sys.stdout.write("x" * 3_000_000)
        sys.stderr.write("last words\\n")
        sys.exit(3)
    """)
    out = tmp_path / "out.stdout"
    done = proc.run(argv, cwd=tmp_path, timeout=60, stdout_path=out)
    assert done.returncode == 3
    assert done.stdout_size == 3_000_000 == out.stat().st_size
    assert done.stderr_tail.strip() == "last words"
    assert out.stat().st_mode & 0o777 == 0o600


def test_output_past_the_cap_kills_the_scanner(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    argv = script(tmp_path, f"""
        import os, sys
        open({str(pidfile)!r}, "w").write(str(os.getpid()))
        while True:
            sys.stdout.write("y" * 65536)
    """)
    out = tmp_path / "out.stdout"
    with pytest.raises(proc.TooMuchOutput) as err:
        proc.run(argv, cwd=tmp_path, timeout=120, stdout_path=out, max_output=1 << 20)
    assert err.value.limit == 1 << 20
    assert out.stat().st_size <= 1 << 20  # nothing past the cap was written
    pid = int(pidfile.read_text())
    wait_for(lambda: not alive(pid), "the flooding child to die")


def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    argv = script(tmp_path, f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(pidfile)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        time.sleep(600)
    """)
    with pytest.raises(proc.TimedOut):
        proc.run(argv, cwd=tmp_path, timeout=2, stdout_path=tmp_path / "o")
    pids = [int(p) for p in pidfile.read_text().split()]
    wait_for(lambda: not any(alive(p) for p in pids), "the group to die")


def test_a_grandchild_left_behind_in_the_group_is_killed(tmp_path: Path) -> None:
    """The scanner exits 0 but leaves a worker (holding stdout) in its process group."""
    pidfile = tmp_path / "pid"
    argv = script(tmp_path, f"""
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(pidfile)!r}, "w").write(str(child.pid))
        print("{{}}")
    """)
    done = proc.run(argv, cwd=tmp_path, timeout=300, stdout_path=tmp_path / "o")
    assert done.returncode == 0
    assert (tmp_path / "o").read_text().strip() == "{}"
    pid = int(pidfile.read_text())
    wait_for(lambda: not alive(pid), "the grandchild to die")


@pytest.mark.parametrize("timeout", [math.nan, math.inf, 0.0, -1.0])
def test_timeouts_must_be_finite_and_positive(tmp_path: Path, timeout: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        proc.run([PY, "-c", "pass"], cwd=tmp_path, timeout=timeout,
                 stdout_path=tmp_path / "o")


def test_stdout_file_is_never_written_through_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "o"
    link.symlink_to(victim)
    with pytest.raises(FileExistsError):
        proc.run([PY, "-c", "print('overwritten')"], cwd=tmp_path, timeout=60,
                 stdout_path=link)
    assert victim.read_text() == "precious"


DRIVER = """
import sys, threading
from pathlib import Path
from posture_gate import proc
tmp = Path(sys.argv[1])
child = tmp / "child.py"
child.write_text(
    "import os, subprocess, sys, time\\n"
    "kid = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\\n"
    "esc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
    " start_new_session=True)\\n"
    "open(sys.argv[1] + '.tmp', 'w').write(f'{os.getpid()} {kid.pid} {esc.pid}')\\n"
    "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\\n"
    "time.sleep(600)\\n")
def go() -> None:
    proc.run([sys.executable, str(child), str(tmp / "pids")], cwd=tmp, timeout=600,
             stdout_path=tmp / "out")
threading.Thread(target=go).start()
threading.Event().wait()
"""


def test_no_child_outlives_a_sigkilled_parent(tmp_path: Path) -> None:
    """The watchdog kills the scanner's group, and a child that left the group (its own
    session) through the run's token, when the process running proc.run is SIGKILLed."""
    driver = subprocess.Popen([PY, "-c", DRIVER, str(tmp_path)])
    pids_file = tmp_path / "pids"
    wait_for(pids_file.exists, "the child to start")
    pids = [int(p) for p in pids_file.read_text().split()]
    assert all(alive(p) for p in pids)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    wait_for(lambda: not any(alive(p) for p in pids), "the watchdog to kill the children")


def test_kill_all_cancels_running_and_later_runs(tmp_path: Path) -> None:
    """What the SIGTERM/SIGINT handler calls: running scanners die at once, no new one
    starts. Run in a child interpreter: the cancelled state is for the process's life."""
    code = textwrap.dedent(f"""
        import os, sys, threading, time
        from pathlib import Path
        from posture_gate import proc
        tmp = Path({str(tmp_path)!r})
        result = {{}}
        def go():
            try:
                proc.run([sys.executable, "-c", "import time; time.sleep(600)"], cwd=tmp,
                         timeout=600, stdout_path=tmp / "o1")
            except proc.Cancelled:
                result["first"] = "cancelled"
        t = threading.Thread(target=go); t.start()
        while not proc._groups:
            time.sleep(0.01)
        pid = next(iter(proc._groups))
        proc.kill_all(); t.join()
        try:
            proc.run([sys.executable, "-c", "pass"], cwd=tmp, timeout=60,
                     stdout_path=tmp / "o2")
        except proc.Cancelled:
            result["second"] = "cancelled"
        proc.stop_watchdog()
        print(result["first"], result["second"], os.path.exists(f"/proc/{{pid}}/cmdline"))
    """)
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.stdout.split() == ["cancelled", "cancelled", "False"], out.stderr


def test_capture_returns_stdout_and_stderr_and_times_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = script(tmp_path, """
        import sys
        print("tool 1.2.3"); sys.stderr.write("note\\n")
    """)
    tool = tmp_path / "tool"
    tool.write_text(f"#!/bin/sh\nexec {argv[0]} {argv[1]}\n")
    tool.chmod(0o755)
    hang = tmp_path / "hang"
    hang.write_text(f"#!/bin/sh\nexec {PY} -c 'import time; time.sleep(600)'\n")
    hang.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert proc.capture(["tool", "--version"]).split() == ["tool", "1.2.3", "note"]
    with pytest.raises(proc.TimedOut):
        proc.capture(["hang"], timeout=1)
    assert not proc._groups  # both unregistered (and their groups killed)
