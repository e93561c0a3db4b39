"""What the result cache decides for each job before it runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from posture_gate import cachedrun
from posture_gate.resultcache import ResultCache
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import Job, ScanContext

BANDIT = Job(name="bandit", scanner="bandit",
             argv=("bandit", "-r", ".", "-f", "json", "-q", "--ignore-nosec", "--ini",
                   "/tmp/x/bandit.ini", "-x", "*/.venv/*"))
TRIVY = Job(name="trivy", scanner="trivy", argv=("trivy", "fs", "--format", "json", "."))


@pytest.fixture
def unseen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ResultCache:
    """A cache that knows no scanner's version yet (a binary it never saw)."""
    monkeypatch.setattr(ResultCache, "known_version", lambda self, scanner: None)
    return ResultCache(tmp_path / "results")


def _decide(cache: ResultCache, job: Job, changed: list[str] | None,
            tmp_path: Path) -> cachedrun._Plan:
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path)
    return cachedrun._decide(cache, SCANNERS[job.scanner], job, ctx, {}, {}, changed, {})


def test_an_unknown_version_runs_the_job_and_keys_it_after(unseen: ResultCache,
                                                           tmp_path: Path) -> None:
    for job in (BANDIT, TRIVY):
        p = _decide(unseen, job, None, tmp_path)
        assert p.run is job and p.key is None and p.keyed_after


def test_the_pr_lane_still_narrows_file_jobs_whose_version_is_unknown(
        unseen: ResultCache, tmp_path: Path) -> None:
    p = _decide(unseen, BANDIT, ["src/a.py", "README.md"], tmp_path)
    assert p.run is not None and p.run.argv[:3] == ("bandit", "-r", "./src/a.py")
    assert p.changed == 2 and not p.keyed_after  # narrowed runs are never cached
    p = _decide(unseen, TRIVY, ["src/a.py"], tmp_path)  # whole-tree jobs run whole
    assert p.run is TRIVY and p.keyed_after
