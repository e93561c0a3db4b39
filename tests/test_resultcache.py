"""The result cache's store: strict reads (a corrupt, foreign or tampered entry is a miss),
private atomic writes never through a link, and keys that name what they cover."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from posture_gate import restrict, toolpath, treedigest
from posture_gate import resultcache as rc
from posture_gate.model import Category, Finding, Location, Severity
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import Job, ScanContext, ScannerSettings


def _finding(path: str = "app.py") -> Finding:
    return Finding(fingerprint="f" * 64, scanner="bandit", scanner_version="1.9.4",
                   rule_id="B602", category=Category.CODE, severity=Severity.HIGH,
                   title="t", message="m", found_by=("bandit",),
                   location=Location(path=path, start_line=1, end_line=1))


def _key(**parts: str) -> rc.Key:
    return rc.Key(job="bandit", parts={"schema": rc.SCHEMA, "a": "1", **parts}, per_file=True)


def _entry() -> rc.Entry:
    return rc.Entry(version="1.9.4", tested_version=True, exit_code=1, raw_count=1,
                    warnings=("w",), properties={"p": 1}, findings=(_finding(),),
                    raw='{"results": []}', files={"app.py": "0" * 64})


def test_round_trip(tmp_path: Path) -> None:
    cache = rc.ResultCache(tmp_path / "results")
    assert cache.store(_key(), _entry())
    assert cache.load(_key()) == _entry()


def test_another_key_is_a_miss(tmp_path: Path) -> None:
    cache = rc.ResultCache(tmp_path / "results")
    cache.store(_key(), _entry())
    assert cache.load(_key(a="2")) is None
    assert cache.load(rc.Key(job="bandit", parts=_key().parts, per_file=False)) is None


def _only_entry(tmp_path: Path) -> Path:
    (path,) = (tmp_path / "results" / "bandit").glob("*.json")
    return path


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "retarget",
                                    "bad_finding"])
def test_a_corrupt_entry_is_a_miss(tmp_path: Path, damage: str) -> None:
    cache = rc.ResultCache(tmp_path / "results")
    cache.store(_key(), _entry())
    path = _only_entry(tmp_path)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # a severity changed by hand: the checksum no longer matches
        path.write_bytes(data.replace(b"high", b"info"))
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff" * 100)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        outer = json.loads(data)
        body = json.loads(outer["body"])
        if damage == "retarget":  # stored under another key, checksum recomputed
            body["key"]["a"] = "2"
        else:
            body["findings"][0]["severity"] = "catastrophic"
        outer["body"] = json.dumps(body)
        outer["sha256"] = __import__("hashlib").sha256(outer["body"].encode()).hexdigest()
        path.write_text(json.dumps(outer))
    assert cache.load(_key()) is None


def test_entries_are_private_and_links_are_never_followed(tmp_path: Path) -> None:
    cache = rc.ResultCache(tmp_path / "results")
    cache.store(_key(), _entry())
    path = _only_entry(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "results").stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # an entry replaced by a link to a valid entry elsewhere is not read through
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(elsewhere)
    assert cache.load(_key()) is None
    # storing replaces the link by a file; the link's target is left alone
    before = elsewhere.read_bytes()
    cache.store(_key(), _entry())
    assert not path.is_symlink() and elsewhere.read_bytes() == before


def test_a_linked_job_directory_disables_the_cache(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "target").mkdir()
    (tmp_path / "results" / "bandit").symlink_to(tmp_path / "target")
    cache = rc.ResultCache(tmp_path / "results")
    assert not cache.store(_key(), _entry())
    assert list((tmp_path / "target").iterdir()) == []


def test_prune_keeps_the_newest_entries(tmp_path: Path) -> None:
    cache = rc.ResultCache(tmp_path / "results")
    for n in range(rc.KEEP + 3):
        cache.store(_key(a=str(n)), _entry())
    assert len(list((tmp_path / "results" / "bandit").glob("*.json"))) == rc.KEEP
    assert cache.load(_key(a=str(rc.KEEP + 2))) is not None


def _ctx(tmp_path: Path) -> ScanContext:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return ScanContext(root=root, work_dir=work)


class _Fake:
    name = "bandit"
    executable = "python3"  # any program on PATH: its identity is part of the key


def test_key_parts_follow_config_files_and_ignore_the_temp_dir(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    rules = tmp_path / "rules.yml"
    rules.write_text("rules: []\n")
    job = Job(name="bandit", scanner="bandit",
              argv=("bandit", "--ini", str(ctx.work_dir / "bandit.ini"), "-c", str(rules)))

    def key() -> rc.Key | None:
        return rc.build_key(_Fake(), job, ctx, None, "1.9.4", {}, per_file=True)  # type: ignore[arg-type]

    first = key()
    assert first is not None and str(ctx.work_dir) not in first.parts["argv"]
    rules.write_text("rules: [x]\n")
    assert key() != first
    assert rc.build_key(_Fake(), job, ctx, None, None, {}, per_file=True) is None  # type: ignore[arg-type]


def test_a_per_file_key_follows_the_config_files_the_tree_may_hand_its_scanner(
        tmp_path: Path) -> None:
    """A trusted policy honours the tree's .bandit: a change to it re-scans every file (a
    skip it no longer has must not stay applied to the stored results), while a change to
    any other file, a .bandit it does not honour included, leaves the key as it was."""
    ctx = replace(_ctx(tmp_path), honor_repo_config=frozenset({".bandit"}))
    job = Job(name="bandit", scanner="bandit", argv=("bandit", "-r", "."))

    def key(tree: dict[str, str]) -> rc.Key | None:
        return rc.build_key(_Fake(), job, ctx, None, "1.9.4", tree, per_file=True)  # type: ignore[arg-type]

    tree = {"app.py": "a" * 64, ".bandit": "b" * 64, "sub/.bandit": "c" * 64,
            "sub/x.bandit": "d" * 64, "setup.cfg": "e" * 64}
    first = key(tree)
    assert first is not None
    assert json.loads(first.parts["tree_config"]) == {".bandit": "b" * 64,
                                                      "sub/.bandit": "c" * 64}
    for changed in (".bandit", "sub/.bandit"):
        assert key({**tree, changed: "f" * 64}) != first, changed
    for unchanged in ("app.py", "sub/x.bandit", "setup.cfg"):
        assert key({**tree, unchanged: "f" * 64}) == first, unchanged


# whatever path argv[0] names semgrep by
@pytest.mark.parametrize("exe", ["semgrep", "/opt/tools/bin/pysemgrep"])
def test_rules_from_a_registry_are_never_cached(tmp_path: Path, exe: str) -> None:
    ctx = _ctx(tmp_path)
    job = Job(name="semgrep", scanner="semgrep",
              argv=(exe, "scan", "--json", "--config", "p/python", "."))
    assert rc.build_key(_Fake(), job, ctx, None, "1.185.0", {}, per_file=True) is None  # type: ignore[arg-type]
    rules = tmp_path / "rules.yml"
    rules.write_text("rules: []\n")
    local = Job(name="semgrep", scanner="semgrep",
                argv=(exe, "scan", "--json", "--config", str(rules), "."))
    assert rc.build_key(_Fake(), local, ctx, None, "1.185.0", {}, per_file=True) is not None  # type: ignore[arg-type]


def _semgrep_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: int,
                 args: tuple[str, ...] = (), narrow_to: tuple[str, ...] = ()) -> rc.Key:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)))
    ctx = _ctx(tmp_path)
    scanner = SCANNERS["semgrep"]
    (job,) = scanner.plan(ScannerSettings(name="semgrep", options={}, extra_args=args), ctx)
    if narrow_to:
        narrowed = restrict.narrow(job, narrow_to)
        assert isinstance(narrowed, Job)
        job = narrowed
    key = rc.build_key(scanner, job, ctx, None, "1.185.0", {}, per_file=True)
    assert key is not None
    return key


def test_semgreps_jobs_are_no_part_of_the_key(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache made on a 2-core runner serves a 16-core one: --jobs changes speed only."""
    two = _semgrep_key(tmp_path, monkeypatch, 2)
    assert two == _semgrep_key(tmp_path, monkeypatch, 16)
    assert "--jobs" not in two.parts["argv"]
    assert _semgrep_key(tmp_path, monkeypatch, 2, narrow_to=("a.py",)) == \
        _semgrep_key(tmp_path, monkeypatch, 16, narrow_to=("a.py",)) != two
    # a trusted policy's own -j is its argument, keyed like any other (and no run is
    # taken out in its place, nor a look-alike pair among the paths)
    policy_j = _semgrep_key(tmp_path, monkeypatch, 2, args=("--jobs", "1"))
    assert '"--jobs"' in policy_j.parts["argv"] and policy_j != two
    assert _semgrep_key(tmp_path, monkeypatch, 2, args=("--jobs", "3")) != policy_j
    job = Job(name="semgrep", scanner="semgrep", speed_args=("--jobs", "1"),
              argv=("semgrep", "scan", "--jobs", "1", "--x", "--jobs", "1", "."))
    assert job.result_argv == ("semgrep", "scan", "--x", "--jobs", "1", ".")
    assert replace(job, speed_args=()).result_argv == job.argv


