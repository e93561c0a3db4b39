"""The one error boundary of every command: unexpected exceptions are exit 2 with one line
(`posture-gate: internal error: ...`) and the traceback in <output-dir>/error.log.

Fault injection: a function the command calls is replaced by one that raises.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from posture_gate import cli, hooks, init, pipeline, proc, toolpath
from posture_gate.commands import history as history_command
from posture_gate.policy import schema as policy_schema
from tests.conftest import cli_argv, cli_env, run_cli

INTERNAL = "posture-gate: internal error: RuntimeError: boom"


def boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("boom\n\x1b[31mred\x1b[0m second line")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def assert_internal(code: int, err: str) -> None:
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(INTERNAL), err
    assert "\x1b" not in err and "Traceback" not in err
    assert "second line" in err  # the message, cleaned to one line


def test_scan_internal_error_writes_the_traceback_to_error_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "scan", boom)
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = invoke("scan", str(tmp_path), "-o", str(out))
    assert_internal(code, err)
    assert f"(traceback in {out / 'error.log'})" in err
    log = (out / "error.log").read_text()
    assert "Traceback (most recent call last)" in log and "RuntimeError: boom" in log


@pytest.mark.parametrize("argv, target, name", [
    (("doctor",), toolpath, "locate"),
    (("history", "show", "--history", "h.db"), history_command, "show_text"),
    (("init", "--dir", "."), init, "plan_files"),
    (("pre-commit", "a.py"), hooks, "run_hook"),
    (("policy", "validate", "default"), policy_schema, "check"),
])
def test_every_command_turns_an_unexpected_exception_into_exit_2(
        argv: tuple[str, ...], target: object, name: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(target, name, boom)
    code, _, err = invoke(*argv)
    assert_internal(code, err)
    # no output dir: the traceback went to a temp file named in the line
    log = Path(err.rsplit("(traceback in ", 1)[1].rstrip(")\n"))
    assert log.parent == tmp_path and "RuntimeError: boom" in log.read_text()


def test_pre_commit_with_output_dir_keeps_the_traceback_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(hooks, "run_hook", boom)
    (tmp_path / "o").mkdir()
    code, _, err = invoke("pre-commit", "-o", "o", "a.py")
    assert_internal(code, err)
    assert (tmp_path / "o" / "error.log").is_file()


def test_error_log_is_not_written_through_a_symlinked_output_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "scan", boom)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").symlink_to(elsewhere)
    code, _, err = invoke("scan", str(tmp_path), "-o", str(tmp_path / "out"))
    assert_internal(code, err)
    assert list(elsewhere.iterdir()) == []
    assert len(list((tmp_path / "tmp").iterdir())) == 1


def test_known_errors_keep_their_one_line_form(tmp_path: Path) -> None:
    code, _, err = invoke("gate", str(tmp_path / "missing.json"))
    assert code == 2
    assert err == f"posture-gate: error: {tmp_path / 'missing.json'}: findings file not found\n"


def test_click_usage_errors_are_left_to_click() -> None:
    code, _, err = invoke("scan", "--no-such-flag")
    assert code == 2 and "No such option" in err and "internal error" not in err


def test_keyboard_interrupt_is_exit_130_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(toolpath, "locate", interrupt)
    # kill_all() stops every later process of this one: put the flags back afterwards
    monkeypatch.setattr(proc, "_cancelled", False)
    monkeypatch.setattr(proc, "_interrupted", False)
    code, _, err = invoke("doctor")
    assert code == 130
    assert err == "posture-gate: interrupted by SIGINT; scanners stopped\n"


def test_signal_handlers_are_restored_after_a_command(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    invoke("gate", str(tmp_path / "missing.json"))
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_new_command_gets_the_boundary_without_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    @click.command("crash")
    def crash() -> None:
        raise KeyError("x")

    monkeypatch.setitem(cli.main.commands, "crash", crash)
    code, _, err = invoke("crash")
    assert code == 2 and err.startswith("posture-gate: internal error: KeyError: 'x'")


def test_an_internal_error_message_quoting_a_secret_is_redacted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "ghp_" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8"

    def leaky(*_a: object, **_k: object) -> None:
        raise ValueError(f"invalid literal for int() with base 10: '{token}'")

    monkeypatch.setattr(pipeline, "scan", leaky)
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = invoke("scan", str(tmp_path), "-o", str(out))
    assert code == 2 and err.startswith("posture-gate: internal error: ValueError: invalid")
    assert token not in err and token not in (out / "error.log").read_text()


def test_every_command_module_is_attached_to_the_root_group() -> None:
    import importlib
    import pkgutil

    from posture_gate import commands

    found = []
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"posture_gate.commands.{info.name}")
        found += list(getattr(module, "COMMANDS", ()))
    assert found and all(cli.main.commands.get(c.name or "") is c for c in found)
    assert set(cli.main.commands) == {c.name for c in found}


def test_the_script_fails_closed_when_stdout_cannot_be_written() -> None:
    """The console script (cli.entry), not click's wrapper: a full disk while --version
    prints, which click lets escape as a traceback with exit 1, and a reader that went
    away, which click makes exit 1 ("policy failed"), are each exit 2 and one line."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*cli_argv(), "--version"], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=cli_env(), check=False, timeout=60)
    assert (proc.returncode, proc.stderr) == (
        2, "posture-gate: error: [Errno 28] No space left on device\n")
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([*cli_argv(), "--help"], stdout=write, stderr=subprocess.PIPE,
                              text=True, env=cli_env(), check=False, timeout=60)
    finally:
        os.close(write)
    assert (proc.returncode, proc.stderr) == (
        2, "posture-gate: error: could not write to stdout (broken pipe)\n")


def test_python_dash_m_is_the_same_script() -> None:
    proc = run_cli("--version", python=Path(sys.executable))
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.startswith("posture-gate, version ")
    usage = run_cli("scan", "--no-such-flag", python=Path(sys.executable))
    assert usage.returncode == 2 and "No such option" in usage.stderr


@pytest.mark.parametrize(("code", "status", "said"), [
    (None, 0, ""), (0, 0, ""), (1, 1, ""), (130, 130, ""), ("a message", 1, "a message\n")])
def test_exit_status_is_the_interpreters(code: object, status: int, said: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert cli._exit_status(code) == status
    assert capsys.readouterr().err == said


def test_the_script_freezes_what_its_imports_made() -> None:
    """cli.entry keeps the objects importing the CLI made (~31,000) out of the cyclic
    collector's passes: the run's commands find them frozen."""
    code = ("import gc, sys; import posture_gate.cli as c\n"
            "c._run_main = lambda: print(gc.get_freeze_count()) or 0\n"
            "c.entry()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=cli_env(), check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) > 10_000
