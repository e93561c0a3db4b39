"""The fault matrix (issue 11): each scanner x each way it can fail, through the real CLI.

A fake scanner (a tiny Python script, first and only on PATH) injects the fault; only the
faulty scanner runs, so no real scanner is needed and every row takes well under a second.
Every row must end in exit 2 with a line naming the scanner and the field or reason, never
exit 0 or 1; the optional rows must report the scanner "skipped" with that reason, and
still not pass.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from posture_gate import runner
from tests.conftest import SAMPLES, run_cli, scannerless_python

FAKE = """#!{python}
import json, os, signal, sys, time
spec = json.load(open({spec!r}))
if "--version" in sys.argv:
    print("{name} 0.0.0-fake"); print("Version: 0.0.0"); sys.exit(0)
if spec["stderr"]:
    sys.stderr.write(spec["stderr"]); sys.stderr.flush()
if spec["sleep"]:
    time.sleep(spec["sleep"])
if spec["stdout"] is not None:
    with open(spec["stdout"], "rb") as fh:
        sys.stdout.buffer.write(fh.read())
    sys.stdout.flush()
chunk = b" " * (1 << 20)
for _ in range(spec["huge_mib"]):
    sys.stdout.buffer.write(chunk)
if spec["signal"]:
    sys.stdout.flush()
    os.kill(os.getpid(), getattr(signal, spec["signal"]))