def test_whole_job_keys_need_content_addressed_inputs(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)

    class Trivy:
        name = "trivy"
        executable = "python3"

    image = Job(name="trivy-image", scanner="trivy", argv=("trivy", "image", "alpine:3"),
                meta={"mode": "image", "image": "alpine:3", "scanners": ["vuln"],
                      "skip_db_update": True})
    assert rc.build_key(Trivy(), image, ctx, None, "0.76.0", {}, per_file=False) is None  # type: ignore[arg-type]
    ref = "a@sha256:" + "0" * 64
    pinned = Job(name="trivy-image", scanner="trivy", argv=("trivy", "image", ref),
                 meta={**image.meta, "image": ref})
    assert rc.build_key(Trivy(), pinned, ctx, None, "0.76.0", {}, per_file=False) is not None  # type: ignore[arg-type]
    fetching = Job(name="trivy-image", scanner="trivy", argv=pinned.argv,
                   meta={**pinned.meta, "skip_db_update": False})
    assert rc.build_key(Trivy(), fetching, ctx, None, "0.76.0", {}, per_file=False) is None  # type: ignore[arg-type]

    class PipAudit:
        name = "pip-audit"
        executable = "python3"

    live = Job(name="pip-audit", scanner="pip-audit", argv=("pip-audit",),
               meta={"pins": [], "osv_url": None})
    assert rc.build_key(PipAudit(), live, ctx, None, "2.9.0", {}, per_file=False) is None  # type: ignore[arg-type]


