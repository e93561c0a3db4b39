"""Fail closed: fake scanners (first on PATH) that are missing, crash, hang or print garbage.

Fakes are only for fault injection; every other scanner in these runs is real.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from tests.conftest import bin_dir, run_cli, scannerless_python

FAKE = """#!{python}
import sys, time
if "--version" in sys.argv:
    print("{name} 0.0.0-fake"); print("Version: 0.0.0"); sys.exit(0)
mode = {mode!r}
if mode == "crash":
    sys.stderr.write("Traceback (most recent call last):\\n  File 'x', line 1\\nBoom: it broke\\n")
    sys.exit(2)
if mode == "hang":
    time.sleep(120)
out = {{"garbage": "hello, this is not json\\n",
       "truncated": '{{"results": [{{"check_id": "x", ',
       "wrong-shape": '{{"version": "1", "results": {{"not": "a list"}}, "errors": 7}}',
       }}[mode]
sys.stdout.write(out)
sys.exit(0)
"""

MODES = ["missing", "crash", "hang", "garbage", "truncated", "wrong-shape"]
REASONS = {
    "missing": "not installed",
    "crash": "exited with code 2: Boom: it broke",
    "hang": "timed out after 3s",
    "garbage": "not valid JSON",
    "truncated": "not valid JSON",
    "wrong-shape": "unexpected output shape",
}


def tool_path(tmp: Path, fake: str, mode: str, real: list[str]) -> str:
    """A PATH holding the real tools named and the fake (unless 'missing')."""
    d = tmp / "bin"
    d.mkdir()
    for tool in real:
        (d / tool).symlink_to(bin_dir() / tool)
    if mode != "missing":
        script = d / fake
        script.write_text(FAKE.format(python=sys.executable, name=fake, mode=mode))
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return f"{d}{os.pathsep}/usr/bin{os.pathsep}/bin"


def policy(tmp: Path, fake: str, required: bool) -> Path:
    p = tmp / "policy.yml"
    p.write_text(
        "version: 1\n"
        "scanners:\n"
        "  bandit: {}\n"
        f"  {fake}: {{timeout: 3, required: {str(required).lower()}}}\n"
        "gates:\n  code: {max: {high: 0}}\n  dependency: {max: {high: 0}}\n")
    return p


def scan(tmp: Path, webapp: Path, fake: str, mode: str, required: bool):  # type: ignore[no-untyped-def]
    env = dict(os.environ, PATH=tool_path(tmp, fake, mode, ["bandit"]))
    out = tmp / "out"
    proc = run_cli("scan", str(webapp), "--policy", str(policy(tmp, fake, required)),
                   "-o", str(out), env=env, timeout=120, python=scannerless_python(tmp))
    doc = json.loads((out / "findings.json").read_text())
    return proc, doc


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_required_scanner_fault_is_exit_2_naming_it(mode: str, tmp_path: Path,
                                                    webapp: Path) -> None:
    proc, doc = scan(tmp_path, webapp, "semgrep", mode, required=True)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    # besides the progress lines (each scanner started and finished), one error line
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("posture-gate: error")]
    assert len(errors) == 1 and errors[0].startswith("posture-gate: error: scanner semgrep: ")
    assert REASONS[mode] in errors[0]
    run = next(s for s in doc["scanners"] if s["name"] == "semgrep")
    assert run["status"] == ("timeout" if mode == "hang" else "failed")
    assert REASONS[mode] in run["reason"]
    assert doc["verdict"]["status"] == "error"
    # the other scanner was not stopped by the failure
    assert next(s for s in doc["scanners"] if s["name"] == "bandit")["status"] == "ok"


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_optional_scanner_fault_is_reported_skipped_and_run_goes_on(
        mode: str, tmp_path: Path, webapp: Path) -> None:
    proc, doc = scan(tmp_path, webapp, "semgrep", mode, required=False)
    assert proc.returncode == 1  # bandit's real findings still fail the gate: never 0
    assert "semgrep: skipped (optional" in proc.stdout
    assert REASONS[mode] in proc.stdout
    assert any(w.startswith("semgrep skipped (optional)") for w in doc["verdict"]["warnings"])
    assert doc["totals"]["code"]["high"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("fake", ["pip-audit", "trivy", "bandit"])
def test_every_scanner_fails_closed_on_garbage(fake: str, tmp_path: Path,
                                               webapp: Path) -> None:
    env = dict(os.environ, PATH=tool_path(tmp_path, fake, "wrong-shape", []))
    p = tmp_path / "policy.yml"
    p.write_text(f"version: 1\nscanners:\n  {fake}: {{}}\ngates:\n  secret: {{max: {{any: 9}}}}\n")
    proc = run_cli("scan", str(webapp), "--policy", str(p), "-o", str(tmp_path / "o"), env=env,
                   python=scannerless_python(tmp_path))
    assert proc.returncode == 2
    assert f"scanner {fake}: unexpected" in proc.stderr