sys.exit(spec["exit"])
"""

# A valid output of each tool and the exit code it came with (tests/data/samples/SOURCE.md).
VALID = {"bandit": ("bandit.json", 1), "semgrep": ("semgrep.json", 0),
         "trivy": ("trivy-fs-misconfig-secret.json", 0), "pip-audit": ("pip-audit.json", 1)}
TRIVY_VULN = "trivy-pip.json.golden"
TRACEBACK = "Traceback (most recent call last):\n  File 'x', line 1\nBoom: it broke\n"
HUGE_MIB = runner.MAX_OUTPUT // (1 << 20) + 1


@dataclass(frozen=True, kw_only=True)
class Fault:
    name: str
    reason: str  # a regex the one-line error must match
    stdout: bytes | None = None
    exit: int = 0
    stderr: str = ""
    sleep: float = 0
    signal: str | None = None
    huge_mib: int = 0
    missing: bool = False
    timeout: float = 3  # the policy's timeout for the scanner (the "hang" rows wait it out)


def _valid(scanner: str) -> tuple[Any, int]:
    sample, code = VALID[scanner]
    return json.loads((SAMPLES / sample).read_text()), code


def _changed(sample: str, change: Callable[[Any], object]) -> bytes:
    doc = json.loads((SAMPLES / sample).read_text())
    change(doc)
    return json.dumps(doc).encode()


def _generic(scanner: str) -> list[Fault]:
    """The faults every scanner gets."""
    doc, code = _valid(scanner)
    text = json.dumps(doc).encode()
    top = next(k for k in ("results", "Results", "dependencies") if k in doc)
    return [
        Fault(name="missing", reason="not installed", missing=True),
        Fault(name="crash", reason="exited with code 2: Boom: it broke", stderr=TRACEBACK,
              exit=2),
        Fault(name="hang", reason="timed out after 3s", sleep=60),
        Fault(name="garbage", reason="output is not valid JSON", stdout=b"hello, not json\n",
              exit=code),
        Fault(name="truncated", reason="output is not valid JSON",
              stdout=text[: len(text) // 2], exit=code),
        Fault(name="empty", reason="produced no output", stdout=b"", exit=code),
        Fault(name="stderr-only", reason="produced no output", stderr="fatal: no config\n"),
        Fault(name="sigkill", reason=r"(exited with code -9|SIGKILL)", signal="SIGKILL"),
        Fault(name="sigsegv", reason=r"(exited with code -11|SIGSEGV)", signal="SIGSEGV",
              stdout=text),
        # the cap, not the timeout, must stop it: a loaded machine takes seconds to pipe it
        Fault(name="huge", reason=r"printed more than", huge_mib=HUGE_MIB, stdout=b"{",
              timeout=300),
        Fault(name="not-utf8", reason=r"output is not UTF-8",
              stdout=text.replace(b'"', b'"\xff', 3), exit=code),
        Fault(name="deep", reason=r"nested deeper than 64 levels",
              stdout=b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}", exit=code),
        Fault(name="nan", reason=r"NaN is not JSON",
              stdout=json.dumps({**doc, "x": float("nan")}).encode(), exit=code),
        Fault(name="list", reason=r"output is JSON list, expected an object", stdout=b"[]",
              exit=code),
        Fault(name="wrong-shape", reason=rf"unexpected output shape: {top} is dict",
              stdout=json.dumps({**doc, top: {"not": "a list"}}).encode(), exit=code),
    ]


def _vuln(change: Callable[[Any], object]) -> bytes:
    return _changed(TRIVY_VULN, lambda d: change(d["Results"][0]["Vulnerabilities"][0]))


def _fs(change: Callable[[Any], object]) -> bytes:
    return _changed(VALID["trivy"][0], change)


def _secret_class(value: object) -> Callable[[Any], None]:
    def change(d: Any) -> None:
        assert d["Results"][2]["Secrets"][0]["Severity"] == "CRITICAL"
        if value is None:
            del d["Results"][2]["Class"]
        else:
            d["Results"][2]["Class"] = value
    return change


TRIVY = [
    Fault(name="results-{}", reason=r"Results is dict",
          stdout=b'{"SchemaVersion": 2, "Results": {}}'),
    Fault(name="results-''", reason=r"Results is str",
          stdout=b'{"SchemaVersion": 2, "Results": ""}'),
    Fault(name="results-0", reason=r"Results is int",
          stdout=b'{"SchemaVersion": 2, "Results": 0}'),
    Fault(name="class-Secret", reason=r"Results\[2\]\.Class is 'Secret'",
          stdout=_fs(_secret_class("Secret"))),
    Fault(name="class-missing", reason=r"Results\[2\]\.Class is missing on a result with "
          "Secrets", stdout=_fs(_secret_class(None))),
    Fault(name="PkgIdentifier", reason=r"Results\[0\]\.Vulnerabilities\[0\]\.PkgIdentifier is "
          "str", stdout=_vuln(lambda v: v.update(PkgIdentifier="pkg:pypi/werkzeug"))),
    Fault(name="CauseMetadata", reason=r"Misconfigurations\[0\]\.CauseMetadata is list",
          stdout=_fs(lambda d: d["Results"][1]["Misconfigurations"][0].update(
              CauseMetadata=[]))),
    Fault(name="Packages", reason=r"Results\[0\]\.Packages is dict",
          stdout=_changed(TRIVY_VULN, lambda d: d["Results"][0].update(Packages={}))),
    Fault(name="Locations", reason=r"Packages\[0\]\.Locations is int",
          stdout=_changed(TRIVY_VULN, lambda d: d["Results"][0]["Packages"][0].update(
              Locations=1))),
    Fault(name="CweIDs", reason=r"Vulnerabilities\[0\]\.CweIDs is str",
          stdout=_vuln(lambda v: v.update(CweIDs="CWE-331"))),
    Fault(name="V3Score", reason=r"CVSS\.nvd\.V3Score is str",
          stdout=_vuln(lambda v: v["CVSS"]["nvd"].update(V3Score="7.5"))),
    Fault(name="Vulnerabilities", reason=r"Results\[0\]\.Vulnerabilities is dict",
          stdout=_changed(TRIVY_VULN, lambda d: d["Results"][0].update(Vulnerabilities={}))),
    Fault(name="Misconfigurations", reason=r"Results\[1\]\.Misconfigurations is str",
          stdout=_fs(lambda d: d["Results"][1].update(Misconfigurations="3"))),
    Fault(name="Secrets", reason=r"Results\[2\]\.Secrets is int",
          stdout=_fs(lambda d: d["Results"][2].update(Secrets=1))),
    Fault(name="exit-1", reason=r"exited with code 1", stdout=_fs(lambda d: None), exit=1),
]


def _bandit(change: Callable[[Any], object]) -> bytes:
    return _changed("bandit.json", change)


def _empty_bandit(d: Any) -> None:
    d["results"] = []
    for key in d["metrics"]["_totals"]:
        if key.startswith(("SEVERITY.", "CONFIDENCE.")):
            d["metrics"]["_totals"][key] = 0


BANDIT = [
    Fault(name="exit-1-no-results", reason=r"exited 1 \(issues found\) but reported no results",
          stdout=_bandit(_empty_bandit), exit=1),
    Fault(name="exit-0-with-results", reason=r"exited 0 \(no issues\) but reported 10",
          stdout=_bandit(lambda d: None), exit=0),
    Fault(name="errors-strings", reason=r"errors\[0\] is str",
          stdout=_bandit(lambda d: d.update(errors=["app/x.py: syntax error"])), exit=1),
    Fault(name="line_range--1", reason=r"results\[0\]\.line_range\[0\] is -1",
          stdout=_bandit(lambda d: d["results"][0].update(line_range=[-1])), exit=1),
    Fault(name="line_range-x", reason=r"results\[0\]\.line_range\[0\] is str",
          stdout=_bandit(lambda d: d["results"][0].update(line_range=["x"])), exit=1),
    Fault(name="totals", reason=r"metrics\._totals counts 10 issue\(s\) but 2 result",
          stdout=_bandit(lambda d: d.update(results=d["results"][:2])), exit=1),
    Fault(name="crash-exit-1", reason=r"produced no output; exit code 1: Boom: it broke",
          stderr=TRACEBACK, exit=1),
]

SEMGREP = [
    Fault(name="errors-strings", reason=r"errors\[0\] is str",
          stdout=_changed("semgrep.json", lambda d: d.update(errors=["boom"]))),
    Fault(name="error-level", reason=r"reported an error: Invalid rule",
          stdout=_changed("semgrep.json", lambda d: d.update(
              errors=[{"level": "error", "message": "Invalid rule", "type": "Rule parse"}]))),
    Fault(name="start-line", reason=r"results\[0\]\.start\.line is str",
          stdout=_changed("semgrep.json", lambda d: d["results"][0]["start"].update(
              line="12"))),
    Fault(name="exit-1", reason=r"exited with code 1", stdout=b"{}", exit=1),
]


def _pip(change: Callable[[Any], object]) -> bytes:
    return _changed("pip-audit.json", change)


def _first_vuln(d: Any) -> Any:
    return next(v for dep in d["dependencies"] for v in dep.get("vulns", []))


# These rows depend on pip-audit's own strict parsing (another module's owner).
PIP_AUDIT = [
    Fault(name="exit-1-no-vulns", reason=r"(exit(ed)? (code )?1|no vulnerabilit|findings)",
          stdout=_pip(lambda d: [dep.update(vulns=[]) for dep in d["dependencies"]]), exit=1),
    Fault(name="aliases--1", reason=r"aliases", stdout=_pip(
        lambda d: _first_vuln(d).update(aliases=-1)), exit=1),
    Fault(name="fix_versions--1", reason=r"fix_versions", stdout=_pip(
        lambda d: _first_vuln(d).update(fix_versions=-1)), exit=1),
    Fault(name="crash-exit-1", reason=r"produced no output; exit code 1: Boom: it broke",
          stderr=TRACEBACK, exit=1),
]

MATRIX = {
    "bandit": _generic("bandit") + BANDIT,
    "semgrep": _generic("semgrep") + SEMGREP,
    "trivy": _generic("trivy") + TRIVY,
    "pip-audit": _generic("pip-audit") + PIP_AUDIT,
}
ROWS = [pytest.param(s, f, id=f"{s}-{f.name}") for s, faults in MATRIX.items() for f in faults]
# A few rows again with the scanner optional: "skipped" with the reason, still no pass.
OPTIONAL = [pytest.param(s, f, id=f"{s}-{f.name}") for s, faults in MATRIX.items()
            for f in faults if f.name in ("garbage", "sigkill", "class-Secret", "totals",
                                          "wrong-shape")]


def scan(tmp: Path, scanner: str, fault: Fault, *, required: bool):  # type: ignore[no-untyped-def]
    if fault.huge_mib and runner.MAX_OUTPUT >= 1 << 30:
        pytest.skip("the runner's output cap is still 1 GiB: too slow to print past it here")
    root = tmp / "project"
    root.mkdir()
    (root / "requirements.txt").write_text("pyyaml==5.1\nrequests==2.19.0\n")
    (root / "app.py").write_text("import subprocess\nsubprocess.call('ls', shell=True)\n")
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    out = tmp / "stdout.bin"
    if fault.stdout is not None:
        out.write_bytes(fault.stdout)
    spec = tmp / "spec.json"
    spec.write_text(json.dumps({"stdout": str(out) if fault.stdout is not None else None,
                                "stderr": fault.stderr, "sleep": fault.sleep,
                                "huge_mib": fault.huge_mib, "signal": fault.signal,
                                "exit": fault.exit}))
    if not fault.missing:
        fake = bin_dir / scanner
        fake.write_text(FAKE.format(python=sys.executable, spec=str(spec), name=scanner))
        fake.chmod(0o755)
    policy = tmp / "policy.yml"
    policy.write_text(f"version: 1\nscanners:\n  {scanner}: {{timeout: {fault.timeout:g}, "
                      f"required: {str(required).lower()}}}\n")
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    env.pop("GITHUB_STEP_SUMMARY", None)
    report = tmp / "report"
    proc = run_cli("scan", str(root), "--policy", str(policy), "-o", str(report), env=env,
                   timeout=600, python=scannerless_python(tmp))
    doc = json.loads((report / "findings.json").read_text())
    run = next(s for s in doc["scanners"] if s["scanner"] == scanner)
    return proc, run


@pytest.mark.parametrize("scanner, fault", ROWS)
def test_a_required_scanner_fault_is_exit_2_naming_it(scanner: str, fault: Fault,
                                                      tmp_path: Path) -> None:
    proc, run = scan(tmp_path, scanner, fault, required=True)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert lines and all(line.startswith("posture-gate: ") for line in lines), proc.stderr
    assert "Traceback" not in proc.stderr
    named = [line for line in lines if line.startswith(f"posture-gate: error: scanner "
                                                       f"{scanner}: ")]
    assert len(named) == 1, proc.stderr
    assert re.search(fault.reason, named[0]), named[0]
    assert run["status"] == ("timeout" if fault.name == "hang" else "failed")
    assert re.search(fault.reason, run["reason"])


@pytest.mark.parametrize("scanner, fault", OPTIONAL)
def test_an_optional_scanner_fault_is_skipped_with_the_reason_and_never_a_pass(
        scanner: str, fault: Fault, tmp_path: Path) -> None:
    proc, run = scan(tmp_path, scanner, fault, required=False)
    assert proc.returncode not in (0, 1), proc.stdout + proc.stderr
    assert proc.returncode == 2
    skipped = [line for line in proc.stdout.splitlines()
               if line.strip().startswith(f"{scanner}: skipped (optional")]
    assert len(skipped) == 1, proc.stdout
    assert re.search(fault.reason, skipped[0]), skipped[0]
    assert "Traceback" not in proc.stderr
    assert run["status"] == "failed" and run["required"] is False


def test_the_matrix_covers_at_least_14_faults_per_scanner() -> None:
    for scanner, faults in MATRIX.items():
        assert len({f.name for f in faults}) == len(faults) >= 14, scanner
