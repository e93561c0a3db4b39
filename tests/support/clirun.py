"""`posture-gate ARGS...` in the test process: click's CliRunner on `cli.main`, with the
same environment rules as the subprocess helper (tests/conftest.run_cli). Use it for
commands that run no scanner; a real scan, a signal or an exit status seen by a parent
process still goes through run_cli."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from posture_gate import cli


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def invoke(args: tuple[str, ...], *, cwd: Path | None = None,
           env: Mapping[str, str | None] | None = None) -> CliResult:
    """Exceptions are not caught by the runner: the root group's boundary must turn
    every one into exit 2, so a traceback here is a test failure."""
    before = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        result = CliRunner().invoke(cli.main, list(args), env=dict(env or {}),
                                    catch_exceptions=False)
    finally:
        os.chdir(before)
    return CliResult(result.exit_code, result.stdout, result.stderr)


CliFixture = Callable[..., CliResult]
