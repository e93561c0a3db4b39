"""One scan, end to end: plan -> run -> normalize -> merge -> ScanResult.

Evaluation and reporting are separate (policy/evaluate.py, reporters/) so that
`gate` and `report` can re-use a saved findings.json without rescanning.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import __version__, cachedir, codepairs, progress, resultcache, treedigest
from . import fingerprint as fp
from .advisories import AdvisoryDB, load
from .cachedrun import run_cached, tree_snapshot
from .changes import changed_files
from .coverage import Tree, survey
from .coverage_measure import measure
from .errors import ScannerError, UsageError
from .fsutil import check_output_dir
from .merge import Merge, dedup
from .model import Category, RunStatus, ScannerRun, ScanResult, sort_findings
from .osv_server import OsvServer
from .parseahead import parse_ahead
from .platform import PlatformSettings, check_platform, provider_for
from .policy.model import Policy
from .policy.schema import with_scanner_options
from .repoconfig import inspect_tree
from .runner import JobOutcome, Running, enrich_all, launch_order, publish_raw
from .scanners import SCANNERS
from .scanners.base import Job, ScanContext, Scanner, ScannerSettings, Weight
from .statements import StatementIndex
from .threat.feeds import Expand, ThreatData, enrich
from .vex.apply import apply as apply_vex
from .vex.data import Statement


@dataclass(frozen=True, kw_only=True)
class ScanOptions:
    root: Path
    output_dir: Path
    advisories: Path | None = None
    images: tuple[str, ...] = ()
    only: tuple[str, ...] = ()  # restrict to these scanners (pre-commit fast hook)
    # posture-gate's cache root (advisory indexes in advisories/); None: cachedir.default_root()
    cache_dir: Path | None = None
    # KEV/EPSS records, loaded (and age-checked) by the caller before the scan starts
    threat: ThreatData | None = None
    # VEX statements from the trusted --vex files (vex/apply.py), applied after the merge
    vex: tuple[Statement, ...] = ()
    # reuse scanner results from <cache_dir>/results when every key part matches
    result_cache: bool = False
    # the PR lane: file-level scanners scan only the files changed since this git revision
    changed_since: str | None = None
    # scan --platform github|gitlab: check the hosting platform (wins over platform.provider)
    platform: str | None = None


def _utc(now: datetime.datetime) -> str:
    return now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _inside(root: Path, *dirs: Path) -> tuple[str, ...]:
    """The given directories that lie inside the scanned root, repo-relative."""
    out = []
    for d in dirs:
        try:
            rel = d.resolve().relative_to(root)
        except ValueError:
            continue
        if rel.parts:
            out.append(rel.as_posix())
    return tuple(out)


def untracked(root: Path, venv_dirs: Sequence[str]) -> tuple[str, ...]:
    """The virtualenvs to skip: those whose pyvenv.cfg git does not track. A CI job's venv
    is never committed; a committed one is the change under review (a planted pyvenv.cfg
    must not hide the code beside it), so it is scanned."""
    if not venv_dirs:
        return ()
    tracked = _git(root, "--literal-pathspecs", "ls-files", "-z", "--",
                   *(f"{d}/pyvenv.cfg" for d in venv_dirs))
    committed = {p.rsplit("/", 1)[0] for p in (tracked or "").split("\0") if p}
    return tuple(d for d in venv_dirs if d not in committed)


def _values(categories: Sequence[Category]) -> tuple[str, ...]:
    return tuple(c.value for c in categories)


def settings_for(policy: Policy) -> list[ScannerSettings]:
    return [s for s in policy.scanner_settings().values() if s.enabled]


def plan(policy: Policy, ctx: ScanContext, only: Sequence[str] = ()
         ) -> tuple[list[tuple[Scanner, Job]], list[ScannerRun]]:
    """Jobs to run, and runs that failed already at planning (bad config, no inputs)."""
    jobs: list[tuple[Scanner, Job]] = []
    failed: list[ScannerRun] = []
    for settings in _chosen(policy, only):
        planned = _plan_one(settings, ctx)
        if isinstance(planned, ScannerRun):
            failed.append(planned)
        else:
            jobs += planned
    return jobs, failed


@dataclass(kw_only=True)
class Planning:
    """plan(), one scanner at a time as the runner asks for jobs, costliest first
    (runner.launch_order): the lead starts while the rest are planned (pip-audit reading a
    large uv.lock is 0.1 s). Once iterated, `jobs` and `failed` are in the policy's order,
    as plan() gives them, and `order` says where each job of `jobs` was started."""

    policy: Policy
    ctx: ScanContext
    only: Sequence[str] = ()
    tree: Weight | None = None  # which scanner leads (Scanner.lead_cost)
    jobs: list[tuple[Scanner, Job]] = field(default_factory=list)
    failed: list[ScannerRun] = field(default_factory=list)
    order: list[int] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[Scanner, Job]]:
        chosen = _chosen(self.policy, self.only)
        rank = {s.name: n for n, s in enumerate(chosen)}
        started: list[tuple[Scanner, Job]] = []
        for _, settings in launch_order([(SCANNERS[s.name], s) for s in chosen], self.tree):
            planned = _plan_one(settings, self.ctx)
            if isinstance(planned, ScannerRun):
                self.failed.append(planned)
                continue
            for scanner_job in planned:
                started.append(scanner_job)
                yield scanner_job
        # back to the policy's order (stable: a scanner's jobs keep theirs)
        self.order = sorted(range(len(started)), key=lambda i: rank[started[i][0].name])
        self.jobs = [started[i] for i in self.order]
        self.failed.sort(key=lambda run: rank[run.name])

    def in_policy_order(self, outcomes: Sequence[JobOutcome]) -> list[JobOutcome]:
        """The runner's outcomes (in the order the jobs were started) in the order of jobs."""
        return [outcomes[i] for i in self.order]


