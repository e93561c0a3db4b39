"""100k findings: `posture-gate gate` writing every format, against the stdlib floor.

Not a test: prints figures. Target (issue 13, item 4): loading, gating and writing every
format for 100,000 findings within 3x the time and 1.5x the peak memory of the floor, and
linear from 1k to 100k.

    python benchmarks/scale.py [--sizes 1000,10000,100000] [--repeat 5] [--repeat-large 5]

For each size a findings.json is generated (deterministic seed; the shape of a real run:
tests/reporters/golden/findings.json's header, findings of every category with varied
paths, rules, severities, packages, suppressions and some non-ASCII text). Then, side by
side in the same run and interleaved (so load on the machine hits both alike):

- gate: `posture-gate gate FILE -f <every format> -o DIR` through the real CLI, a fresh
  output directory each time (stdout, the console table, goes to /dev/null);
- floor: a Python subprocess that json.load()s the same file and json.dump()s it again
  (indent=2, ensure_ascii=False: the shape findings.json is written in).

Each child is reaped with os.wait4, so its own peak RSS (ru_maxrss) and CPU (user+sys) are
read exactly, not the max over all children. Figures are medians; ratios are gate / floor.
On a shared machine compare the CPU ratio: wall time there also measures the neighbours.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "reporters" / "golden" / "findings.json"
BIN = Path(sys.executable).parent
FORMATS = ("console,json,sarif,junit,markdown,html,gitlab-sast,gitlab-dependency-scanning,"
           "gitlab-container-scanning,gitlab-secret-detection")
FLOOR = ("import json, sys\n"
         "with open(sys.argv[1], encoding='utf-8') as fh:\n"
         "    doc = json.load(fh)\n"
         "with open(sys.argv[2], 'w', encoding='utf-8') as fh:\n"
         "    json.dump(doc, fh, indent=2, ensure_ascii=False)\n")

# category -> (weight, golden finding indices used as its templates)
CATEGORIES = {"code": (40, (0, 1, 2, 9)), "dependency": (25, (5, 6, 8)), "os": (15, (7,)),
              "architecture": (12, (3,)), "secret": (8, (4,))}
SEVERITIES = (("critical", 3), ("high", 15), ("medium", 35), ("low", 30), ("info", 10),
              ("unknown", 7))
RULES = {"code": [f"B{n}" for n in range(101, 704, 7)] + [f"pg-rule-{n}" for n in range(40)],
         "dependency": [f"PYSEC-20{y}-{n}" for y in range(18, 26) for n in range(1, 60)],
         "os": [f"CVE-20{y}-{n:05d}" for y in range(15, 26) for n in range(1, 80)],
         "architecture": [f"DS-{n:04d}" for n in range(1, 40)]
         + [f"KSV-{n:04d}" for n in range(1, 60)],
         "secret": ["github-pat", "aws-access-key-id", "slack-token", "private-key",
                    "gitlab-pat", "stripe-secret-key"]}
WORDS = ("user input reaches a shell", "weak hash", "cookie without Secure flag",
         "SQL built with string formatting", "denial of service in the multipart parser",
         "Überprüfung der Signatur fehlt", "検証されていない入力", "path traversal via archive",
         "hard-coded credential", "XML external entity expansion")


def make_finding(rng: random.Random, i: int, templates: list[dict[str, Any]],
                 seed: int) -> dict[str, Any]:
    cat = rng.choices(list(CATEGORIES), [w for w, _ in CATEGORIES.values()])[0]
    f = copy.deepcopy(templates[rng.choice(CATEGORIES[cat][1])])
    f["fingerprint"] = hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()
    f["severity"] = rng.choices([s for s, _ in SEVERITIES], [w for _, w in SEVERITIES])[0]
    f["rule_id"] = rng.choice(RULES[cat])
    line = rng.randint(1, 4000)
    words = rng.choice(WORDS)
    if cat == "code":
        f["location"] = {"path": f"src/pkg{rng.randint(0, 60)}/mod{rng.randint(0, 200)}.py",
                         "start_line": line, "end_line": line + rng.randint(0, 3)}
        f["title"] = f"{f['rule_id']}: {words}"
        f["message"] = f"{words} (line {line}); see the rule's documentation."
    elif cat in ("dependency", "os"):
        name = f"pkg-{rng.randint(0, 3000)}"
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        pkg = dict(f["package"] or {})
        pkg.update(name=name, version=version,
                   fixed_versions=[f"{version}.post{k}" for k in range(rng.randint(0, 2))],
                   purl=f"pkg:pypi/{name}@{version}" if cat == "dependency" else None)
        f["package"] = pkg
        f["identifiers"] = [f["rule_id"], f"CVE-2024-{i % 99999:05d}",
                            f"GHSA-{i % 9999:04d}-abcd-efgh"]
        f["title"] = f"{name} {version}: {f['rule_id']}"
        f["message"] = f"{name}: {words}."
        if f.get("location"):
            f["location"] = {"path": rng.choice(("requirements.txt", "poetry.lock",
                                                 "app/requirements-dev.txt")),
                             "start_line": line % 300 or None, "end_line": line % 300 or None}
    else:
        f["location"] = {"path": f"deploy/svc{rng.randint(0, 300)}/Dockerfile"
                         if cat == "architecture" else f"config/env{rng.randint(0, 900)}.py",
                         "start_line": line, "end_line": line}
        f["message"] = f"{words} in {f['location']['path']}"
    if rng.random() < 0.05:
        f["suppression"] = {"kind": "ignore", "reason": "accepted risk", "owner": "team-b",
                            "expires": "2027-06-30"}
    elif f["suppression"] is not None and rng.random() < 0.5:
        f["suppression"] = None
    if f["merged_fingerprints"]:
        f["merged_fingerprints"] = [hashlib.sha256(f"m{seed}:{i}".encode()).hexdigest()]
    return f


def generate(n: int, seed: int = 13) -> dict[str, Any]:
    """A findings.json document with n findings (same n and seed: same bytes). Every
    required scanner ran (the golden's failed semgrep would make the verdict an error)."""
    doc: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for s in doc["scanners"]:
        if s["status"] == "failed":
            s.update(status="ok", reason=None, exit_code=0)
    rng = random.Random(seed * 1_000_003 + n)  # noqa: S311 - test data, not secrets
    templates = doc["findings"]
    doc["findings"] = [make_finding(rng, i, templates, seed) for i in range(n)]
    return doc


def write_doc(doc: dict[str, Any], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


def measure(argv: list[str]) -> tuple[float, float, int]:
    """Wall s, CPU s (user+sys), peak RSS KiB of one child (exit 0 or 1, else we stop)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode not in (0, 1):
        sys.exit(f"{argv[:3]} exited {proc.returncode}: {err.decode(errors='replace')[-600:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def gate_argv(tree: Path | None) -> list[str]:
    if tree is None:
        return [str(BIN / "posture-gate")]
    code = (f"import sys; sys.path.insert(0, {str(tree.resolve())!r}); "
            "sys.argv[0] = 'posture-gate'; import posture_gate.cli as cli; "
            "getattr(cli, 'entry', cli.main)()")  # the tree's own console script
    return [sys.executable, "-c", code]


def bench(n: int, repeat: int, tmp: Path, tree: Path | None = None) -> dict[str, Any]:
    src = tmp / f"findings-{n}.json"
    write_doc(generate(n), src)
    results: dict[str, list[tuple[float, float, int]]] = {"gate": [], "floor": []}
    for k in range(repeat):
        out = tmp / f"out-{n}-{k}"
        gate = [*gate_argv(tree), "gate", str(src), "-f", FORMATS, "-o", str(out),
                "--today", "2026-11-30"]
        floor = [sys.executable, "-c", FLOOR, str(src), str(tmp / f"floor-{n}.json")]
        order = [("gate", gate), ("floor", floor)]
        for name, argv in order if k % 2 else reversed(order):
            results[name].append(measure(argv))
        shutil.rmtree(out, ignore_errors=True)
    row: dict[str, Any] = {"n": n, "mb": src.stat().st_size / 1e6, "repeat": repeat}
    for name, rows in results.items():
        row[name] = {"wall": statistics.median(r[0] for r in rows),
                     "cpu": statistics.median(r[1] for r in rows),
                     "rss": statistics.median(r[2] for r in rows) / 1024}
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--repeat-large", type=int, default=5,
                        help="repeats for sizes >= 100000")
    parser.add_argument("--write", type=Path, help="only write findings-N.json files here")
    parser.add_argument("--tree", type=Path, help="run the posture_gate package of this "
                        "checkout (e.g. a git worktree of an older commit), not the installed")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            write_doc(generate(n), args.write / f"findings-{n}.json")
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), load "
          f"{os.getloadavg()[0]:.1f}; posture_gate from {args.tree or 'the install'}; "
          f"formats: {FORMATS}")
    print(f"{'findings':>8} {'MB':>6} {'reps':>4} | {'gate wall':>9} {'cpu':>6} {'RSS MB':>7} | "
          f"{'floor wall':>10} {'cpu':>6} {'RSS MB':>7} | {'x wall':>6} {'x cpu':>6} "
          f"{'x RSS':>6} | {'gate cpu us/finding':>19}")
    with tempfile.TemporaryDirectory(prefix="pg-scale-") as tmp:
        for n in sizes:
            repeat = args.repeat_large if n >= 100_000 else args.repeat
            r = bench(n, repeat, Path(tmp), args.tree)
            g, f = r["gate"], r["floor"]
            print(f"{n:>8} {r['mb']:>6.1f} {repeat:>4} | {g['wall']:>8.2f}s {g['cpu']:>5.2f}s "
                  f"{g['rss']:>7.0f} | {f['wall']:>9.2f}s {f['cpu']:>5.2f}s {f['rss']:>7.0f} | "
                  f"{g['wall'] / f['wall']:>6.2f} {g['cpu'] / f['cpu']:>6.2f} "
                  f"{g['rss'] / f['rss']:>6.2f} | {g['cpu'] / n * 1e6:>19.1f}", flush=True)


if __name__ == "__main__":
    main()