def test_manifest_skips_what_the_scanners_skip(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("x = 1\n")
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / ".venv" / "lib" / "b.py").write_text("y = 2\n")
    (root / "report").mkdir()
    (root / "report" / "findings.json").write_text("{}")
    (root / "linkdir").symlink_to(root / "src")
    os.mkfifo(root / "fifo")
    files = treedigest.manifest(root, exclude_dirs=("report",))
    assert sorted(files) == ["src/a.py"]
    changed = dict(files, **{"src/new.py": "1" * 64})
    del changed["src/a.py"]
    assert treedigest.changes(files, changed) == (["src/new.py"], ["src/a.py"])


def test_a_binarys_version_is_remembered_per_executable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin" / "trivy"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'Version: 0.76.0'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(toolpath, "interpreter_dir", lambda: fake.parent)
    cache = rc.ResultCache(tmp_path / "results")
    trivy = SCANNERS["trivy"]
    assert cache.known_version(trivy) is None  # never seen: its run will say
    cache.remember_version(trivy, "0.76.0")
    assert cache.known_version(trivy) == "0.76.0"
    assert stat.S_IMODE((tmp_path / "results" / rc.VERSIONS).stat().st_mode) == 0o600
    # another binary at that path (its size and mtime change): not known any more
    fake.write_text("#!/bin/sh\necho 'Version: 0.77.1 (a longer build)'\n")
    os.utime(fake, ns=(1, 1))
    assert cache.known_version(trivy) is None
    cache.remember_version(trivy, "0.77.1")
    assert cache.known_version(trivy) == "0.77.1"
    # a damaged or linked memo remembers nothing
    (tmp_path / "results" / rc.VERSIONS).write_text("{not json")
    assert cache.known_version(trivy) is None
    (tmp_path / "results" / rc.VERSIONS).unlink()
    (tmp_path / "elsewhere.json").write_text(json.dumps({"x": "1"}))
    (tmp_path / "results" / rc.VERSIONS).symlink_to(tmp_path / "elsewhere.json")
    assert cache.known_version(trivy) is None


def test_a_python_tools_version_comes_from_its_dist_info(tmp_path: Path) -> None:
    cache = rc.ResultCache(tmp_path / "results")
    assert cache.known_version(SCANNERS["bandit"]) == "1.9.4"
    assert not (tmp_path / "results").exists()  # nothing to remember, nothing written
