"""Runner: where scanner versions come from, where scanner output goes and what is kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from posture_gate import toolpath
from posture_gate.cachedrun import run_cached
from posture_gate.fsutil import UMASK
from posture_gate.model import RunStatus
from posture_gate.resultcache import ResultCache
from posture_gate.runner import (
    SCANNER_TMP_DIR,
    STDOUT_DIR,
    Running,
    installed_version,
    publish_raw,
    run_all,
    run_job,
    scanner_version,
)
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import Job, ScanContext
from tests.conftest import SAMPLES, bin_dir


@pytest.fixture
def venv_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.slow  # the installed scanners' own versions
def test_python_tools_version_read_from_their_dist_info(venv_path: None) -> None:
    assert installed_version("bandit", "bandit") == "1.9.4"
    assert installed_version("pip-audit", "pip_audit") == "2.10.1"
    assert installed_version("bandit", None) is None
    assert installed_version("no-such-tool", "bandit") is None


@pytest.mark.slow  # the installed scanners' own versions
def test_every_scanner_reports_a_tested_version(venv_path: None) -> None:
    for scanner in SCANNERS.values():
        assert scanner_version(scanner) in scanner.tested_versions, scanner.name


def test_version_from_the_tools_own_output() -> None:
    assert SCANNERS["semgrep"].output_version((SAMPLES / "semgrep.json").read_bytes()) == \
        "1.185.0"
    trivy = (SAMPLES / "trivy-fs-misconfig-secret.json").read_bytes()
    assert SCANNERS["trivy"].output_version(trivy) == "0.76.0"
    assert SCANNERS["trivy"].output_version(b"not json") is None
    assert SCANNERS["bandit"].output_version((SAMPLES / "bandit.json").read_bytes()) is None


def test_a_fake_on_path_is_asked_not_trusted_from_disk(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin" / "bandit"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bandit 0.0.1'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    # nothing beside the interpreter (which proc.which tries before PATH)
    monkeypatch.setattr(toolpath, "interpreter_dir", lambda: tmp_path / "elsewhere")
    assert installed_version("bandit", "bandit") is None
    assert scanner_version(SCANNERS["bandit"]) == "0.0.1"


# --- disk hygiene: where scanner output goes, what is kept ---------------------------------

SECRET = "AKIAQYLPMN5HHHFPZAM2"  # a planted AWS access key id


def fake_job(tmp: Path, body: str) -> Job:
    prog = tmp / "fake_bandit.py"
    prog.write_text(body)
    return Job(name="bandit", scanner="bandit", argv=(sys.executable, str(prog)), timeout=60)


def files_under(d: Path) -> list[Path]:
    return [p for p in d.rglob("*") if p.is_file() or p.is_symlink()]


def test_rejected_output_is_not_kept_anywhere(tmp_path: Path) -> None:
    """Output that does not parse cannot be redacted: it is never written to the output
    dir (it was once copied, unredacted, to raw/<job>.out)."""
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    job = fake_job(tmp_path, f"print('password = {SECRET} and then garbage')\n")
    ctx = ScanContext(root=tmp_path, work_dir=work)
    outcome = run_job(SCANNERS["bandit"], job, ctx, out)
    assert outcome.run.status == RunStatus.FAILED
    assert "output not kept, run bandit by hand" in (outcome.run.reason or "")
    assert SECRET not in (outcome.run.reason or "")
    assert files_under(out) == []
    assert files_under(work / STDOUT_DIR) == []  # the stdout file went too


def test_scanner_stdout_lives_in_a_private_dir_of_the_scan(tmp_path: Path) -> None:
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    # The fake reports, on stderr, the files in the stdout dir beside its $TMPDIR and modes.
    job = fake_job(tmp_path, "import os, sys\n"
                   "d = os.path.join(os.path.dirname(os.environ['TMPDIR']), 'stdout')\n"
                   "sys.stderr.write(' '.join([os.environ['TMPDIR'], oct(os.stat(d).st_mode),"
                   " *os.listdir(d)]))\nsys.exit(7)\n")
    outcome = run_job(SCANNERS["bandit"], job, ScanContext(root=tmp_path, work_dir=work), out)
    scanner_tmp, mode, *files = (outcome.run.reason or "").split("code 7: ", 1)[1] \
        .split(";")[0].split()
    assert Path(scanner_tmp) == work / SCANNER_TMP_DIR
    assert int(mode, 8) & 0o777 == 0o700 and files == ["bandit.stdout"]
    assert files_under(work / STDOUT_DIR) == []
    assert not out.exists()


def test_accepted_raw_output_replaces_a_planted_raw_symlink(tmp_path: Path) -> None:
    work, out, elsewhere = tmp_path / "work", tmp_path / "out", tmp_path / "elsewhere"
    for d in (work, out, elsewhere):
        d.mkdir()
    (out / "raw").symlink_to(elsewhere)
    sample = SAMPLES / "bandit.json"
    job = fake_job(tmp_path, f"import sys\nsys.stdout.write(open({str(sample)!r}).read())\n"
                   "sys.exit(1)\n")
    staged = work / "staged"
    outcome = run_job(SCANNERS["bandit"], job, ScanContext(root=tmp_path, work_dir=work),
                      staged)
    assert outcome.run.status == RunStatus.OK, outcome.run.reason
    publish_raw(staged, out)
    assert not (out / "raw").is_symlink() and (out / "raw" / "bandit.json").is_file()
    assert list(elsewhere.iterdir()) == []
    assert (out / "raw" / "bandit.json").stat().st_mode & 0o777 == 0o666 & ~UMASK


def test_an_interrupt_while_waiting_does_not_wait_for_the_scanners(tmp_path: Path) -> None:
    """A KeyboardInterrupt raised in run_all (here: Python's default SIGINT handler, no
    posture-gate handler installed) kills the scanners instead of waiting for them."""
    code = f"""
