"""Wall time of posture-gate against its scanners run alone and in sequence.

Not a test: prints figures. Targets (issues #2, #13): posture-gate <= 0.7 x the four tools in
sequence and <= 1.15 x the slowest tool alone (no result cache).

    python benchmarks/parallel.py [--target DIR] [--advisories DIR|ZIP|TAR.GZ] [--repeat 5]
                                  [--policy FILE]

Default: examples/webapp with examples/advisories. "Alone" is each tool itself, run with the
very argv posture-gate plans for it (pip-audit against an OSV server that is already up and
warm), not posture-gate --only. posture-gate is timed end to end (process start to exit,
JSON report) twice: with the advisory index already in its cache (the steady state), and
with an empty cache (the first run after an advisory update). Two more rows say what the
machine allows with no posture-gate at all: the same jobs started at once by a bare loop,
at equal priority and with the lead job first (runner.run_all's scheduling). Each run gets
a fresh cache directory, so nothing else it might cache is warm. The target is copied
first: no tool writes into it. CPU is the children's user + system time: on a machine with
fewer free cores than tools, the wall ratios are bound by it, and the "bound" row prints
that floor (the tools' CPU in sequence over the cores, or the slowest tool alone).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from posture_gate import advisories, priority, treedigest  # noqa: E402
from posture_gate.osv_server import OsvServer  # noqa: E402
from posture_gate.policy import trust  # noqa: E402
from posture_gate.runner import BACKGROUND_NICE, launch_order  # noqa: E402
from posture_gate.scan import plan  # noqa: E402
from posture_gate.scanners.base import ScanContext  # noqa: E402

BIN = Path(sys.executable).parent


def env_with(**extra: str) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **extra}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def posture_gate_run(root: Path, out: Path, source: Path, cache_home: Path,
                     policy: Path | None) -> tuple[float, float]:
    argv = [str(BIN / "posture-gate"), "scan", str(root), "--advisories", str(source),
            "-o", str(out), "--format", "json", *(["--policy", str(policy)] if policy else [])]
    started, cpu = time.perf_counter(), children_cpu()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False,
                          env=env_with(XDG_CACHE_HOME=str(cache_home)))
    elapsed, cpu = time.perf_counter() - started, children_cpu() - cpu
    if proc.returncode not in (0, 1):
        sys.exit(f"posture-gate failed ({proc.returncode}): {proc.stderr.strip()}")
    runs = json.loads((out / "findings.json").read_text())["scanners"]
    bad = [f"{r['name']}: {r.get('reason')}" for r in runs if r["status"] != "ok"]
    if bad:
        sys.exit("a scanner did not run, the timing means nothing: " + "; ".join(bad))
    return elapsed, cpu


class Tools:
    """Each job posture-gate would run, run by itself with the same argv, cwd and env."""

    def __init__(self, root: Path, work: Path, db: advisories.AdvisoryDB, osv_url: str,
                 policy: Path | None) -> None:
        resolved = trust.resolve(str(policy) if policy else None, None, root,
                                 today=datetime.date.today())
        ctx = ScanContext(root=root, work_dir=work, osv_url=osv_url, advisories=db)
        jobs, failed = plan(resolved.policy, ctx)
        if failed:
            sys.exit(f"planning failed: {[r.reason for r in failed]}")
        self.jobs = jobs
        # weighed as a scan weighs it (the result cache's snapshot): which job leads
        self.tree = treedigest.weight(treedigest.snapshot(root))
        self.root, self.work = root, work
        (work / "tmp").mkdir(exist_ok=True)

    def run(self, name: str) -> tuple[float, float]:
        scanner, job = next((s, j) for s, j in self.jobs if j.name == name)
        with open(self.work / f"{name}.out", "wb") as out:
            started, cpu = time.perf_counter(), children_cpu()
            proc = subprocess.run(job.argv, cwd=self.root, stdout=out,
                                  stderr=subprocess.PIPE, check=False,
                                  env=env_with(TMPDIR=str(self.work / "tmp"), **job.env))
            elapsed, cpu = time.perf_counter() - started, children_cpu() - cpu
        if proc.returncode not in scanner.ok_exit_codes:
            sys.exit(f"{name} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
        json.loads((self.work / f"{name}.out").read_bytes())  # it produced a report
        return elapsed, cpu


    def run_together(self, prioritized: bool) -> tuple[float, float]:
        """Every job started at once by a bare loop: what the machine allows, with nothing of
        posture-gate's own work. `prioritized`: started in launch order, every job but the
        first (the lead) at lower priority, as runner.run_all does."""
        jobs = launch_order(self.jobs, self.tree) if prioritized else self.jobs
        first = jobs[0][1] if prioritized else None
        started, cpu = time.perf_counter(), children_cpu()
        procs = []
        for scanner, job in jobs:
            with open(self.work / f"{job.name}.out", "wb") as out:
                p = subprocess.Popen(job.argv, cwd=self.root, stdout=out,
                                     stderr=subprocess.DEVNULL, start_new_session=True,
                                     env=env_with(TMPDIR=str(self.work / "tmp"), **job.env))
            if first is not None and job is not first:
                priority.lower(p.pid, BACKGROUND_NICE)
            procs.append((scanner, p))
        for scanner, p in procs:
            if p.wait() not in scanner.ok_exit_codes:
                sys.exit(f"{scanner.name} failed when run with the others")
        return time.perf_counter() - started, children_cpu() - cpu


def advisory_source(arg: str, tmp: Path) -> Path:
    path = Path(arg).resolve()
    if not path.name.endswith((".tar.gz", ".tgz")):
        return path
    with tarfile.open(path) as tar:
        tar.extractall(tmp / "advisories", filter="data")
    dirs = [p for p in (tmp / "advisories").iterdir() if p.is_dir()]
    return dirs[0] if len(dirs) == 1 else tmp / "advisories"


def count_files(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
    return len(files), sum(p.suffix == ".py" for p in files)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=Path, default=REPO / "examples" / "webapp")
    parser.add_argument("--advisories", default=str(REPO / "examples" / "advisories"),
                        help="directory, OSV all.zip, or .tar.gz of OSV records")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--policy", type=Path, help="the trusted policy (as scan --policy); "
                        "default: the tree's own, else the default preset")
    args = parser.parse_args()
    policy = args.policy.resolve() if args.policy else None
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "target"
        shutil.copytree(args.target, root, symlinks=True)
        source = advisory_source(args.advisories, tmp)
        index_cache = tmp / "index-cache"
        db = advisories.load(source, cache_dir=index_cache / "posture-gate" / "advisories")

        def fresh_cache(n: int, with_index: bool) -> Path:
            home = tmp / f"cache-{n}-{with_index}"
            if with_index:
                shutil.copytree(index_cache, home)
            else:
                home.mkdir()
            return home

        counter = iter(range(1_000_000))

        def pg(with_index: bool) -> tuple[float, float]:
            n = next(counter)
            return posture_gate_run(root, tmp / f"out-{n}", source, fresh_cache(n, with_index),
                                    policy)

        pg(True)  # warm-up: page cache, semgrep's rule parsing, imports
        (tmp / "work").mkdir()
        with OsvServer(db) as server:
            tools = Tools(root, tmp / "work", db, server.query_url, policy)
            names = [j.name for _, j in tools.jobs]
            timings: dict[str, list[tuple[float, float]]] = {
                n: [] for n in [*names, "together", "together-lead", "pg-warm", "pg-cold"]}
            cases: dict[str, Callable[[], tuple[float, float]]] = {
                **{n: (lambda n=n: tools.run(n)) for n in names},  # type: ignore[misc]
                "together": lambda: tools.run_together(False),
                "together-lead": lambda: tools.run_together(True),
                "pg-warm": lambda: pg(True), "pg-cold": lambda: pg(False)}
            for _ in range(args.repeat):  # interleaved: machine load drifts over the run
                for key, fn in cases.items():
                    timings[key].append(fn())
    median = {k: statistics.median(w for w, _ in v) for k, v in timings.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in timings.items()}
    alone = {n: median[n] for n in names}
    sequential, sequential_cpu = sum(alone.values()), sum(cpu[n] for n in names)
    slowest = max(alone, key=lambda n: alone[n])
    files, py = count_files(args.target)
    print(f"target: {args.target} ({files} files, {py} .py); advisories: {args.advisories} "
          f"({len(db.ids())} records); medians of {args.repeat}; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"  {'':30s} {'wall s':>7s} {'CPU s':>7s}")
    for name in names:
        print(f"  {name + ' alone':30s} {alone[name]:7.2f} {cpu[name]:7.2f}")
    print(f"  {'the tools in sequence':30s} {sequential:7.2f} {sequential_cpu:7.2f}")
    # No schedule beats the slowest tool alone, nor the tools' own CPU time spread evenly
    # over every core: the best ratios this machine allows, with no posture-gate at all.
    cores = os.cpu_count() or 1
    bound = max(alone[slowest], sequential_cpu / cores)
    print(f"  {'bound: max(slowest, CPU/' + str(cores) + ')':30s} {bound:7.2f} {'':7s}   "
          f"/ sequence {bound / sequential:.2f}                     "
          f"/ {slowest} alone {bound / alone[slowest]:.2f}")
    for key, label in (("together", "all at once, bare loop"),
                       ("together-lead", "all at once, lead first"),
                       ("pg-warm", "posture-gate, index warm"),
                       ("pg-cold", "posture-gate, index cold")):
        print(f"  {label:30s} {median[key]:7.2f} {cpu[key]:7.2f}   "
              f"/ sequence {median[key] / sequential:.2f} (target <= 0.70)   "
              f"/ {slowest} alone {median[key] / alone[slowest]:.2f} (target <= 1.15)")


if __name__ == "__main__":
    main()
