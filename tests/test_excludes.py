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
