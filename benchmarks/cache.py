"""The result cache: wall time of a cold scan, a re-run on the unchanged tree and a re-run
after one changed .py file, side by side; then a correctness table.

Not a test: prints figures. Targets (issue #13): unchanged <= 5 % of cold; one changed .py
file in a tree of >= 1,000 Python files <= 15 % of cold.

    python benchmarks/cache.py [--target DIR] [--advisories DIR|ZIP] [--repeat 5]

In a tree others are editing, run it from a snapshot so the code stays put (posture-gate's
own code is part of every cache key): `git archive HEAD | tar -x -C SNAP`, copy this file
there, and run `PYTHONPATH=SNAP python SNAP/benchmarks/cache.py` from outside the checkout.

Default target: a tree of real open-source Python code copied from this environment's
site-packages into lib/ (pip, pygments, setuptools: over 1,000 .py files) plus examples/webapp's
requirements.txt, so every scanner has something to do. Each repetition runs, in order:
cold (a fresh cache directory), unchanged (same cache), one change (a line appended to one
.py file, a different file and line each time, holding a planted finding that must be
found). posture-gate is timed end to end (process start to exit, JSON report). Figures are
medians; ratios are the medians of the per-repetition ratios (measured side by side).

The correctness table scans examples/webapp in-process and checks that each change
invalidates exactly the scanners it should (each row: expected and observed cache state).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from posture_gate import runner  # noqa: E402
from posture_gate.model import ScanResult  # noqa: E402
from posture_gate.policy.schema import load_policy  # noqa: E402
from posture_gate.scan import ScanOptions, scan  # noqa: E402

BIN = Path(sys.executable).parent
PACKAGES = ("pip", "pygments", "setuptools")
PLANT = "\nimport subprocess\nsubprocess.call(cmd_{n}, shell=True)  # planted {n}\n"


def build_tree(dest: Path) -> Path:
    site = Path(sysconfig.get_paths()["purelib"])
    root = dest / "tree"
    for name in PACKAGES:
        # under lib/: a top-level pip/ would shadow pip itself for `python -m pip`
        shutil.copytree(site / name, root / "lib" / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(REPO / "examples" / "webapp" / "requirements.txt", root)
    return root


def timed_scan(root: Path, out: Path, advisories: Path, cache: Path) -> tuple[float, dict]:  # type: ignore[type-arg]
    argv = [str(BIN / "posture-gate"), "scan", str(root), "--advisories", str(advisories),
            "-o", str(out), "--format", "json", "--cache-dir", str(cache)]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"posture-gate exited {proc.returncode}: {proc.stderr[-500:]}")
    doc = json.loads((out / "findings.json").read_text())
    bad = [s["name"] for s in doc["scanners"] if s["status"] != "ok"]
    if bad:
        raise SystemExit(f"scanners failed: {bad}")
    return wall, doc


def states(doc: dict) -> str:  # type: ignore[type-arg]
    return " ".join(f"{s['name']}={s.get('cache') or 'run'}" for s in doc["scanners"])


def timings(root: Path, advisories: Path, repeat: int, work: Path) -> None:
    py_files = sorted(p for p in root.rglob("*.py") if "/tests/" not in p.as_posix())
    print(f"target: {root} ({sum(1 for _ in root.rglob('*.py'))} .py files)")
    cold, warm, change, r_warm, r_change = [], [], [], [], []
    for i in range(repeat):
        cache = work / f"cache-{i}"
        c, _ = timed_scan(root, work / "out", advisories, cache)
        w, wdoc = timed_scan(root, work / "out", advisories, cache)
        victim = py_files[(i * 97) % len(py_files)]
        victim.write_text(victim.read_text() + PLANT.format(n=i))
        o, odoc = timed_scan(root, work / "out", advisories, cache)
        rel = victim.relative_to(root).as_posix()
        lines = victim.read_text().splitlines()
        found = any(f["rule_id"] == "B602" and f["location"]["path"] == rel
                    and f"cmd_{i}," in lines[f["location"]["start_line"] - 1]
                    for f in odoc["findings"])
        print(f"  rep {i + 1}: cold {c:6.2f}s  unchanged {w:5.2f}s [{states(wdoc)}]  "
              f"one change {o:5.2f}s [{states(odoc)}] planted found: {found}", flush=True)
        if not found:
            raise SystemExit(f"the planted finding in {rel} was not found")
        cold.append(c)
        warm.append(w)
        change.append(o)
        r_warm.append(w / c)
        r_change.append(o / c)
    med = statistics.median
    print(f"cold scan       median {med(cold):6.2f}s")
    print(f"unchanged tree  median {med(warm):6.2f}s  ratio {med(r_warm):6.1%}  (target <= 5 %)")
    print(f"one changed .py median {med(change):6.2f}s  ratio {med(r_change):6.1%}  "
          "(target <= 15 %)")


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


def correctness(work: Path) -> None:
    """Each change against a warm cache: which scanners answered from it."""
    base = work / "table"
    shutil.copytree(REPO / "examples" / "webapp", base / "webapp")
    shutil.copytree(REPO / "examples" / "advisories", base / "advisories")
    rules, policy_file = base / "rules.yml", base / "policy.yml"
    rules.write_text(RULES.format(what="anything"))
    knobs = {"bandit": "{}", "gate": "critical"}

    def run(cache: bool = True) -> ScanResult:
        policy_file.write_text(POLICY.format(rules=rules, **knobs))
        policy = load_policy(str(policy_file), today=datetime.date(2026, 12, 1))
        result, _ = scan(policy, ScanOptions(
            root=base / "webapp", output_dir=base / "out", advisories=base / "advisories",
            cache_dir=base / "cache", result_cache=cache))
        return result

    def state(r: ScanResult) -> dict[str, str | None]:
        return {s.name: s.cache for s in r.scanners}

    def same(a: ScanResult, b: ScanResult) -> bool:
        return sorted(f.fingerprint for f in a.findings) == \
            sorted(f.fingerprint for f in b.findings)

    def plant() -> None:
        views = base / "webapp" / "app" / "views.py"
        views.write_text(views.read_text() + "\nimport subprocess\n"
                         "subprocess.call(user_input, shell=True)\neval(x)\n")

    def rule_change() -> None:
        rules.write_text(RULES.format(what="something else"))

    def advisory_update() -> None:
        rec = base / "advisories" / "flask" / "PYSEC-2023-62.yaml"
        rec.write_text(re.sub(r"^modified: .*$", "modified: '2026-11-30T00:00:00Z'",
                              rec.read_text(), flags=re.M))

    real = runner.installed_version

    def version_change() -> None:
        # where an upgrade shows: the dist-info name beside the console script, read by both
        # the cache (known_version) and the run (scanner_version)
        setattr(runner, "installed_version",  # noqa: B010
                lambda exe, dist: "9.9.9" if dist == "bandit" else real(exe, dist))

    affinity, gogc = os.sched_getaffinity, os.environ.get("GOGC")

    def other_runner() -> None:
        # 16 cores (semgrep --jobs 8) and the CI owner's own GOGC (so none of ours): how
        # fast the tools run, not what they find
        setattr(os, "sched_getaffinity", lambda _pid: set(range(16)))  # noqa: B010
        os.environ["GOGC"] = "200"

    def corrupt() -> None:
        for e in (base / "cache" / "results" / "bandit").glob("*.json"):
            e.write_bytes(e.read_bytes()[:-40])

    rows: list[tuple[str, Callable[[], None], dict[str, str | None]]] = [
        ("nothing changed", lambda: None, dict.fromkeys(_NAMES, "hit")),
        ("runner: 16 cores, owner's GOGC", other_runner, dict.fromkeys(_NAMES, "hit")),
        ("planted finding in a changed file", plant,
         {"bandit": "partial", "semgrep": "partial", "pip-audit": "hit", "trivy": None}),
        ("semgrep rule change", rule_change,
         {"bandit": "hit", "semgrep": None, "pip-audit": "hit", "trivy": "hit"}),
        ("bandit version change", version_change,
         {"bandit": None, "semgrep": "hit", "pip-audit": "hit", "trivy": "hit"}),
        ("advisory update", advisory_update,
         {"bandit": "hit", "semgrep": "hit", "pip-audit": None, "trivy": "hit"}),
        ("policy: gate only", lambda: knobs.update(gate="high"), dict.fromkeys(_NAMES, "hit")),
        ("policy: bandit block", lambda: knobs.update(bandit="{skip: [B101]}"),
         {"bandit": None, "semgrep": "hit", "pip-audit": "hit", "trivy": "hit"}),
        ("corrupt bandit entry", corrupt,
         {"bandit": None, "semgrep": "hit", "pip-audit": "hit", "trivy": "hit"}),
    ]
    run()  # fill the cache
    print("\ncorrectness (examples/webapp; 'run' = scanned, not from the cache):")
    print(f"  {'change':36} {'expected':44} {'observed':44} findings = no-cache scan")
    try:
        for label, change, expected in rows:
            change()
            warm = run()
            ok = state(warm) == expected
            equal = same(warm, run(cache=False))
            if label == "planted finding in a changed file":
                equal = equal and {"B602", "planted-eval"} <= {
                    f.rule_id for f in warm.findings
                    if f.location is not None and f.location.path == "app/views.py"}
            print(f"  {label:36} {_show(expected):44} {_show(state(warm)):44} "
                  f"{'yes' if equal else 'NO'} {'ok' if ok and equal else 'FAIL'}")
    finally:
        setattr(runner, "installed_version", real)  # noqa: B010
        setattr(os, "sched_getaffinity", affinity)  # noqa: B010
        if gogc is None:
            os.environ.pop("GOGC", None)
        else:
            os.environ["GOGC"] = gogc


_NAMES = ("pip-audit", "bandit", "semgrep", "trivy")


def _show(states: dict[str, str | None]) -> str:
    return " ".join(f"{k}={v or 'run'}" for k, v in states.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", type=Path, help="a tree to copy (default: see above)")
    ap.add_argument("--advisories", type=Path, default=REPO / "examples" / "advisories")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-table", action="store_true", help="skip the correctness table")
    args = ap.parse_args()
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    with tempfile.TemporaryDirectory(prefix="pg-bench-cache-") as tmp:
        work = Path(tmp)
        if args.target:
            root = work / "tree"
            shutil.copytree(args.target, root, symlinks=True)
        else:
            root = build_tree(work)
        timings(root, args.advisories.resolve(), args.repeat, work)
        if not args.no_table:
            correctness(work)


if __name__ == "__main__":
    main()
