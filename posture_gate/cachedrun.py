"""run_all with the result cache in front: each job is a hit (its stored result, nothing
runs), a partial run (a file-level job re-scans only the files that changed and keeps the
stored findings of the others), or a full run; each OK result is stored for next time.

The cache never hides a finding: an entry is used only when its whole key matches
(resultcache.py), a partial run drops every stored finding of a changed, added or deleted
file, and a run that did not succeed is reported as it is and never stored. Entries are
stored only when the tree after the scan is the tree hashed before it (treedigest.unchanged:
a file not written since it was hashed is not read again).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path

from . import progress, restrict, treedigest, treememo
from .fsutil import write_atomic
from .model import Finding, RunStatus, ScannerRun
from .resultcache import Entry, Key, ResultCache, build_key
from .runner import MAX_JOBS, RAW_DIR, JobOutcome, Launcher, Running, run_all, scanner_version
from .scanners.base import Job, ScanContext, Scanner, ScannerSettings

# A partial run re-scans at most this many files, and at most this share of the tree:
# past either, the full job is as quick and simpler to trust.
MAX_NARROW_FILES = 400
MAX_NARROW_SHARE = 0.5
HIT, PARTIAL = "hit", "partial"


@dataclass(frozen=True, kw_only=True)
class _Plan:
    key: Key | None
    entry: Entry | None = None  # a hit (whole) or the base of a partial run
    run: Job | None = None  # what to run; None for a hit
    drop: frozenset[str] = frozenset()  # paths whose stored findings are replaced
    narrowed: int = 0  # files re-scanned by a partial run
    changed: int | None = None  # --changed-since: the job scans this many changed files
    # the scanner's version is known only from this run's output: keyed (and stored) after
    keyed_after: bool = False


def tree_snapshot(ctx: ScanContext, cache: ResultCache) -> treedigest.Snapshot | None:
    """The tree as hashed now; files unchanged since the last scan of it are not read."""
    try:
        return treedigest.snapshot(ctx.root, exclude_dirs=ctx.exclude_dirs,
                                   outside_links=ctx.outside_links,
                                   known=treememo.load(cache.folder, ctx.root))
    except treedigest.TooManyFiles:
        return None


def _plan(cache: ResultCache, scanner: Scanner, job: Job, ctx: ScanContext,
          settings: ScannerSettings | None, version: str | None,
          tree: Mapping[str, str] | None, changed: Sequence[str] | None) -> _Plan:
    per_file = restrict.accepts_files(job.scanner)
    if changed is not None and per_file:
        # the PR lane: only the changed files, never cached (the key is the whole tree's)
        return _plan_changed(job, changed)
    key = build_key(scanner, job, ctx, settings, version, tree, per_file)
    if key is None:
        return _Plan(key=None, run=job)
    entry = cache.load(key)
    if entry is None:
        return _Plan(key=key, run=job)
    if not per_file:
        return _Plan(key=key, entry=entry)
    tree = tree or {}
    touched, gone = treedigest.changes(entry.files, tree)
    if not touched and not gone:
        return _Plan(key=key, entry=entry)
    if len(touched) > MAX_NARROW_FILES or len(touched) > MAX_NARROW_SHARE * max(len(tree), 1):
        return _Plan(key=key, run=job)
    narrowed = restrict.narrow(job, touched)
    if narrowed is None:
        return _Plan(key=key, run=job)
    drop = frozenset((*touched, *gone))
    if not isinstance(narrowed, Job):  # NOTHING: no changed file is one it would scan
        return _Plan(key=key, entry=entry, drop=drop)
    return _Plan(key=key, entry=entry, run=narrowed, drop=drop, narrowed=len(touched))


def _plan_changed(job: Job, changed: Sequence[str] | None) -> _Plan:
    if changed is None or not restrict.accepts_files(job.scanner):
        return _Plan(key=None, run=job)
    narrowed = restrict.narrow(job, changed) if len(changed) <= MAX_NARROW_FILES else None
    if narrowed == restrict.NOTHING:
        return _Plan(key=None, changed=0)
    return _Plan(key=None, run=narrowed if isinstance(narrowed, Job) else job,
                 changed=len(changed) if isinstance(narrowed, Job) else None)


def _in_tree(findings: Sequence[Finding], tree: Mapping[str, str]) -> bool:
    """Every finding lies in a hashed file: a change to it will be seen."""
    return all(f.location is not None and f.location.path in tree for f in findings)


def _raw_text(staged: Path, job: Job) -> str | None:
    try:
        return (staged / RAW_DIR / f"{job.name}.json").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _from_cache(scanner: Scanner, job: Job, entry: Entry, staged: Path, started: float,
                findings: tuple[Finding, ...], cache: str, narrowed: int = 0,
                run: ScannerRun | None = None, drop: frozenset[str] = frozenset()
                ) -> JobOutcome:
    raw_output = None
    if cache == HIT and entry.raw is not None:
        write_atomic(staged / RAW_DIR / f"{job.name}.json", entry.raw, base=staged)
        raw_output = f"{RAW_DIR}/{job.name}.json"
    elif run is not None:
        raw_output = run.raw_output  # what this run's narrowed invocation printed
    props = dict(entry.properties)
    if narrowed:
        props["rescanned_files"] = narrowed
    # a stored warning about a re-scanned or deleted file is that file's old news
    old = [w for w in entry.warnings if not any(p in w for p in drop)]
    warnings = tuple(dict.fromkeys((*old, *(run.warnings if run else ()))))
    return JobOutcome(run=ScannerRun(
        name=job.name, scanner=scanner.name, status=RunStatus.OK, required=job.required,
        version=entry.version, tested_version=entry.tested_version,
        exit_code=run.exit_code if run else entry.exit_code,
        duration_s=time.monotonic() - started, raw_count=len(findings)
        if cache == PARTIAL else entry.raw_count, raw_output=raw_output,
        warnings=warnings, properties=props, cache=cache), findings=findings)


def _nothing_changed(scanner: Scanner, job: Job) -> JobOutcome:
    """--changed-since: no changed file is one this job would scan."""
    version = scanner_version(scanner)
    return JobOutcome(run=ScannerRun(
        name=job.name, scanner=scanner.name, status=RunStatus.OK, required=job.required,
        version=version, tested_version=version in scanner.tested_versions if version else None,
        properties={"changed_files": 0}), findings=())


def run_cached(planned: Iterable[tuple[Scanner, Job]], ctx: ScanContext, staged: Path,
               cache: ResultCache | None, settings: Mapping[str, ScannerSettings],
               changed: Sequence[str] | None = None,
               meanwhile: Callable[[Running], object] = lambda _: None,
               snap: treedigest.Snapshot | None = None) -> list[JobOutcome]:
    """Like runner.run_all (each job decided and started as `planned` gives it, the first
    as the lead; outcomes in that order; `meanwhile` once every job has started), answering
    from `cache` where it can; with `changed` (--changed-since), file-level jobs scan only
    those files. `snap`: the tree as hashed before any scanner started (tree_snapshot;
    None: not hashed, or too large to be), which keys the per-file results."""
    if cache is None and changed is None:
        return run_all(planned, ctx, staged, meanwhile)
    started = time.monotonic()
    jobs = iter(planned)
    first = next(jobs, None)
    if first is None:
        meanwhile(Running(()))
        return []
    tree = snap.files if snap is not None else None
    versions: dict[str, str | None] = {}
    order: list[tuple[Scanner, Job]] = []
    plans: list[_Plan] = []
    running: dict[int, Future[JobOutcome]] = {}
    launched: list[tuple[Scanner, Job, Future[JobOutcome]]] = []
    with Launcher(ctx, staged, MAX_JOBS, first[1]) as launcher:
        for scanner, job in itertools.chain([first], jobs):
            order.append((scanner, job))
            plans.append(_decide(cache, scanner, job, ctx, settings, tree, changed, versions))
            run = plans[-1].run
            if run is not None:
                running[len(plans) - 1] = launcher.start(scanner, run)
                launched.append((scanner, run, running[len(plans) - 1]))
        meanwhile(Running(launched))
        ran = {i: f.result() for i, f in running.items()}
    outcomes = _collect(order, plans, ran, cache, ctx, staged, settings, snap, started)
    if cache is not None and snap is not None:
        treememo.save(cache.folder, ctx.root, snap)  # (a file written since reads again)
    return outcomes


def _decide(cache: ResultCache | None, scanner: Scanner, job: Job, ctx: ScanContext,
            settings: Mapping[str, ScannerSettings], tree: Mapping[str, str] | None,
            changed: Sequence[str] | None, versions: dict[str, str | None]) -> _Plan:
    if cache is None:
        return _plan_changed(job, changed)
    if scanner.name not in versions:
        versions[scanner.name] = cache.known_version(scanner)
    version = versions[scanner.name]
    if version is None and not (changed is not None and restrict.accepts_files(job.scanner)):
        return _Plan(key=None, run=job, keyed_after=True)
    # (the PR lane's file-level jobs need no version: they are narrowed, never cached)
    return _plan(cache, scanner, job, ctx, settings.get(scanner.name), version, tree, changed)


def _collect(planned: Sequence[tuple[Scanner, Job]], plans: Sequence[_Plan],
             ran: Mapping[int, JobOutcome], cache: ResultCache | None, ctx: ScanContext,
             staged: Path, settings: Mapping[str, ScannerSettings],
             snap: treedigest.Snapshot | None, started: float) -> list[JobOutcome]:
    """Each job's outcome in plan order: its run, its cache entry, or the two merged."""
    tree = snap.files if snap is not None else None
    outcomes = []
    for i, ((scanner, job), p) in enumerate(zip(planned, plans, strict=True)):
        if p.changed is not None:
            done = ran[i] if p.run else _nothing_changed(scanner, job)
            outcomes.append(JobOutcome(run=replace(done.run, properties={
                **done.run.properties, "changed_files": p.changed}), findings=done.findings))
            continue
        if p.run is None and p.entry is not None:
            if p.drop:  # only files nothing would scan changed: drop theirs, keep the rest
                kept = tuple(f for f in p.entry.findings
                             if f.location is None or f.location.path not in p.drop)
                outcomes.append(_from_cache(scanner, job, p.entry, staged, started, kept,
                                            PARTIAL, drop=p.drop))
            else:
                outcomes.append(_from_cache(scanner, job, p.entry, staged, started,
                                            p.entry.findings, HIT))
            progress.job_finished(job, outcomes[-1].run)  # not run: said on stderr all the same
            continue
        done = ran[i]
        if p.entry is not None and done.run.status is RunStatus.OK:
            new_paths = {f.location.path for f in done.findings if f.location}
            drop = p.drop | new_paths
            kept = tuple(f for f in p.entry.findings
                         if f.location is None or f.location.path not in drop)
            done = _from_cache(scanner, job, p.entry, staged, started,
                               (*kept, *done.findings), PARTIAL, p.narrowed, done.run, drop)
        outcomes.append(done)
    if cache is not None:
        plans = [_keyed_after(cache, s, j, p, o, ctx, settings.get(s.name), tree)
                 for (s, j), p, o in zip(planned, plans, outcomes, strict=True)]
        _store(cache, planned, plans, outcomes, staged, ctx, snap)
    return outcomes