def _chosen(policy: Policy, only: Sequence[str]) -> list[ScannerSettings]:
    return [s for s in settings_for(policy) if not only or s.name in only]


def _plan_one(settings: ScannerSettings, ctx: ScanContext
              ) -> list[tuple[Scanner, Job]] | ScannerRun:
    """One scanner's jobs, or its failed run when it cannot be planned."""
    scanner = SCANNERS[settings.name]
    try:
        return [(scanner, job) for job in scanner.plan(settings, ctx)]
    except ScannerError as exc:
        return ScannerRun(name=settings.name, scanner=settings.name, status=RunStatus.FAILED,
                          required=settings.required,
                          reason=exc.reason + (f" ({exc.hint})" if exc.hint else ""),
                          categories=_values(scanner.job_categories(None)))


def _paths_resolved(policy: Policy, base: Path) -> Policy:
    """Path options (Option.path) are relative to the policy file that wrote them."""
    for settings in settings_for(policy):
        options = SCANNERS[settings.name].options
        given = {k: str((base / v).resolve()) for k, v in settings.options.items()
                 if k in options and options[k].path and isinstance(v, str)
                 and not Path(v).is_absolute()}
        policy = with_scanner_options(policy, settings.name, given)
    return policy


def _path_options(policy: Policy) -> list[str]:
    """The enabled scanners' path options (caches such as trivy's cache_dir)."""
    return [str(v) for s in settings_for(policy) for k, v in s.options.items()
            if k in SCANNERS[s.name].options and SCANNERS[s.name].options[k].path]


@contextlib.contextmanager
def _advisory_service(source: Path | None, cache_dir: Path | None
                      ) -> Iterator[tuple[AdvisoryDB | None, str | None]]:
    if source is None:
        yield None, None
        return
    db = load(source, cache_dir=cache_dir, deferred=True)  # an index to build: when asked
    with OsvServer(db) as server:
        yield db, server.query_url


def _aliases(db: AdvisoryDB | None) -> Expand | None:
    """An advisory id -> the aliases its record names (a GHSA finding's CVE)."""
    if db is None:
        return None

    def expand(vuln_id: str) -> list[str]:
        aliases = (db.get(vuln_id) or {}).get("aliases")
        return [a for a in aliases if isinstance(a, str)] if isinstance(aliases, list) else []
    return expand


