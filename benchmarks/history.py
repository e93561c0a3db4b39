"""Speed of the run history: a year of nightly runs, then `history show`.

Not a test: prints figures. Writes 365 nightly runs of 2,000 findings each (1% of them
fixed and replaced by new ones every night), then times `posture-gate history show`
(target: under 1 s) and the other reads a scan makes.

    python benchmarks/history.py [--runs 365] [--findings 2000]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from posture_gate import history, history_read
from posture_gate.commands.history import show_text
from posture_gate.model import (
    Category,
    Finding,
    Location,
    RunStatus,
    ScannerRun,
    ScanResult,
    Severity,
)
from posture_gate.policy.evaluate import Verdict
from posture_gate.policy.model import VerdictStatus

CATS = list(Category)
SEVS = list(Severity)


def finding(n: int) -> Finding:
    return Finding(fingerprint=hashlib.sha256(str(n).encode()).hexdigest(), scanner="bandit",
                   scanner_version="1", rule_id=f"R{n % 97}", category=CATS[n % len(CATS)],
                   severity=SEVS[n % len(SEVS)], title=f"finding {n}", message="",
                   found_by=("bandit",), location=Location(path=f"app/m{n % 300}.py"),
                   target=("api", "web", None)[n % 3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=365)
    parser.add_argument("--findings", type=int, default=2000)
    args = parser.parse_args()
    churn = max(1, args.findings // 100)
    scanners = (ScannerRun(name="bandit", scanner="bandit", status=RunStatus.OK, version="1"),)
    start = datetime.datetime(2026, 1, 1, 2, tzinfo=datetime.timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "posture-history.sqlite"
        write_times = []
        for day in range(args.runs):
            ids = range(day * churn, day * churn + args.findings)
            fs = tuple(finding(n) for n in ids)
            run = ScanResult(tool_version="0", started_at="", finished_at="", root="/r",
                             policy="p", policy_digest="d", scanners=scanners, findings=fs)
            verdict = Verdict(status=VerdictStatus.FAIL, gates=(), findings=fs,
                              new_fingerprints=frozenset())
            t = time.perf_counter()
            history.record(path, run, verdict, start + datetime.timedelta(days=day))
            write_times.append(time.perf_counter() - t)
        size = path.stat().st_size

        def timed(fn: object, repeat: int = 5) -> float:
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                fn()  # type: ignore[operator]
                times.append(time.perf_counter() - t)
            return statistics.median(times)

        exe = Path(sys.executable).parent / "posture-gate"
        show_cli = timed(lambda: subprocess.run([str(exe), "history", "show", "--history",
                                                 str(path)], capture_output=True, check=True))
        show_all_cli = timed(lambda: subprocess.run(
            [str(exe), "history", "show", "--history", str(path), "--runs", "0"],
            capture_output=True, check=True))
        show_fn = timed(lambda: show_text(path))
        first_seen = timed(lambda: history.first_seen(path))
        trends = timed(lambda: history.trends(path, history.TREND_RUNS))
        export = timed(lambda: history_read.export_jsonl(path, io.StringIO()), 1)
        n_findings = len(history.first_seen(path))

    print(f"history: {args.runs} runs x {args.findings} findings "
          f"({n_findings} distinct), file {size / 1e6:.1f} MB")
    print(f"record one run         median {statistics.median(write_times) * 1000:7.1f} ms, "
          f"max {max(write_times) * 1000:7.1f} ms, all {sum(write_times):6.1f} s")
    print(f"history show (CLI)     {show_cli:7.3f} s  (target < 1 s)")
    print(f"history show --runs 0  {show_all_cli:7.3f} s")
    print(f"show_text() in-process {show_fn:7.3f} s")
    print(f"first_seen()           {first_seen:7.3f} s")
    print(f"trends(365)            {trends:7.3f} s")
    print(f"export_jsonl()         {export:7.3f} s")


if __name__ == "__main__":
    main()
