"""Where the cache lives: XDG by default, never inside the scanned tree (planted entries)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from posture_gate import advisory_index, advisory_source, cachedir
from tests.conftest import ADVISORIES, cli_env, copy_webapp, run_cli


def test_default_root_follows_xdg_and_ignores_a_relative_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cachedir.default_root() == tmp_path / "xdg" / "posture-gate"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # would depend on the cwd
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cachedir.default_root() == tmp_path / "home" / ".cache" / "posture-gate"


def test_a_cache_inside_the_scanned_tree_is_not_used(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tree / "sub", target_is_directory=True)
    assert cachedir.usable(tree / ".cache", tree, "advisories") is None
    assert cachedir.usable(tree, tree, "advisories") is None
    assert cachedir.usable(tmp_path / "link", tree, "advisories") is None  # resolved
    assert cachedir.usable(tmp_path / "cache", tree, "advisories") == \
        (tmp_path / "cache" / "advisories").resolve()
    assert cachedir.usable(None, tree, "advisories") is None


@pytest.mark.slow
def test_a_planted_index_in_the_tree_changes_nothing(tmp_path: Path) -> None:
    """The tree plants a well-formed index claiming the mirror is empty, at the path the
    cache would use if XDG_CACHE_HOME pointed into the tree: it is never read."""
    root = copy_webapp(tmp_path)
    digest = advisory_source.read(ADVISORIES).digest
    planted_dir = root / ".cache" / "posture-gate" / "advisories"
    planted_dir.mkdir(parents=True)
    forged = advisory_index.pack(digest=digest, newest="2099-01-01T00:00:00Z",
                                 records={"PYSEC-0-0": {"id": "PYSEC-0-0"}}, by_package={})
    planted = planted_dir / f"{digest}.idx"
    planted.write_bytes(advisory_index.encode(forged))
    assert advisory_index.decode(planted.read_bytes(), digest) is not None  # well-formed
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    out = tmp_path / "out"
    proc = run_cli("scan", str(root), "--advisories", str(ADVISORIES), "--only", "pip-audit",
                   "-o", str(out), "--format", "json",
                   env=cli_env(XDG_CACHE_HOME=str(root / ".cache")))
    assert proc.returncode == 1, proc.stderr
    doc = json.loads((out / "findings.json").read_text())
    ids = {f["rule_id"] for f in doc["findings"]}
    assert {"PYSEC-2020-96", "PYSEC-2021-142", "PYSEC-2023-74"} <= ids
    newest = [s["properties"]["advisories_newest"] for s in doc["scanners"]
              if s["scanner"] == "pip-audit"]
    assert newest == ["2024-02-17T07:18:27Z"]  # the mirror's, not the forged 2099
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before  # nothing written


@pytest.mark.slow
def test_the_index_is_cached_under_xdg_and_reused(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    env = cli_env(XDG_CACHE_HOME=str(tmp_path / "xdg"))
    runs = []
    for n in range(2):
        out = tmp_path / f"out{n}"
        proc = run_cli("scan", str(root), "--advisories", str(ADVISORIES), "--only",
                       "pip-audit", "-o", str(out), "--format", "json", env=env)
        assert proc.returncode == 1, proc.stderr
        runs.append(json.loads((out / "findings.json").read_text())["findings"])
    indexes = list((tmp_path / "xdg" / "posture-gate" / "advisories").glob("*.idx"))
    assert [p.name for p in indexes] == [f"{advisory_source.read(ADVISORIES).digest}.idx"]
    assert [f["fingerprint"] for f in runs[0]] == [f["fingerprint"] for f in runs[1]]


def test_prune_keeps_the_newest_and_drops_abandoned_temp_files(tmp_path: Path) -> None:
    old = time.time() - 10 * cachedir.STALE_TMP_S
    for i in range(5):
        (tmp_path / f"{i}.e").write_text("x")
        os.utime(tmp_path / f"{i}.e", (old + i, old + i))
    (tmp_path / "dead.tmp").write_text("x")
    os.utime(tmp_path / "dead.tmp", (old, old))
    (tmp_path / "live.tmp").write_text("x")  # a writer may still be at it
    cachedir.prune(tmp_path, keep="0.e", most=3, is_entry=lambda n: n.endswith(".e"),
          is_temp=lambda n: n.endswith(".tmp"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.e", "3.e", "4.e", "live.tmp"]
