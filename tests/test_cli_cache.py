"""`scan --cache-dir` / `--no-cache` / `--changed-since` on the command line: the report says
which scanner results came from the cache, and a cache inside the scanned tree is never used."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADVISORIES, cli_env, run_cli

pytestmark = pytest.mark.slow


def _scan(root: Path, out: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    proc = run_cli("scan", str(root), "--advisories", str(ADVISORIES), "-o", str(out),
                   "-f", "console,json", *extra)
    assert proc.returncode in (0, 1), proc.stderr
    doc: dict = json.loads((out / "findings.json").read_text())  # type: ignore[type-arg]
    doc["_stdout"] = proc.stdout
    return doc


def _states(doc: dict) -> dict[str, str | None]:  # type: ignore[type-arg]
    return {s["name"]: s.get("cache") for s in doc["scanners"]}


def test_second_scan_is_answered_from_the_cache_and_says_so(webapp: Path,
                                                             tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = _scan(webapp, tmp_path / "a", "--cache-dir", str(cache))
    assert set(_states(cold).values()) == {None}
    warm = _scan(webapp, tmp_path / "b", "--cache-dir", str(cache))
    assert set(_states(warm).values()) == {"hit"}
    assert "from the result cache" in warm["_stdout"]
    assert sorted(f["fingerprint"] for f in warm["findings"]) == \
        sorted(f["fingerprint"] for f in cold["findings"])
    # raw outputs are there as after a full run
    assert {s["raw_output"] for s in warm["scanners"]} == \
        {s["raw_output"] for s in cold["scanners"]}
    assert all((tmp_path / "b" / s["raw_output"]).is_file() for s in warm["scanners"])
    bypass = _scan(webapp, tmp_path / "c", "--cache-dir", str(cache), "--no-cache")
    assert set(_states(bypass).values()) == {None}


def test_a_cache_inside_the_scanned_tree_is_never_used(webapp: Path, tmp_path: Path) -> None:
    inside = webapp / ".cache"
    _scan(webapp, tmp_path / "a", "--cache-dir", str(inside))
    again = _scan(webapp, tmp_path / "b", "--cache-dir", str(inside))
    assert set(_states(again).values()) == {None}
    assert not (inside / "results").exists()


def test_changed_since_on_the_command_line(webapp: Path, tmp_path: Path) -> None:
    env = {**cli_env(), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=webapp, env=env, check=True)
    (webapp / "new_module.py").write_text("import subprocess\n"
                                          "subprocess.call(cmd, shell=True)\n")
    doc = _scan(webapp, tmp_path / "out", "--changed-since", "main", "--no-cache")
    code = {f["location"]["path"] for f in doc["findings"]
            if f["category"] == "code" and f["location"]}
    assert code == {"new_module.py"}
    runs = {s["name"]: s for s in doc["scanners"]}
    assert runs["bandit"]["properties"]["changed_files"] == 1
    assert "changed file(s) only (--changed-since)" in doc["_stdout"]
    bad = run_cli("scan", str(webapp), "-o", str(tmp_path / "bad"), "--changed-since",
                  "no-such-ref")
    assert bad.returncode == 2 and "--changed-since" in bad.stderr
