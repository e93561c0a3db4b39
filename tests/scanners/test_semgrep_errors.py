"""semgrep's failures in one line: osemgrep's --x- warning (printed on every run the plan
makes) is never quoted as the reason, its stamped log lines and Cmdliner's wrapped usage
errors are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posture_gate.scanners.semgrep_errors import explain
from tests.conftest import copy_webapp, run_cli

WARNING = ("[00.06][WARNING]: !!! You're using one or more options starting with '--x-'. "
           "These options are not part of the semgrep API. They will change or will be "
           "removed without notice !!! \n")


def test_the_x_warning_alone_says_nothing() -> None:
    assert explain(WARNING) == ""
    assert explain("") == ""


def test_a_stamped_error_is_quoted_without_its_stamp() -> None:
    text = WARNING + "[00.06][ERROR]: unable to find a config; path `/r.yml` does not exist\n"
    assert explain(text) == "unable to find a config; path `/r.yml` does not exist"


def test_a_wrapped_usage_error_is_one_line() -> None:
    text = ("Usage: semgrep scan [--help] [OPTION]\u2026 [TARGETS]\u2026\n"
            "semgrep scan: option '--timeout': invalid value 'abc', expected a floating\n"
            "              point number\n")
    assert explain(text) == ("semgrep scan: option '--timeout': invalid value 'abc', "
                             "expected a floating point number")


def test_control_characters_do_not_pass() -> None:
    assert explain("[00.01][ERROR]: bad \x1b[31mred\x1b[0m \u202ename\n") == "bad red name"


@pytest.mark.slow
@pytest.mark.parametrize(("args", "reason"), [
    ('["--timeout", "abc"]', "exited with code 2: semgrep scan: option '--timeout': invalid "
                             "value 'abc', expected a floating point number; output not kept"),
    (None, "exited with code 7; output not kept"),
])
def test_the_real_reasons(tmp_path: Path, args: str | None, reason: str) -> None:
    root = copy_webapp(tmp_path)
    rules = tmp_path / "rules.yml"
    rules.write_text("rules:\n- id: x\n  pattern: foo(\n  message: m\n  languages: [python]\n"
                     "  severity: ERROR\n")
    block = f"args: {args}" if args else f"config: [{rules}]"
    policy = tmp_path / "policy.yml"
    policy.write_text(f"version: 1\nscanners:\n  semgrep:\n    {block}\n")
    proc = run_cli("scan", str(root), "--policy", str(policy), "--only", "semgrep", "-o",
                   str(tmp_path / "out"), "-q", "--no-cache")
    assert proc.returncode == 2
    assert f"scanner semgrep: {reason}" in proc.stderr
    assert "--x-" not in proc.stderr


@pytest.mark.slow
def test_a_file_semgrep_times_out_on_fails_the_run_unless_allowed(tmp_path: Path) -> None:
    # the tree can plant a file big enough for every rule to time out on: semgrep then
    # reports it only as a warning, and nothing it holds would be found
    root = tmp_path / "repo"
    root.mkdir()
    (root / "big.py").write_text("def f(x):\n" + "    y = eval(x)\n" * 3000)
    (root / "small.py").write_text("def g(x):\n    return eval(x)\n")
    policy = tmp_path / "policy.yml"
    base = "version: 1\nscanners:\n  semgrep:\n    args: ['--timeout', '0.05']\n"
    policy.write_text(base)
    out = tmp_path / "out"
    proc = run_cli("scan", str(root), "--policy", str(policy), "--only", "semgrep", "-o",
                   str(out), "-q", "--no-cache")
    assert proc.returncode == 2, proc.stderr
    assert "scanner semgrep: could not analyse 1 file(s): Timeout when running" in proc.stderr
    assert "on big.py" in proc.stderr and "allow_analysis_errors" in proc.stderr
    policy.write_text(base + "    allow_analysis_errors: true\n")
    proc = run_cli("scan", str(root), "--policy", str(policy), "-o", str(out), "-q",
                   "--no-cache", "-f", "json")
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads((out / "findings.json").read_text())
    run = next(r for r in doc["scanners"] if r["name"] == "semgrep")
    assert run["status"] == "ok" and run["warnings"][0].startswith(
        "not analysed: Timeout when running")
    assert {(f["location"]["path"], f["scanner"]) for f in doc["findings"]} >= {
        ("small.py", "semgrep")}
    skipped = {(s["path"], s["scanner"]): s["reason"]
               for lang in doc["coverage"]["languages"] for s in lang["skipped"]}
    assert skipped[("big.py", "semgrep")] == "rule timeout"
