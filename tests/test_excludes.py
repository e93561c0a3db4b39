"""`exclude:` entries mean the same directories or globs for bandit, semgrep and trivy."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest

from posture_gate import excludes
from tests.conftest import run_cli


def _bandit_drops(path: str, patterns: list[str]) -> bool:
    """bandit 1.9.4 _is_file_included: fnmatch, or the pattern as a substring."""
    return any(fnmatch.fnmatch(path, p) or p in path for p in patterns)


@pytest.mark.parametrize(("entry", "dropped", "kept"), [
    ("tests", ["./tests/test_a.py", "./pkg/tests/x.py", "tests/x.py", "./a/tests"],
     ["./src/my_tests/x.py", "./testsuite/x.py", "./src/tests_x.py"]),
    ("tests/", ["./tests/test_a.py"], ["./src/tests_util.py"]),
    ("src/legacy", ["./src/legacy/a.py", "src/legacy/a.py"],
     ["./src/legacy2/a.py", "./other/src/legacy/a.py"]),
    ("*_test.py", ["./a_test.py", "./pkg/b_test.py"], ["./pkg/test_b.py"]),
    ("docs/*.py", ["./docs/conf.py"], ["./src/docs/conf.py"]),
])
def test_bandit_patterns(entry: str, dropped: list[str], kept: list[str]) -> None:
    patterns = excludes.bandit([entry])
    for p in dropped:
        assert _bandit_drops(p, patterns), (p, patterns)
    for p in kept:
        assert not _bandit_drops(p, patterns), (p, patterns)


def test_our_output_dir_is_root_relative_for_every_tool() -> None:
    patterns = excludes.bandit(["report"], root_relative=True)
    assert _bandit_drops("./report/old.py", patterns)
    assert not _bandit_drops("./src/report/view.py", patterns)
    assert excludes.semgrep(["report"], root_relative=True) == ["/report"]
    assert excludes.trivy(["report"], root_relative=True) == ["report"]


def test_semgrep_and_trivy_spelling() -> None:
    assert excludes.semgrep(["tests", "./src/legacy/", "*_test.py"]) == \
        ["tests", "/src/legacy", "*_test.py"]
    assert excludes.trivy(["tests", "src/legacy"]) == ["**/tests", "src/legacy"]
    assert excludes.bandit([".", "", "./"]) == []


VULN = "import hashlib\n\n\ndef h(b):\n    return hashlib.md5(b).hexdigest()\n"
POLICY = """version: 1
scanners:
  bandit: {exclude: [legacy, src/old]}
  semgrep: {config: [bundled], exclude: [legacy, src/old]}
gates:
  code: {max: {critical: 0}}
"""


@pytest.mark.slow
def test_exclude_means_the_same_for_bandit_and_semgrep(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    for rel in ("legacy/a.py", "pkg/legacy/b.py", "src/old/c.py", "src/app.py",
                "src/old_thing.py", "other/src/old/d.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(VULN)
    policy = tmp_path / "p.yml"
    policy.write_text(POLICY)
    out = tmp_path / "out"
    proc = run_cli("scan", str(root), "--policy", str(policy), "-o", str(out))
    assert proc.returncode in (0, 1), proc.stderr
    findings = json.loads((out / "findings.json").read_text())["findings"]
    by_tool: dict[str, set[str]] = {}
    for f in findings:
        for tool in f["found_by"]:
            by_tool.setdefault(tool, set()).add(f["location"]["path"])
    want = {"src/app.py", "src/old_thing.py", "other/src/old/d.py"}
    assert by_tool == {"bandit": want, "semgrep": want}


TESTS_POLICY = """version: 1
scanners:
  bandit: {}
  semgrep: {config: [bundled]}
gates:
  code: {max: {critical: 0, high: 0}}
"""
ASSERTS = "def test_a():\n    assert 1 + 1 == 2\n    assert True\n"
DEBUG_RUN = "from flask import Flask\n\napp = Flask(__name__)\napp.run(debug=True)\n"


@pytest.mark.slow
def test_tests_dirs_are_skipped_by_both_and_examples_scanned_by_both(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    for rel, text in (("tests/test_a.py", ASSERTS), ("tests/app_run.py", DEBUG_RUN),
                      ("pkg/test/test_b.py", ASSERTS + DEBUG_RUN),
                      ("examples/demo.py", DEBUG_RUN), ("src/lib.py", "X = 1\n")):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    policy = tmp_path / "p.yml"
    policy.write_text(TESTS_POLICY)
    out = tmp_path / "out"
    proc = run_cli("scan", str(root), "--policy", str(policy), "-o", str(out))
    findings = json.loads((out / "findings.json").read_text())["findings"]
    paths = {(tool, f["location"]["path"]) for f in findings for tool in f["found_by"]}
    # B201 / pg-flask-debug-true in examples/ (high) by both; nothing from tests/ or test/
    assert {p for _, p in paths} == {"examples/demo.py"}
    assert {t for t, _ in paths} == {"bandit", "semgrep"}
    assert proc.returncode == 1, proc.stdout
    # without examples/ the verdict passes: the asserts and the debug run in tests/ do not gate
    (root / "examples/demo.py").unlink()
    proc = run_cli("scan", str(root), "--policy", str(policy), "-o", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # a test directory scanned as the root is gated
    proc = run_cli("scan", str(root / "tests"), "--policy", str(policy), "-o", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr


@pytest.mark.slow
def test_exclude_means_the_same_for_trivy(tmp_path: Path) -> None:
    from tests.conftest import PLANTED_TOKEN

    root = tmp_path / "proj"
    for rel in ("legacy/conf.py", "pkg/legacy/conf.py", "src/old/conf.py", "src/conf.py",
                "other/src/old/conf.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f'TOKEN = "{PLANTED_TOKEN}"\n')
    policy = tmp_path / "p.yml"
    policy.write_text("version: 1\nscanners:\n  trivy: {scanners: [secret], exclude: "
                      "[legacy, src/old]}\ngates:\n  secret: {max: {any: 0}}\n")
    out = tmp_path / "out"
    proc = run_cli("scan", str(root), "--policy", str(policy), "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    findings = json.loads((out / "findings.json").read_text())["findings"]
    assert {f["location"]["path"] for f in findings} == {"src/conf.py", "other/src/old/conf.py"}
