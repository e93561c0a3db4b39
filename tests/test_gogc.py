"""trivy's Go GC settings: tuned unless the CI owner set them, bounded by the memory this
process may use (RAM or a lower cgroup limit), and never part of a result cache key."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from posture_gate import gogc
from posture_gate import resultcache as rc
from posture_gate.scanners.base import ScanContext, ScannerSettings
from posture_gate.scanners.trivy import Trivy

GIB = 2**30


def _cgroups(tmp_path: Path, files: dict[str, str], own: str) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    self_file = tmp_path / "self-cgroup"
    self_file.write_text(own)
    return root, self_file


def test_a_ci_owners_setting_wins() -> None:
    assert gogc.settings({"GOGC": "50"}, memory=8 * GIB) == {}
    assert gogc.settings({"GOMEMLIMIT": "1GiB"}, memory=8 * GIB) == {}
    assert gogc.settings({}, memory=8 * GIB) == {"GOGC": "400", "GOMEMLIMIT": "4096MiB"}
    assert gogc.settings({}, memory=10 * 2**20)["GOMEMLIMIT"] == "64MiB"


def test_a_cgroup_v2_limit_above_us_bounds_the_heap(tmp_path: Path) -> None:
    root, own = _cgroups(tmp_path, {"memory.max": "max", "ci/memory.max": str(2 * GIB),
                                    "ci/job/memory.max": "max"}, "0::/ci/job\n")
    assert gogc.usable_memory(root, own) == 2 * GIB
    assert gogc.settings({}, memory=gogc.usable_memory(root, own))["GOMEMLIMIT"] == "1024MiB"


def test_a_cgroup_v1_limit_counts_and_no_limit_means_ram(tmp_path: Path) -> None:
    ram = gogc.usable_memory(tmp_path / "none", tmp_path / "none")
    assert ram is not None and ram > 0
    root, own = _cgroups(tmp_path, {"memory/docker/x/memory.limit_in_bytes": str(GIB),
                                    "memory/memory.limit_in_bytes": str(2**63 - 4096)},
                         "5:cpu:/\n4:memory:/docker/x\n")
    assert gogc.usable_memory(root, own) == min(GIB, ram)
    root, own = _cgroups(tmp_path / "b", {"memory.max": "max\n",
                                          "memory/memory.limit_in_bytes": "junk"}, "0::/\n")
    assert gogc.usable_memory(root, own) == ram


def test_a_cgroup_path_cannot_climb_out(tmp_path: Path) -> None:
    root, own = _cgroups(tmp_path, {"memory.max": "max"}, "0::/../../secret\n")
    (tmp_path / "memory.max").write_text("1")
    assert gogc.usable_memory(root, own) == gogc.usable_memory(root, tmp_path / "none")


def test_trivy_jobs_carry_them_and_cache_keys_ignore_them(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path / "w", images=("a.tar",))
    jobs = Trivy().plan(ScannerSettings(name="trivy", options={}), ctx)
    assert [j.env.get("GOGC") for j in jobs] == ["400", "400"]
    assert all(j.speed_env == {"GOGC", "GOMEMLIMIT"} for j in jobs)
    (fs, _) = jobs
    assert rc._env(fs, ctx) == rc._env(replace(fs, env={**fs.env, "GOMEMLIMIT": "1MiB"}), ctx)
    assert rc._env(fs, ctx) != rc._env(replace(fs, env={**fs.env, "X": "1"}), ctx)
    # the same names set by hand (not the plan's tuning) are keyed
    assert rc._env(fs, ctx) != rc._env(replace(fs, speed_env=frozenset()), ctx)
