"""parseahead.py parses, while a code scanner still runs on a core left idle, the files the
code scanners that ended have flagged, into the index dedup reads; never while the jobs
fill the cores, never once no code scanner runs, never a file dedup could not read."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest

from posture_gate import parseahead
from posture_gate.merge import dedup
from posture_gate.model import Category, Finding, Location, RunStatus, ScannerRun, Severity
from posture_gate.parseahead import parse_ahead
from posture_gate.runner import JobOutcome, Running
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import Job
from posture_gate.statements import StatementIndex

QUERY = "def f(cur, name):\n    q = 'SELECT %s' % name\n    cur.execute(q)\n"


def _finding(scanner: str, path: str, line: int, rule: str = "B608") -> Finding:
    return Finding(fingerprint=scanner[0] * 60 + f"{line:04d}", scanner=scanner,
                   scanner_version="1", found_by=(scanner,), rule_id=rule,
                   category=Category.CODE, severity=Severity.MEDIUM, title="t", message="m",
                   location=Location(path=path, start_line=line, end_line=line),
                   identifiers=("CWE-89",))


def _ended(scanner: str, findings: tuple[Finding, ...]) -> Future[JobOutcome]:
    done: Future[JobOutcome] = Future()
    done.set_result(JobOutcome(run=ScannerRun(name=scanner, scanner=scanner,
                                              status=RunStatus.OK), findings=findings))
    return done


def _job(name: str) -> Job:
    return Job(name=name, scanner=name, argv=(name,))


def _running(ended: Future[JobOutcome], still: Future[JobOutcome],
             still_scanner: str = "bandit") -> Running:
    return Running([(SCANNERS["semgrep"], _job("semgrep"), ended),
                    (SCANNERS[still_scanner], _job(still_scanner), still)])


def _end_when(still: Future[JobOutcome], ready: Callable[[], bool]) -> threading.Thread:
    """Ends the running job once `ready()` holds, or after 10 s."""
    def end() -> None:
        for _ in range(1000):
            if ready():
                break
            threading.Event().wait(0.01)
        still.set_result(JobOutcome(run=ScannerRun(name="bandit", scanner="bandit",
                                                   status=RunStatus.OK), findings=()))
    thread = threading.Thread(target=end)
    thread.start()
    return thread


def test_flagged_files_are_parsed_while_the_last_code_scanner_runs(tmp_path: Path) -> None:
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text(QUERY)
    (tmp_path / "notes.txt").write_text(QUERY)
    spans = StatementIndex(tmp_path)
    ended = _ended("semgrep", (_finding("semgrep", "a.py", 2), _finding("semgrep", "b.py", 3),
                               _finding("semgrep", "notes.txt", 1)))
    still: Future[JobOutcome] = Future()
    seen = spans._files  # what the index holds: filled only by load()
    thread = _end_when(still, lambda: {"a.py", "b.py"} <= seen.keys())
    parsed = parse_ahead(spans, _running(ended, still), cores=2)
    thread.join()
    assert parsed == 2
    assert set(seen) == {"a.py", "b.py"}  # c.py was not flagged; notes.txt is not Python
    assert seen["a.py"] is not None


def test_nothing_is_parsed_while_the_jobs_fill_the_cores(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(QUERY)
    spans = StatementIndex(tmp_path)
    still: Future[JobOutcome] = Future()
    began = time.monotonic()
    thread = _end_when(still, lambda: time.monotonic() - began > 0.3)
    parsed = parse_ahead(spans, _running(_ended("semgrep", (_finding("semgrep", "a.py", 2),)),
                                         still), cores=1)
    thread.join()
    assert parsed == 0
    assert spans._files == {}


def test_nothing_is_parsed_once_no_code_scanner_runs(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(QUERY)
    spans = StatementIndex(tmp_path)
    still: Future[JobOutcome] = Future()  # trivy, for 1 s: parse_ahead need not wait
    began = time.monotonic()
    thread = _end_when(still, lambda: time.monotonic() - began > 1)
    ended = _ended("semgrep", (_finding("semgrep", "a.py", 2),))
    assert parse_ahead(spans, _running(ended, still, "trivy"), cores=4) == 0
    thread.join()
    assert spans._files == {}


def test_a_flagged_link_out_of_the_tree_or_a_path_out_of_it_is_not_read(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside.py").write_text(QUERY)
    (root / "link.py").symlink_to(tmp_path / "outside.py")
    spans = StatementIndex(root)
    ended = _ended("semgrep", (_finding("semgrep", "link.py", 2),
                               _finding("semgrep", "../outside.py", 2)))
    still: Future[JobOutcome] = Future()
    seen = spans._files
    thread = _end_when(still, lambda: len(seen) == 2)
    assert parse_ahead(spans, _running(ended, still), cores=2) == 2
    thread.join()
    assert seen == {"link.py": None, "../outside.py": None}
    assert spans.relation("link.py", 2, 3) is None


def test_dedup_merges_alike_with_the_index_read_ahead(tmp_path: Path) -> None:
    """The statement that spans lines 2 and 3 makes one finding of bandit's line 3 and
    semgrep's line 2, read ahead or not."""
    (tmp_path / "a.py").write_text(QUERY)
    found = [_finding("semgrep", "a.py", 2, "python.sql"), _finding("bandit", "a.py", 3)]
    spans = StatementIndex(tmp_path)
    still: Future[JobOutcome] = Future()
    thread = _end_when(still, lambda: "a.py" in spans._files)
    assert parse_ahead(spans, _running(_ended("semgrep", (found[0],)), still), cores=2) == 1
    thread.join()
    ahead, _ = dedup(found, root=tmp_path, spans=spans)
    fresh, _ = dedup(found, root=tmp_path)
    assert len(ahead) == len(fresh) == 1
    assert ahead == fresh


def test_reading_ahead_stops_at_its_byte_budget(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """What is parsed ahead is held until dedup ends: past AHEAD_BYTES of source, the rest
    is left to dedup."""
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text(QUERY)
    monkeypatch.setattr(parseahead, "AHEAD_BYTES", len(QUERY) + 1)
    spans = StatementIndex(tmp_path)
    ended = _ended("semgrep", tuple(_finding("semgrep", n, 2) for n in ("a.py", "b.py", "c.py")))
    still: Future[JobOutcome] = Future()
    began = time.monotonic()
    thread = _end_when(still, lambda: time.monotonic() - began > 1)
    assert parse_ahead(spans, _running(ended, still), cores=2) == 2
    thread.join()
    assert set(spans._files) == {"a.py", "b.py"} and spans.bytes_read == 2 * len(QUERY)
