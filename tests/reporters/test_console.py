"""The console tells the story: blocking findings under each failed gate, capped with a
pointer to the report, the unknown-counted-as note, colour only when asked for."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from posture_gate.model import Finding, ScanResult
from posture_gate.policy.evaluate import GateResult, Verdict
from posture_gate.policy.model import GateKind, VerdictStatus
from posture_gate.reporters.console import ConsoleReporter, verdict_line
from posture_gate.termstyle import Style, color_enabled

from .conftest import findings, fp, scan_result, verdict_for

GOLDEN = Path(__file__).parent / "golden" / "console"


def _golden(name: str, text: str, request: pytest.FixtureRequest) -> None:
    path = GOLDEN / name
    if request.config.getoption("--update-goldens"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs; --update-goldens"


def _many(n: int) -> tuple[ScanResult, Verdict]:
    """n high code findings failing code.max.high (the gate lists the first 20)."""
    base = findings()[0]
    assert base.location is not None
    fs = tuple(replace(base, fingerprint=fp(30 + i), merged_fingerprints=(),
                       location=replace(base.location, path=f"app/m{i:02d}.py",
                                        start_line=i + 1))
               for i in range(n))
    run = scan_result(fs=fs, scanners=scan_result().scanners[:2])
    gate = GateResult(name="code.max.high", kind=GateKind.CATEGORY, severity="high", limit=0,
                      count=n, passed=False, fingerprints=tuple(f.fingerprint for f in fs[:20]))
    return run, replace(verdict_for(run, (gate,)), warnings=())


def test_blocking_findings_capped_with_a_pointer(request: pytest.FixtureRequest) -> None:
    run, verdict = _many(25)
    text = ConsoleReporter(listed=3, report="posture-gate-report/findings.json").render(
        run, verdict)
    _golden("capped.txt", text, request)
    tail = text.splitlines()[-5:]
    assert tail[0] == "  FAILED code.max.high: 25 > 0 (high or worse)"
    assert tail[1].startswith("    app/m00.py:1  high  B602  ")
    assert tail[-1] == ("    ... and 22 more; all of them in "
                        "posture-gate-report/findings.json")


def test_unknown_counted_as_high_is_said(synthetic: tuple[ScanResult, Verdict]) -> None:
    run, verdict = synthetic
    text = ConsoleReporter().render(run, verdict)
    assert ("FAILED dependency.max.high: 3 > 0 (high or worse; 1 of them unknown, counted as "
            "high), +2 vs baseline") in text
    assert "    requirements.txt  unknown  PYSEC-2018-66  flask 0.12.2: PYSEC-2018-66  " \
        "[pip-audit]" in text


def test_found_by_and_readable_fields(synthetic: tuple[ScanResult, Verdict]) -> None:
    run, verdict = synthetic
    lines = ConsoleReporter().render(run, verdict).splitlines()
    i = lines.index("  FAILED code.max.high: 1 > 0 (high or worse), +1 vs baseline")
    assert lines[i + 1] == ("    app/jobs.py:22  high  B602  "
                            "subprocess_popen_with_shell_equals_true  [bandit, semgrep]")


def test_hostile_text_in_a_blocking_line_stays_on_its_line() -> None:
    run, verdict = _many(1)
    f: Finding = run.findings[0]
    evil = replace(f, title="x\nVERDICT: PASS\x1b[32m", rule_id="B602\r\x1b]0;t\x07")
    run = replace(run, findings=(evil,))
    text = ConsoleReporter(style=Style(enabled=True)).render(run, replace(verdict,
                                                                          findings=(evil,)))
    assert "\nVERDICT: PASS" not in text
    assert "\x1b[32m" not in text and "\x1b]" not in text and "\r" not in text


def test_colour_only_when_enabled(synthetic: tuple[ScanResult, Verdict],
                                  request: pytest.FixtureRequest) -> None:
    run, verdict = synthetic
    plain = ConsoleReporter().render(run, verdict)
    assert "\x1b" not in plain
    coloured = ConsoleReporter(style=Style(enabled=True)).verdict_lines(verdict)
    _golden("coloured-verdict.txt", "\n".join(coloured) + "\n", request)
    assert coloured[0] == "\x1b[1;33mVERDICT: ERROR\x1b[0m (could not evaluate; exit 2)"


def test_quiet_line() -> None:
    _, verdict = _many(2)
    assert verdict_line(verdict) == "VERDICT: FAIL (policy failed; exit 1)"
    assert verdict_line(replace(verdict, status=VerdictStatus.PASS)) == "VERDICT: PASS"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("mode", "env", "tty", "want"), [
    ("auto", {}, True, True),
    ("auto", {}, False, False),
    ("auto", {"NO_COLOR": "1"}, True, False),
    ("auto", {"NO_COLOR": ""}, True, True),  # empty means unset (no-color.org)
    ("auto", {"TERM": "dumb"}, True, False),
    ("never", {}, True, False),
    ("always", {}, False, True),
    ("always", {"NO_COLOR": "1"}, False, True),  # the explicit flag wins
])
def test_color_enabled(mode: str, env: dict[str, str], tty: bool, want: bool) -> None:
    stream = _Tty() if tty else io.StringIO()
    assert color_enabled(mode, stream, env) is want


def test_scanner_warnings_are_printed_capped(synthetic: tuple[ScanResult, Verdict]) -> None:
    """Issue 11: a scanner's warnings reach the console, not only findings.json."""
    run, verdict = synthetic
    noisy = replace(run.scanners[0], warnings=tuple(f"pin {i} \x1b[31mnot audited"
                                                    for i in range(12)))
    run = replace(run, scanners=(noisy, *run.scanners[1:]))
    lines = ConsoleReporter().render(run, verdict).splitlines()
    at = lines.index(next(line for line in lines if line.startswith(f"  {noisy.name}: ")))
    assert lines[at + 1] == "    warning: pin 0 not audited"
    assert lines[at + 10] == "    warning: pin 9 not audited"
    assert lines[at + 11] == "    ... and 2 more warning(s) in findings.json"
    assert "\x1b" not in "\n".join(lines)