import os, signal, sys, threading
from pathlib import Path
from posture_gate import proc
from posture_gate.runner import run_all
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import Job, ScanContext
tmp = Path({str(tmp_path)!r})
job = Job(name="bandit", scanner="bandit", timeout=600,
          argv=(sys.executable, "-c", "import time; time.sleep(600)"))
def interrupt() -> None:
    while not proc._groups:
        threading.Event().wait(0.01)
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=interrupt, daemon=True).start()
try:
    run_all([(SCANNERS["bandit"], job)], ScanContext(root=tmp, work_dir=tmp), tmp / "out")
except KeyboardInterrupt:
    print("interrupted", sorted(proc._groups))
again = Job(name="bandit", scanner="bandit", timeout=60, argv=(sys.executable, "-c", "pass"))
outcome = run_all([(SCANNERS["bandit"], again)], ScanContext(root=tmp, work_dir=tmp), tmp / "o")
print(outcome[0].run.reason)  # ran (and failed to parse), not "stopped"
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    lines = done.stdout.splitlines()
    assert lines[0] == "interrupted []", done.stderr
    assert "stopped" not in lines[1] and "bandit" in lines[1]


def test_a_failure_reason_never_quotes_a_secret_from_stderr(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    job = fake_job(tmp_path, "import sys\n"
                   f"sys.stderr.write('fatal: could not use password={SECRET}x\\\\n')\n"
                   "sys.exit(2)\n")
    outcome = run_job(SCANNERS["bandit"], job, ScanContext(root=tmp_path, work_dir=work),
                      tmp_path / "out")
    reason = outcome.run.reason or ""
    assert "exited with code 2: fatal: could not use password=" in reason
    assert SECRET not in reason


@pytest.mark.parametrize("cached", [False, True], ids=["run_all", "run_cached"])
def test_meanwhile_runs_while_the_scanners_run(tmp_path: Path, cached: bool) -> None:
    """The scan's own work (coverage's tree survey) is done once every job has started, not
    after they end: each fake scanner waits for the flag `meanwhile` writes, and exits 3 if
    it never comes."""
    work, flag = tmp_path / "work", tmp_path / "flag"
    work.mkdir()
    body = (f"import os, sys, time\nflag = {str(flag)!r}\n"
            "for _ in range(200):\n"
            "    if os.path.exists(flag):\n"
            "        sys.stdout.write('{\"results\": [], \"errors\": []}')\n"
            "        sys.exit(0)\n"
            "    time.sleep(0.05)\n"
            "sys.exit(3)\n")
    prog = tmp_path / "waits.py"
    prog.write_text(body)
    jobs = [(SCANNERS[name], Job(name=name, scanner=name, argv=(sys.executable, str(prog)),
                                 timeout=60)) for name in ("bandit", "semgrep")]
    ctx = ScanContext(root=tmp_path, work_dir=work)
    calls: list[int] = []

    def meanwhile(_: Running) -> None:
        calls.append(1)
        flag.write_text("")

    if cached:
        outcomes = run_cached(jobs, ctx, work / "staged", ResultCache(tmp_path / "results"),
                              {}, meanwhile=meanwhile)
    else:
        outcomes = run_all(jobs, ctx, work / "staged", meanwhile)
    assert calls == [1]
    assert [o.run.exit_code for o in outcomes] == [0, 0], [o.run.reason for o in outcomes]
