"""A long single-threaded job split into disjoint parts that run at once, merged back into
one outcome under the job's name: bandit on a large Python tree is the scan's floor on a
runner with cores to spare (24.7 s alone on 1,011 files, where everything else fits beside it).

The parts are bandit's own walks of disjoint subtrees, never a file list of ours: the job's
target `.` is replaced, largest directory first, by its entries (each directory that
os.walk would descend into as a target, each file that matches bandit's include globs by
name), so the files the parts find are exactly the files `.` finds, spelled the same way
(`./a/b.py`) for the job's `-x` patterns. Any doubt (another target, a config file, a name
a tool could misread) leaves the job whole. A part that fails fails the job.
"""

from __future__ import annotations

import fnmatch
import json
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from . import priority
from .fsutil import write_atomic
from .model import Finding, RunStatus, ScannerRun
from .restrict import BANDIT_INCLUDE, bandit_form, plain
from .scanners.base import Job, Scanner

Outcome = tuple[ScannerRun, tuple[Finding, ...]]

MIN_BYTES = 1_000_000  # of Python to scan: below, a second process costs more than it saves
MAX_TARGETS = 200


def plan(scanner: Scanner, job: Job, root: Path, parts: int | None = None,
         min_bytes: int = MIN_BYTES, others: int = 0) -> list[Job] | None:
    """`job` as `parts` jobs (default: up to half the cores, 2 at least), or None. `others`:
    how many other scanners run beside it.

    With others beside it on fewer than 4 cores, it stays whole: a part takes the core they
    would have had, which pays only where bandit outlasts them all by far, and on no app
    measured did. 2 cores, every scanner, split against whole, interleaved: paperless-ngx
    (4.2 MB of Python) 5.34 / 4.94 s; yt-dlp (10.2 MB) 15.17 / 14.47 s; pydantic-ai
    (19.5 MB) 15.6 / 15.8 s; mealie (1.8 MB) 3.46 / 3.39 s. It paid on pip + pygments +
    setuptools (12.2 MB of library code, where bandit takes 24 s and the rest 12): 23.9 /
    27.2 s."""
    if parts is None:
        cores = priority.cores()
        if cores < 2 or (others and cores < 4):
            return None
        parts = max(2, min(cores // 2, 4))
    n = parts
    form = bandit_form(job.argv) if scanner.shardable else None
    if n < 2 or form is None or form[0] != ["."]:
        return None
    argv, rest = job.argv, form[1]
    excluded = rest[rest.index("-x") + 1].split(",") if "-x" in rest[:-1] else []
    try:
        units = _units(root, n, [os.path.join(x, "*") if (root / x).is_dir() else x
                                 for x in excluded if x])
    except OSError:  # a tree it cannot weigh is scanned whole
        return None
    if units is None or sum(size for _, size in units) < min_bytes:
        return None
    bins: list[tuple[int, list[str]]] = [(0, []) for _ in range(n)]
    for target, size in sorted(units, key=lambda u: (-u[1], u[0])):
        i = min(range(n), key=lambda k: bins[k][0])
        bins[i] = (bins[i][0] + size, [*bins[i][1], target])
    used = [targets for weight, targets in bins if weight]
    if len(used) < 2:
        return None
    used[0] += [t for weight, targets in bins if not weight for t in targets]
    used = [sorted(targets) for targets in used]
    return [replace(job, name=f"{job.name}.{i + 1}", argv=(argv[0], "-r", *targets, *rest))
            for i, targets in enumerate(used)]


def _units(root: Path, n: int, excluded: list[str]) -> list[tuple[str, int]] | None:
    """Targets covering `.` with the bytes bandit would read under each (its -x patterns
    as it applies them: only to weigh the parts), the largest directories split until the
    parts can be balanced; None when a name cannot be handed over as it is."""
    weight: dict[str, int] = {}  # bytes under each directory and of each file, one walk
    for path in _walk(root):
        if any(fnmatch.fnmatch(path, x) or x in path for x in excluded):
            continue
        size, parts = _file_size(root / path), path.split("/")
        for k in range(1, len(parts) + 1):
            key = "/".join(parts[:k])
            weight[key] = weight.get(key, 0) + size
    units: dict[str, int] = {".": weight.get(".", 0)}
    is_dir = {".": True}
    while len(units) < MAX_TARGETS:
        biggest = max((t for t in units if is_dir[t]), key=lambda t: units[t], default=None)
        if biggest is None or units[biggest] <= sum(units.values()) / (2 * n):
            break
        entries = _entries(root, biggest)
        if entries is None:
            return None
        del units[biggest]
        for target, directory in entries:
            units[target], is_dir[target] = weight.get(target, 0), directory
    return list(units.items())


def _entries(root: Path, target: str) -> list[tuple[str, bool]] | None:
    """What os.walk(target) would go on with: directories it descends into (not symlinks)
    and files bandit's include globs take; None if a name is not plain."""
    out = []
    try:
        with os.scandir(root / target) as it:
            found = sorted(it, key=lambda e: e.name)
    except OSError:
        return None
    for e in found:
        spelled = f"{target}/{e.name}"
        try:
            directory = e.is_dir()
            link = e.is_symlink()
        except OSError:
            return None
        if directory and link:
            continue  # os.walk lists it and never descends: nothing in it is scanned
        if not directory and not any(fnmatch.fnmatch(spelled, g) for g in BANDIT_INCLUDE):
            continue
        if not plain(spelled[2:]):
            return None
        out.append((spelled, directory))
    return out


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _walk(root: Path) -> list[str]:
    """The files os.walk finds under the root that match the include globs, spelled as
    bandit's walk of `.` spells them (`./a/b.py`)."""
    return ["./" + os.path.relpath(os.path.join(top, name), root)
            for top, _, files in os.walk(root) for name in files
            if any(fnmatch.fnmatch(name, g) for g in BANDIT_INCLUDE)]


def merge(scanner: Scanner, job: Job, parts: Sequence[Outcome], out_dir: Path, raw_dir: str,
          started: float) -> Outcome:
    """The parts' outcomes as the one job's: the first failure if any failed, else every
    finding, the counts summed and the raw outputs merged into the job's own file."""
    raws = [out_dir / run.raw_output for run, _ in parts if run.raw_output]
    failed = next((run for run, _ in parts if run.status is not RunStatus.OK), None)
    elapsed = time.monotonic() - started
    if failed is not None:
        for raw in raws:
            raw.unlink(missing_ok=True)
        return replace(failed, name=job.name, duration_s=elapsed), ()
    docs = [json.loads(raw.read_text(encoding="utf-8")) for raw in raws]
    name = f"{job.name}.json"
    write_atomic(out_dir / raw_dir / name,
                 json.dumps(scanner.merge_raw(docs), indent=1, sort_keys=True), base=out_dir)
    for raw in raws:
        raw.unlink()
    first = parts[0][0]
    run = replace(first, name=job.name, duration_s=elapsed,
                  raw_count=sum(r.raw_count for r, _ in parts), raw_output=f"{raw_dir}/{name}",
                  exit_code=max(r.exit_code or 0 for r, _ in parts),
                  warnings=tuple(dict.fromkeys(w for r, _ in parts for w in r.warnings)),
                  properties={**first.properties, "parts": len(parts)})
    return run, tuple(f for _, found in parts for f in found)
