"""The result cache end to end with the real scanners: it answers only when nothing its
results depend on changed, and each kind of change invalidates exactly its own scanners.

One cold scan fills a cache; each test copies that cache and the tree, changes one thing and
compares the warm scan with a scan that uses no cache at all.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from posture_gate import resultcache, runner, treedigest
from posture_gate.model import ScanResult
from posture_gate.policy.schema import load_policy
from posture_gate.scan import ScanOptions, scan
from tests.conftest import ADVISORIES, WEBAPP

pytestmark = pytest.mark.slow

SCANNERS = ("bandit", "semgrep", "pip-audit", "trivy")
TODAY = datetime.date(2026, 12, 1)
POLICY = """\
version: 1
scanners:
  bandit: {bandit}
  semgrep: {{config: [{rules}]}}
  pip-audit: {{}}
  trivy: {{}}
gates:
  code: {{max: {{{gate}: 0}}}}
"""
RULES = """\
rules:
  - id: planted-eval
    languages: [python]
    severity: ERROR
    message: eval of {what}
    pattern: eval(...)
"""
PLANT = "\nimport subprocess\nsubprocess.call(user_input, shell=True)  # planted\neval(x)\n"


class Case:
    def __init__(self, base: Path, cold: Path) -> None:
        base.mkdir(exist_ok=True)
        self.base = base
        self.root = base / "webapp"
        shutil.copytree(cold / "webapp", self.root)
        shutil.copytree(cold / "cache", base / "cache")
        shutil.copytree(cold / "advisories", base / "advisories")
        # the rule file's path is part of semgrep's key: every case shares the cold one
        self.rules = cold / "rules.yml"
        self.bandit, self.gate = "{}", "critical"

    def policy_path(self) -> Path:
        path = self.base / "policy.yml"
        path.write_text(POLICY.format(bandit=self.bandit, rules=self.rules, gate=self.gate))
        return path

    def scan(self, *, cache: bool = True) -> ScanResult:
        policy = load_policy(str(self.policy_path()), today=TODAY)
        result, _ = scan(policy, ScanOptions(
            root=self.root, output_dir=self.base / ("out" if cache else "out-nocache"),
            advisories=self.base / "advisories", cache_dir=self.base / "cache",
            result_cache=cache))
        return result


def _cache_state(result: ScanResult) -> dict[str, str | None]:
    return {r.name: r.cache for r in result.scanners}


def _keys(result: ScanResult) -> list[tuple[str, str, str, int | None]]:
    return sorted((f.scanner, f.rule_id, f.location.path if f.location else "",
                   f.location.start_line if f.location else None) for f in result.findings)


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("cold")
    shutil.copytree(WEBAPP, base / "webapp")
    shutil.copytree(ADVISORIES, base / "advisories")
    (base / "rules.yml").write_text(RULES.format(what="anything"))
    _cold_scan(base)
    return base


def _cold_scan(base: Path) -> None:
    case = Case.__new__(Case)
    case.base, case.root, case.rules = base, base / "webapp", base / "rules.yml"
    case.bandit, case.gate = "{}", "critical"
    result = case.scan()
    assert all(r.status.value == "ok" for r in result.scanners), result.scanners
    assert _cache_state(result) == dict.fromkeys(SCANNERS)


@pytest.fixture
def case(tmp_path: Path, cold: Path) -> Case:
    return Case(tmp_path, cold)


def _check(case: Case, expected: dict[str, str | None]) -> ScanResult:
    warm = case.scan()
    assert _cache_state(warm) == expected
    full = case.scan(cache=False)
    assert _cache_state(full) == dict.fromkeys(SCANNERS)
    # what the cache answered is what a scan without it finds
    assert _keys(warm) == _keys(full)
    assert sorted(f.fingerprint for f in warm.findings) == \
        sorted(f.fingerprint for f in full.findings)
    return warm


def test_unchanged_tree_is_answered_from_the_cache(case: Case) -> None:
    _check(case, dict.fromkeys(SCANNERS, "hit"))


def test_a_planted_finding_in_the_changed_file_is_found(case: Case) -> None:
    target = case.root / "app" / "views.py"
    target.write_text(target.read_text() + PLANT)
    warm = _check(case, {"bandit": "partial", "semgrep": "partial", "pip-audit": "hit",
                         "trivy": None})
    planted = [f for f in warm.findings if f.location and f.location.path == "app/views.py"
               and f.rule_id in ("B602", "planted-eval")]
    assert {f.rule_id for f in planted} == {"B602", "planted-eval"}
    bandit = warm.scanner_run("bandit")
    assert bandit is not None and bandit.properties.get("rescanned_files") == 1


def test_a_deleted_file_takes_its_findings_with_it(case: Case) -> None:
    victim = next(p for p in sorted(case.root.rglob("*.py")) if "subprocess" in p.read_text()
                  or "eval" in p.read_text())
    victim.unlink()
    _check(case, {"bandit": "partial", "semgrep": "partial", "pip-audit": "hit",
                  "trivy": None})


def test_a_rule_change_invalidates_semgrep_only(tmp_path: Path) -> None:
    own = tmp_path / "cold"  # a cold cache of its own: the rule file changes in place
    shutil.copytree(WEBAPP, own / "webapp")
    shutil.copytree(ADVISORIES, own / "advisories")
    (own / "rules.yml").write_text(RULES.format(what="anything"))
    _cold_scan(own)
    case = Case(tmp_path / "case", own)
    (own / "rules.yml").write_text(RULES.format(what="something else"))
    _check(case, {"bandit": "hit", "semgrep": None, "pip-audit": "hit", "trivy": "hit"})


def test_a_tool_version_change_invalidates_that_tool_only(
        case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    real: Callable[..., str | None] = resultcache.ResultCache.known_version
    monkeypatch.setattr(resultcache.ResultCache, "known_version",
                        lambda self, s: "9.9.9" if s.name == "bandit" else real(self, s))
    warm = case.scan()
    assert _cache_state(warm) == {"bandit": None, "semgrep": "hit", "pip-audit": "hit",
                                  "trivy": "hit"}


def test_an_upgraded_python_tool_is_seen_from_its_dist_info(
        case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    # what `pip install -U bandit` changes: the dist-info name beside its console script
    real: Callable[[str, str | None], str | None] = runner.installed_version
    monkeypatch.setattr(runner, "installed_version",
                        lambda exe, dist: "9.9.9" if dist == "bandit" else real(exe, dist))
    warm = case.scan()
    assert _cache_state(warm) == {"bandit": None, "semgrep": "hit", "pip-audit": "hit",
                                  "trivy": "hit"}
    assert next(s for s in warm.scanners if s.name == "bandit").version == "9.9.9"


def test_an_advisory_update_invalidates_pip_audit_only(case: Case) -> None:
    record = case.base / "advisories" / "flask" / "PYSEC-2023-62.yaml"
    text = record.read_text()
    assert re.search(r"^modified: .*$", text, flags=re.M)
    record.write_text(re.sub(r"^modified: .*$", "modified: '2026-11-30T00:00:00Z'", text,
                             flags=re.M))
    _check(case, {"bandit": "hit", "semgrep": "hit", "pip-audit": None, "trivy": "hit"})


def test_a_policy_change_invalidates_what_it_configures(case: Case) -> None:
    case.gate = "high"  # a gate is evaluated afresh: no scanner result depends on it
    _check(case, dict.fromkeys(SCANNERS, "hit"))
    case.bandit = "{skip: [B101]}"
    _check(case, {"bandit": None, "semgrep": "hit", "pip-audit": "hit", "trivy": "hit"})


def test_a_corrupt_entry_is_a_miss(case: Case) -> None:
    for entry in (case.base / "cache" / "results" / "bandit").glob("*.json"):
        entry.write_bytes(entry.read_bytes()[:-40])
    _check(case, {"bandit": None, "semgrep": "hit", "pip-audit": "hit", "trivy": "hit"})


def test_zizmor_is_answered_from_the_cache_until_the_tree_changes(tmp_path: Path) -> None:
    # keyed by the whole tree (as trivy fs): which files an audit reads is zizmor's business
    root = tmp_path / "repo"
    workflow = root / ".github" / "workflows" / "release.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: release\non: push\npermissions: {}\njobs:\n  release:\n"
                        "    runs-on: ubuntu-latest\n    steps:\n"
                        "      - uses: actions/setup-node@v4 # zizmor: ignore[unpinned-uses]\n")
    (root / "app.py").write_text("print(1)\n")
    (tmp_path / "policy.yml").write_text("version: 1\nscanners:\n  zizmor: {required: true}\n")
    policy = load_policy(str(tmp_path / "policy.yml"), today=TODAY)

    def run(cache: bool = True) -> ScanResult:
        result, _ = scan(policy, ScanOptions(root=root, output_dir=tmp_path / "out",
                                             cache_dir=tmp_path / "cache", result_cache=cache))
        assert [(r.name, r.status.value) for r in result.scanners] == [("zizmor", "ok")]
        return result

    def open_findings(r: ScanResult) -> list[str]:
        return sorted(f.rule_id for f in r.findings if f.suppression is None)

    assert _cache_state(run()) == {"zizmor": None}
    warm = run()
    assert _cache_state(warm) == {"zizmor": "hit"} and _keys(warm) == _keys(run(cache=False))
    assert open_findings(warm) == [] and len(warm.findings) == 1  # the suppressed one
    workflow.write_text(workflow.read_text().replace(" # zizmor: ignore[unpinned-uses]", ""))
    changed = run()
    assert _cache_state(changed) == {"zizmor": None}
    assert open_findings(changed) == ["unpinned-uses"]
    assert _keys(changed) == _keys(run(cache=False))
    assert _cache_state(run()) == {"zizmor": "hit"}
    (root / "app.py").write_text("print(2)\n")  # any file of the tree
    assert _cache_state(run()) == {"zizmor": None}


def test_a_file_written_during_the_scan_stores_nothing(
        case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    # a build step writing into the tree while the scanners read it: what they found may
    # be the old bytes or the new, so no result is kept under either
    shutil.rmtree(case.base / "cache")
    target = case.root / "app" / "views.py"
    before = target.stat()
    text = target.read_text()
    real_start = runner.Launcher.start

    def start_then_write(self: runner.Launcher, scanner: Any, job: Any) -> Any:
        if target.read_text() == text:  # the first job starts after the tree was hashed
            target.write_text(text.replace("HTTP", "http", 1))  # same size
            os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
        return real_start(self, scanner, job)
    monkeypatch.setattr(runner.Launcher, "start", start_then_write)
    assert _cache_state(case.scan()) == dict.fromkeys(SCANNERS)
    monkeypatch.undo()
    assert target.stat().st_size == before.st_size
    assert _cache_state(case.scan()) == dict.fromkeys(SCANNERS)  # nothing was stored
    assert _cache_state(case.scan()) == dict.fromkeys(SCANNERS, "hit")  # now it was


def test_an_edit_keeping_size_and_mtime_is_found_past_the_tree_memo(
        case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    # the tree was copied a moment ago: count it as settled, so that the second scan takes
    # every other file's digest from the first one's memo (treememo.py)
    monkeypatch.setattr(treedigest, "RACY_NS", 0)
    assert _cache_state(case.scan()) == dict.fromkeys(SCANNERS, "hit")
    target = case.root / "app" / "views.py"
    before, text = target.stat(), target.read_text()
    head = '"""HTTP endpoints."""'
    target.write_text(text.replace(head, "eval(x)".ljust(len(head), "#"), 1))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert target.stat().st_size == before.st_size
    warm = _check(case, {"bandit": "partial", "semgrep": "partial", "pip-audit": "hit",
                         "trivy": None})
    assert {f.rule_id for f in warm.findings if f.location and f.location.start_line == 1
            and f.location.path == "app/views.py"} >= {"B307", "planted-eval"}
