"""posture_gate.hooks without the scanners: which scanners and options the fast hook uses."""

from __future__ import annotations

import datetime
from pathlib import Path

from posture_gate.hooks import fast_policy
from posture_gate.policy import schema

from ..conftest import run_cli

TODAY = datetime.date(2026, 1, 1)


def test_fast_policy_narrows_bandit_semgrep_and_trivy_to_the_files() -> None:
    policy = schema.load_policy("default", today=TODAY)
    fast = fast_policy(policy, ["a.py", "pkg/b.py"])
    assert sorted(fast.scanners) == ["bandit", "semgrep", "trivy"]
    assert fast.scanners["bandit"].options["paths"] == ["a.py", "pkg/b.py"]
    assert fast.scanners["semgrep"].options["paths"] == ["a.py", "pkg/b.py"]
    assert fast.scanners["trivy"].options["scanners"] == ["secret"]
    assert fast.gates == policy.gates and fast.advisories is None


def test_fast_policy_skips_bandit_without_python_and_respects_the_policy(
        tmp_path: Path) -> None:
    policy = schema.load_policy("default", today=TODAY)
    assert sorted(fast_policy(policy, []).scanners) == ["trivy"]
    path = tmp_path / "p.yml"
    path.write_text("version: 1\nscanners:\n  bandit: {exclude: [tests]}\n"
                    "gates:\n  code: {max: {high: 0}}\n", encoding="utf-8")
    own = fast_policy(schema.load_policy(str(path), today=TODAY), ["x.py"])
    assert sorted(own.scanners) == ["bandit"]  # the policy runs no trivy: neither do we
    assert own.scanners["bandit"].options["exclude"] == ["tests"]


def test_pre_commit_without_files_passes(tmp_path: Path) -> None:
    done = run_cli("pre-commit", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = run_cli("pre-commit", "missing.py", cwd=tmp_path)  # deleted in the commit
    assert done.returncode == 0, done.stderr


def test_pre_commit_bad_policy_exits_2(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    done = run_cli("pre-commit", "--policy", "nope.yml", "a.py", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("posture-gate: error:")