def _keyed_after(cache: ResultCache, scanner: Scanner, job: Job, p: _Plan, o: JobOutcome,
                 ctx: ScanContext, settings: ScannerSettings | None,
                 tree: Mapping[str, str] | None) -> _Plan:
    """A job run before its version was known: keyed now by the version its run printed,
    which is remembered, so the next scan can look its result up."""
    if not p.keyed_after or o.run.status is not RunStatus.OK or not o.run.version:
        return p
    cache.remember_version(scanner, o.run.version)
    key = build_key(scanner, job, ctx, settings, o.run.version, tree,
                    restrict.accepts_files(job.scanner))
    return replace(p, key=key)


def _store(cache: ResultCache, planned: Sequence[tuple[Scanner, Job]],
           plans: Sequence[_Plan], outcomes: Sequence[JobOutcome], staged: Path,
           ctx: ScanContext, snap: treedigest.Snapshot | None) -> None:
    fresh = [(job, p, o) for (_, job), p, o in zip(planned, plans, outcomes, strict=True)
             if p.key is not None and o.run.status is RunStatus.OK and o.run.cache != HIT
             and o.run.version]
    if not fresh:
        return
    if snap is not None and not treedigest.unchanged(
            snap, ctx.root, exclude_dirs=ctx.exclude_dirs, outside_links=ctx.outside_links):
        return  # the tree changed during the scan: what was scanned is not what was hashed
    tree = snap.files if snap is not None else None
    for job, p, o in fresh:
        if p.key is None or o.run.version is None:
            continue
        if p.key.per_file and (tree is None or not _in_tree(o.findings, tree)):
            continue
        entry = Entry(version=o.run.version, tested_version=o.run.tested_version,
                      exit_code=o.run.exit_code, raw_count=o.run.raw_count,
                      warnings=o.run.warnings,
                      properties={k: v for k, v in o.run.properties.items()
                                  if k != "rescanned_files"},
                      findings=o.findings,
                      raw=None if o.run.cache else _raw_text(staged, job),
                      files=dict(tree or {}) if p.key.per_file else {})
        with contextlib.suppress(OSError, ValueError, TypeError):
            cache.store(p.key, entry)

