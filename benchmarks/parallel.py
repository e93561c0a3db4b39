"""Wall time of posture-gate on examples/ against its scanners run alone and in sequence.

Not a test: prints figures. Targets (issue #2): posture-gate <= 0.7 x the sequential sum
and <= 1.15 x the slowest single scanner.

    python benchmarks/parallel.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCANNERS = ("pip-audit", "bandit", "semgrep", "trivy")


def timed(root: Path, out: Path, only: tuple[str, ...]) -> float:
    argv = [str(Path(sys.executable).parent / "posture-gate"), "scan", str(root),
            "--advisories", str(REPO / "examples" / "advisories"), "-o", str(out),
            "--format", "json"]
    for name in only:
        argv += ["--only", name]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"scan failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "webapp"
        shutil.copytree(REPO / "examples" / "webapp", root)
        timed(root, Path(tmp) / "warm", ())  # warm caches (semgrep rule parsing, imports)
        alone = {n: statistics.median(timed(root, Path(tmp) / n, (n,))
                                      for _ in range(args.repeat)) for n in SCANNERS}
        together = statistics.median(timed(root, Path(tmp) / "all", ())
                                     for _ in range(args.repeat))
    sequential = sum(alone.values())
    slowest_name = max(alone, key=lambda n: alone[n])
    slowest = alone[slowest_name]
    for name, seconds in alone.items():
        print(f"{name:10s} alone      {seconds:6.2f} s")
    print(f"{'sequential':10s} sum        {sequential:6.2f} s")
    print(f"{'posture-gate':12s} parallel {together:6.2f} s")
    print(f"ratio to sequential sum: {together / sequential:.2f} (target <= 0.70)")
    print(f"ratio to slowest ({slowest_name}): {together / slowest:.2f} (target <= 1.15)")


if __name__ == "__main__":
    main()