def scan(policy: Policy, opts: ScanOptions,
         now: datetime.datetime | None = None) -> tuple[ScanResult, list[Merge]]:
    root = opts.root.resolve()
    if not root.is_dir():
        raise UsageError(f"{opts.root}: not a directory")
    check_output_dir(opts.output_dir, root)
    started = now or datetime.datetime.now(datetime.timezone.utc)
    # Relative paths in a policy file are relative to that file, like any config file.
    base = Path(policy.base_dir) if policy.base_dir else root
    advisories = opts.advisories
    if advisories is None and policy.advisories:
        advisories = base / policy.advisories
    policy = _paths_resolved(policy, base)
    images = tuple(dict.fromkeys((*opts.images, *(t.image for t in policy.targets if t.image))))
    # Never a cache inside the scanned tree: the code under review could plant an index there.
    adv_cache = cachedir.usable(opts.cache_dir or cachedir.default_root(), root, "advisories")
    # Our own output and caches are never scanned (each run would scan the last one's).
    caches = [base / c for c in (*_path_options(policy), opts.cache_dir or
                                 cachedir.default_root()) if isinstance(c, (str, Path))]
    exclude_dirs = _inside(root, opts.output_dir, *caches)
    # the tree's scanner config files and its symlinks leading outside it (docs/security.md)
    tree = inspect_tree(root, exclude_dirs=exclude_dirs, honour=policy.honor_repo_config)
    changed = changed_files(root, opts.changed_since) if opts.changed_since else None
    venvs = untracked(root, tree.venv_dirs)
    for d in venvs:
        progress.note(f"not scanned: {d} (a virtualenv: it holds a pyvenv.cfg)")
    exclude_dirs = tuple(dict.fromkeys((*exclude_dirs, *venvs)))
    # The one temp dir of the scan (mode 0700, under $TMPDIR): scanner stdout, caches and
    # pins live here and go with it, also when SIGTERM/SIGINT unwinds through this block.
    with tempfile.TemporaryDirectory(prefix="posture-gate-", ignore_cleanup_errors=True) \
            as work, \
            _advisory_service(advisories, adv_cache) as (db, osv_url):
        ctx = ScanContext(root=root, work_dir=Path(work), osv_url=osv_url, advisories=db,
                          images=images, source=fp.SourceLines(root),
                          exclude_dirs=exclude_dirs, honor_repo_config=tree.honoured_names,
                          outside_links=tree.outside_links,
                          scanners=len(_chosen(policy, opts.only)))
        # Raw outputs are staged in the temp dir and published only when every job is done:
        # an interrupted run leaves the previous run's raw/ as it was.
        staged = Path(work) / "staged"
        results = cachedir.usable(opts.cache_dir or cachedir.default_root(), root,
                                  resultcache.KIND) if opts.result_cache else None
        cache = resultcache.ResultCache(results) if results else None
        # hashed before any scanner reads the tree, and weighed: which scanner leads
        snap = tree_snapshot(ctx, cache) if cache is not None else None
        planning = Planning(policy=policy, ctx=ctx, only=opts.only,
                            tree=treedigest.weight(snap) if snap is not None else None)
        surveyed: list[Tree] = []  # coverage's look at the tree, taken while scanners run
        spans = StatementIndex(root)  # dedup's, read ahead while the last scanners run

        def meanwhile(running: Running) -> None:
            """Once every job has started: the advisory index (the scan waits for it below
            anyway; pip-audit's first query, after its ~0.4 s of imports, would start a cold
            build later: about 3.3 -> 2.9 s cold on djangogirls), coverage's survey, then
            dedup's parsing of what the code scanners that ended flagged."""
            if db is not None:
                with contextlib.suppress(Exception):  # raised again, to its users, below
                    db.wait()
            if not opts.only and not opts.changed_since:  # narrowed: says nothing of the tree
                surveyed.append(survey(root, exclude_dirs))
            parse_ahead(spans, running)
        outcomes = planning.in_policy_order(run_cached(
            planning, ctx, staged, cache, policy.scanner_settings(), changed,
            meanwhile=meanwhile, snap=snap))
        jobs, failed = planning.jobs, planning.failed
        if db is not None:
            db.wait()  # an index that could not be built ends the scan here (exit 2)
        publish_raw(staged, opts.output_dir)
        # after every tool finished, on each scanner's own budget (the OSV server is up)
        outcomes = enrich_all(jobs, outcomes, ctx)
    runs = [*failed, *(replace(o.run, categories=_values(s.job_categories(j)))
                       for (s, j), o in zip(jobs, outcomes, strict=True))]
    raw = [f for o in outcomes for f in o.findings]
    budget = codepairs.Budget()
    findings, merges = dedup(fp.disambiguate(raw), root=root, budget=budget,
                            spans=spans)  # reads root
    if (said := budget.warning()) is not None:  # on the runs whose counts it affects
        runs = [replace(r, warnings=(*r.warnings, said)) if Category.CODE.value in
                r.categories else r for r in runs]
    provider = provider_for(policy.platform, opts.platform) if not opts.only else None
    if provider is not None:  # the platform's settings, from its API (platform/)
        checked = check_platform(policy.platform or PlatformSettings(), provider, os.environ)
        runs.append(checked.run)
        findings = [*findings, *checked.findings]
    if opts.threat is not None:
        findings = list(enrich(findings, opts.threat, _aliases(db)))
    findings = list(apply_vex(findings, opts.vex))
    cov = None
    if surveyed:
        cov = measure(surveyed[0], root, runs, opts.output_dir,
                      excludes={s.name: list(s.options.get("exclude") or [])
                                for s in settings_for(policy)},
                      images_scanned=images if any(r.name.startswith("trivy-image") and
                                                   r.status is RunStatus.OK for r in runs)
                      else ())
    finished = datetime.datetime.now(datetime.timezone.utc) if now is None else now
    result = ScanResult(
        tool_version=__version__, started_at=_utc(started), finished_at=_utc(finished),
        root=str(root), policy=policy.source, policy_digest=policy.digest,
        scanners=tuple(runs), findings=sort_findings(findings),
        commit=_git(root, "rev-parse", "HEAD"),
        branch=_git(root, "rev-parse", "--abbrev-ref", "HEAD"),
        image=images[0] if images else None,
        repo_config=tree.config_files, outside_links=tree.outside_links,
        threat=opts.threat.sources if opts.threat is not None else (),
        coverage=cov,
    )
    return result, merges
