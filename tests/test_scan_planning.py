"""scan.Planning: each scanner is planned when the runner asks for its jobs, costliest first,
so the lead job runs while the rest are planned; jobs, failures and outcomes come back in
the policy's order."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from posture_gate import scan
from posture_gate.cachedrun import run_cached
from posture_gate.errors import ScannerError
from posture_gate.model import RunStatus
from posture_gate.policy.model import Policy
from posture_gate.resultcache import ResultCache
from posture_gate.runner import run_all
from posture_gate.scanners.base import Job, ScanContext, Scanner, ScannerSettings, Weight
from tests.support.probe import Probe

MARKER = "lead-started"


class _Lead(Probe):
    name = "lead"
    cost = 9

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        return [self.job(f"open({MARKER!r}, 'w').close(); print('{{\"ran\": \"lead\"}}')")]


class _Later(Probe):
    """Planned after the lead: its plan looks for the file the lead's process writes."""

    name = "later"
    cost = 1
    wait_s = 30.0

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        marker = ctx.root / MARKER
        deadline = time.monotonic() + self.wait_s  # a bound on the wait, not a measurement
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen = json.dumps(marker.exists())
        return [self.job(f"print('{{\"ran\": \"later\", \"lead_was_running\": {seen}}}')")]


class _Broken(Probe):
    name = "broken"
    cost = 1

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        raise ScannerError(self.name, "nothing to scan")


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> Policy:
    scanners: dict[str, Scanner] = {"broken": _Broken(), "later": _Later(), "lead": _Lead()}
    monkeypatch.setattr(scan, "SCANNERS", scanners)
    return Policy(source="test", digest="0", scanners={
        name: ScannerSettings(name=name) for name in scanners})  # the policy's order


@pytest.mark.parametrize("cached", [False, True])
def test_the_lead_runs_while_the_others_are_planned(tmp_path: Path, probes: Policy,
                                                    cached: bool) -> None:
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path)
    planning = scan.Planning(policy=probes, ctx=ctx)
    if cached:
        started = run_cached(planning, ctx, tmp_path / "staged",
                             ResultCache(tmp_path / "cache"), probes.scanner_settings())
    else:
        started = run_all(planning, ctx, tmp_path / "staged")
    assert [o.run.properties.get("ran") for o in started] == ["lead", "later"]
    assert started[1].run.properties["lead_was_running"] is True
    # the policy's order again: jobs, their outcomes and the failure planning had
    outcomes = planning.in_policy_order(started)
    assert [j.name for _, j in planning.jobs] == ["later", "lead"]
    assert [o.run.properties.get("ran") for o in outcomes] == ["later", "lead"]
    assert [(r.name, r.status, r.reason) for r in planning.failed] == [
        ("broken", RunStatus.FAILED, "nothing to scan")]


def test_plan_keeps_the_policys_order(tmp_path: Path, probes: Policy) -> None:
    (tmp_path / MARKER).touch()  # later's plan has nothing to wait for here
    jobs, failed = scan.plan(probes, ScanContext(root=tmp_path, work_dir=tmp_path))
    assert [j.name for _, j in jobs] == ["later", "lead"]
    assert [r.name for r in failed] == ["broken"]


class _PythonHeavy(_Lead):
    """Cheap by its cost, the costliest on a tree with Python in it (as bandit on a large
    tree that is mostly Python): it leads only if the scan weighs the tree first."""

    name = "python-heavy"
    cost = 1

    def lead_cost(self, tree: Weight | None) -> int:
        return 9 if tree is not None and tree.python > tree.other else self.cost


class _Costly(_Later):
    name = "costly"
    cost = 5
    wait_s = 5.0


def test_a_scan_weighs_the_tree_before_it_picks_the_lead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """scan.scan hashes the tree (result cache on) before any scanner starts, and the
    snapshot's bytes pick the lead: the probe that is costliest on a Python tree runs while
    the one of higher static cost is planned (it would lead, and see nothing running,
    were the tree not weighed)."""
    scanners: dict[str, Scanner] = {"costly": _Costly(), "python-heavy": _PythonHeavy()}
    monkeypatch.setattr(scan, "SCANNERS", scanners)
    policy = Policy(source="test", digest="0", scanners={
        name: ScannerSettings(name=name) for name in scanners})
    root = tmp_path / "tree"
    root.mkdir()
    (root / "app.py").write_text("x = 1\n" * 100)
    (root / "notes.txt").write_text("x\n")
    result, _ = scan.scan(policy, scan.ScanOptions(
        root=root, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
        result_cache=True))
    ran = {r.name: r.properties for r in result.scanners}
    assert ran["costly"]["lead_was_running"] is True
    assert ran["python-heavy"]["ran"] == "lead"
