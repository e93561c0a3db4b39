"""Where the CLI's output goes: stdout carries one report (console, or one format with
-o - / --stdout), stderr the progress and notes; -q, -v, --color, NO_COLOR."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ADVISORIES, cli_env, copy_webapp, run_cli

SAVED = Path(__file__).parent / "reporters" / "golden" / "findings.json"


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "findings.json"
    shutil.copy(SAVED, path)
    return path


def test_gate_quiet_prints_the_verdict_line_only(saved: Path, tmp_path: Path) -> None:
    proc = run_cli("gate", str(saved), "-q", cwd=tmp_path)
    # the saved run's semgrep failed: the verdict is an error
    assert proc.stdout == "VERDICT: ERROR (could not evaluate; exit 2)\n"
    assert proc.returncode == 2


def test_gate_without_o_prints_console_and_says_nothing_was_written(saved: Path,
                                                                   tmp_path: Path) -> None:
    proc = run_cli("gate", str(saved), "-f", "json,sarif", cwd=tmp_path)
    assert "VERDICT: ERROR" in proc.stdout
    assert "    app/jobs.py:22  high  B602" in proc.stdout  # the blocking finding
    assert proc.stderr == ("posture-gate: findings.json, posture-gate.sarif: not written: "
                           "give -o DIR to write them\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]


@pytest.mark.parametrize("args", [["-f", "sarif", "-o", "-"], ["--stdout", "sarif"],
                                  ["-f", "sarif", "-o", "/dev/stdout"]])
def test_one_format_on_stdout_and_nothing_else(saved: Path, tmp_path: Path,
                                               args: list[str]) -> None:
    proc = run_cli("gate", str(saved), *args, cwd=tmp_path)
    doc = json.loads(proc.stdout)  # the whole of stdout is the SARIF document
    assert doc["version"] == "2.1.0"
    assert proc.stderr == "VERDICT: ERROR (could not evaluate; exit 2)\n"
    assert not (tmp_path / "-").exists()
    assert proc.returncode == 2


def test_dash_o_takes_one_format(saved: Path, tmp_path: Path) -> None:
    proc = run_cli("gate", str(saved), "-f", "json,sarif", "-o", "-", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "-o - writes one format to stdout" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def test_report_prints_console_and_says_where_files_went(saved: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    proc = run_cli("report", str(saved), "-f", "console,markdown", "-o", str(out))
    assert "VERDICT: " in proc.stdout
    assert proc.stderr == f"posture-gate: wrote summary.md to {out}\n"
    assert (out / "summary.md").is_file()


@pytest.mark.parametrize(("args", "env", "coloured"), [
    ([], {}, False),  # not a terminal
    (["--color", "always"], {}, True),
    (["--color", "always"], {"NO_COLOR": "1"}, True),  # the explicit flag wins
    (["--color", "auto"], {"NO_COLOR": "1"}, False),
    (["--color", "never"], {}, False),
    ([], {"POSTURE_GATE_COLOR": "always"}, True),
])
def test_colour(saved: Path, args: list[str], env: dict[str, str], coloured: bool) -> None:
    proc = run_cli("gate", str(saved), *args, env=cli_env(**env))
    assert ("\x1b[" in proc.stdout) is coloured
    assert "VERDICT: " in proc.stdout


@pytest.mark.slow
def test_scan_sarif_to_stdout_pipes_into_json_tool(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    exe = Path(sys.executable).parent / "posture-gate"
    # posture-gate ... -f sarif -o - | python -m json.tool > out.json
    with open(tmp_path / "out.json", "wb") as sink:
        scan = subprocess.Popen([str(exe), "scan", str(root), "--advisories", str(ADVISORIES),
                                 "-f", "sarif", "-o", "-"], cwd=tmp_path,
                                # a private cache: bandit must really start (no stored result)
                                env=cli_env(XDG_CACHE_HOME=str(tmp_path / "cache")),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        tool = subprocess.Popen([sys.executable, "-m", "json.tool"], stdin=scan.stdout,
                                stdout=sink)
        assert scan.stdout is not None and scan.stderr is not None
        scan.stdout.close()
        stderr = scan.stderr.read().decode()
        assert scan.wait(timeout=300) == 1, stderr
        assert tool.wait(timeout=60) == 0, stderr  # json.tool's status: stdout was pure JSON
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["runs"][0]["results"]
    assert not (tmp_path / "-").exists() and not (root / "-").exists()
    # progress on stderr, as plain lines (not a terminal)
    lines = stderr.splitlines()
    assert "posture-gate: bandit started" in lines
    assert any(line.startswith("posture-gate: bandit 16 finding(s) in ") for line in lines)
    assert "\r" not in stderr


@pytest.mark.slow
def test_verbose_shows_each_scanners_argv(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    env = cli_env(XDG_CACHE_HOME=str(tmp_path / "cache"))  # no stored result to reuse
    proc = run_cli("scan", str(root), "--only", "bandit", "-o", str(tmp_path / "out"), "-v",
                   env=env)
    started = [ln for ln in proc.stderr.splitlines() if " started: " in ln]
    assert len(started) == 1
    assert started[0].startswith("posture-gate: bandit started: bandit -r . -f json ")
    proc = run_cli("scan", str(root), "--only", "bandit", "-o", str(tmp_path / "out"), "-v",
                   "-q", env=env)
    assert proc.stdout.startswith("VERDICT: ")
    assert len(proc.stdout.splitlines()) == 1
    assert proc.stderr == ""  # -q: not even progress
    # a result reused from the cache is reported too, as one
    proc = run_cli("scan", str(root), "--only", "bandit", "-o", str(tmp_path / "out"),
                   env=env)
    assert any(ln.startswith("posture-gate: bandit 16 finding(s) in ")
               and ln.endswith(" (stored result reused)") for ln in proc.stderr.splitlines()), \
        proc.stderr


def _on_a_terminal(argv: list[str], env: dict[str, str]) -> str:
    """stdout and stderr of posture-gate on a pseudo-terminal."""
    import pty

    main, child = pty.openpty()
    try:
        done = subprocess.run([str(Path(sys.executable).parent / "posture-gate"), *argv],
                              stdout=child, stderr=child, env=env, timeout=120, check=False)
        os.close(child)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main)
    assert done.returncode == 2
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_unless_no_color(saved: Path) -> None:
    env = cli_env(TERM="xterm")
    env.pop("NO_COLOR", None)
    assert "\x1b[1;33mVERDICT: ERROR\x1b[0m" in _on_a_terminal(["gate", str(saved)], env)
    plain = _on_a_terminal(["gate", str(saved)], {**env, "NO_COLOR": "1"})
    assert "VERDICT: ERROR" in plain and "\x1b[" not in plain


def test_gate_reads_the_policy_from_the_environment(saved: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-policy.yml"
    proc = run_cli("gate", str(saved), env=cli_env(POSTURE_GATE_POLICY=str(missing)))
    assert proc.returncode == 2
    assert str(missing) in proc.stderr
    flag = run_cli("gate", str(saved), "--policy", "default", "-q",
                   env=cli_env(POSTURE_GATE_POLICY=str(missing)))
    assert flag.stdout.startswith("VERDICT: ")  # the flag wins


def test_report_points_at_the_findings_file_it_read(tmp_path: Path) -> None:
    from posture_gate.reporters.jsonfile import JsonReporter

    from .reporters.test_console import _many

    run, verdict = _many(25)
    saved = tmp_path / "saved.json"
    saved.write_text(JsonReporter().render(run, verdict))
    proc = run_cli("report", str(saved), "-f", "console", "-o", str(tmp_path / "rep"))
    assert f"    ... and 15 more; all of them in {saved}\n" in proc.stdout, proc.stdout


def test_report_to_stdout_makes_no_directory_named_dash(saved: Path, tmp_path: Path) -> None:
    proc = run_cli("report", str(saved), "-f", "json", "-o", "-", cwd=tmp_path)
    assert json.loads(proc.stdout)["schema"] == "posture-gate/run/v1"
    assert not (tmp_path / "-").exists()
