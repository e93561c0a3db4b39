"""The built wheel ships the semgrep rules but not the rule pack's deliberately vulnerable
test file (policies/semgrep/python.py, reached through the posture_gate/rules symlink)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # offline: the venv's own setuptools, no build isolation (no index access)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (built,) = out.glob("posture_gate-*.whl")
    return built


@pytest.mark.slow
def test_wheel_has_the_rules_but_no_rule_test_file(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "posture_gate/rules/semgrep/python.yml" in names
        assert "posture_gate/scanners/bandit.py" in names
        assert not [n for n in names if n.startswith("posture_gate/rules/")
                    and not n.endswith(".yml")]
        # semgrep --test annotations mark a file written to be vulnerable
        annotated = [n for n in names if b"# ruleid:" in zf.read(n)]
    assert annotated == []
    assert b"# ruleid:" in (ROOT / "policies/semgrep/python.py").read_bytes()
