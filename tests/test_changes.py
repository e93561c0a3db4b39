"""`scan --changed-since REF`: which files the PR lane scans (git diff against the merge
base: renames, deletions, untracked files, hostile names), and that a planted finding in a
changed file is found while unchanged files are left alone."""

from __future__ import annotations

import datetime
import os
import subprocess
from pathlib import Path

import pytest

from posture_gate.changes import changed_files, merge_base
from posture_gate.errors import UsageError
from posture_gate.policy.schema import load_policy
from posture_gate.scan import ScanOptions, scan

ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, env=ENV, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for name in ("keep.py", "edit.py", "old_name.py", "gone.py"):
        (root / name).write_text(f"# {name}\n")
    (root / "sub").mkdir()
    (root / "sub" / "deep.py").write_text("x = 1\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def test_changed_renamed_added_and_untracked_not_deleted(repo: Path) -> None:
    (repo / "edit.py").write_text("# edited\n")
    git(repo, "mv", "old_name.py", "new_name.py")
    git(repo, "rm", "-q", "gone.py")
    (repo / "added.py").write_text("y = 2\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "change")
    (repo / "untracked.py").write_text("z = 3\n")
    (repo / ".gitignore").write_text("ignored.py\n")
    (repo / "ignored.py").write_text("w = 4\n")
    assert changed_files(repo, "main") == [".gitignore", "added.py", "edit.py",
                                           "new_name.py", "untracked.py"]


def test_the_merge_base_not_the_tip_of_the_base_branch(repo: Path) -> None:
    (repo / "edit.py").write_text("# on feature\n")
    git(repo, "commit", "-q", "-am", "feature")
    git(repo, "checkout", "-q", "main")
    (repo / "keep.py").write_text("# main moved on\n")
    git(repo, "commit", "-q", "-am", "main")
    git(repo, "checkout", "-q", "feature")
    # keep.py changed on main after the branch point: not this branch's change
    assert changed_files(repo, "main") == ["edit.py"]
    assert merge_base(repo, "main") == git(repo, "merge-base", "main", "HEAD")


def test_hostile_names_are_listed_verbatim(repo: Path) -> None:
    names = ["new\nline.py", "-rf.py", "quote\"d.py", "tab\there.py", "ünï.py"]
    for name in names:
        (repo / name).write_text("x = 1\n")
    git(repo, "add", "--", *names)
    git(repo, "commit", "-q", "-m", "hostile")
    assert changed_files(repo, "main") == sorted(names)


def test_a_subdirectory_root_sees_its_own_changes(repo: Path) -> None:
    (repo / "sub" / "deep.py").write_text("x = 2\n")
    (repo / "edit.py").write_text("# outside sub\n")
    assert changed_files(repo / "sub", "main") == ["deep.py"]


@pytest.mark.parametrize("ref", ["no-such-branch", "--output=/tmp/x", "", "main\0"])
def test_a_bad_revision_is_a_usage_error(repo: Path, ref: str) -> None:
    with pytest.raises(UsageError):
        changed_files(repo, ref)


POLICY = """\
version: 1
scanners:
  bandit: {}
  semgrep: {}
gates:
  code: {max: {high: 0}}
"""
PLANT = "import subprocess\nsubprocess.call(cmd, shell=True)\n"


@pytest.mark.slow
def test_pr_lane_scans_only_the_changed_files(repo: Path, tmp_path: Path) -> None:
    (repo / "keep.py").write_text(PLANT)  # an old finding, on the base branch
    git(repo, "commit", "-q", "-am", "old finding")
    git(repo, "branch", "-f", "main")
    (repo / "edit.py").write_text(PLANT)
    (repo / "hostile\nname.py").write_text(PLANT)
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(POLICY)
    policy = load_policy(str(policy_file), today=datetime.date(2026, 12, 1))

    def paths(changed_since: str | None) -> set[str]:
        result, _ = scan(policy, ScanOptions(root=repo, output_dir=tmp_path / "out",
                                             changed_since=changed_since))
        assert all(r.status.value == "ok" for r in result.scanners), result.scanners
        return {f.location.path for f in result.findings if f.location}

    git(repo, "add", "edit.py")
    git(repo, "commit", "-q", "-m", "new finding")
    (repo / "hostile\nname.py").unlink()
    assert paths("main") == {"edit.py"}
    assert paths(None) == {"edit.py", "keep.py"}
    # a changed file with a name no tool can be handed safely: everything is scanned
    (repo / "hostile\nname.py").write_text(PLANT)
    assert paths("main") >= {"edit.py", "keep.py", "hostile\nname.py"}
