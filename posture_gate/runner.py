"""Runs the planned scanner jobs concurrently; one failure never stops the others."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from . import proc, progress, shards, toolpath, workers
from .errors import ScannerError
from .fsutil import human_size, write_atomic
from .model import Finding, RunStatus, ScannerRun
from .redact import redact
from .scanners.base import Job, ScanContext, Scanner, Weight
from .textutil import last_line, one_line

RAW_DIR = "raw"
STDOUT_DIR = "stdout"  # under the scan's private temp dir: never in the output dir
SCANNER_TMP_DIR = "tmp"  # the scanners' $TMPDIR, also under it
MAX_OUTPUT = proc.MAX_OUTPUT  # bytes of stdout per scanner; the scanner is killed past it
BACKGROUND_NICE = 10  # CPU priority drop of every job but the lead (run_all)
# Threads for the jobs of one scan: started as jobs are submitted, never more than there are
# jobs. A plan handed over lazily has no length to size the pool by; past this many jobs
# (images in a policy's targets) the rest wait for a thread.
MAX_JOBS = 64
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class JobOutcome:
    run: ScannerRun
    findings: tuple[Finding, ...]


def installed_version(executable: str, distribution: str | None) -> str | None:
    """The version in the dist-info beside a Python tool's console script, read from disk:
    asking `pip-audit --version` costs half a second of CPU the scanners need."""
    where = toolpath.which(executable)
    if distribution is None or where is None:
        return None
    prefix = Path(where).resolve().parent.parent
    found = list(prefix.glob(f"lib/python3*/site-packages/{distribution}-*.dist-info"))
    if len(found) != 1:
        return None
    return found[0].name[len(distribution) + 1 : -len(".dist-info")] or None


def scanner_version(scanner: Scanner) -> str | None:
    known = installed_version(scanner.executable, scanner.distribution)
    if known:
        return known
    try:
        return scanner.parse_version(proc.capture(scanner.version_argv()))
    except (proc.NotFound, proc.TimedOut, proc.Cancelled, OSError):
        return None


def _tested(scanner: Scanner, version: str | None) -> bool | None:
    return version in scanner.tested_versions if version else None


def _private_dir(ctx: ScanContext, name: str) -> Path:
    d = ctx.work_dir / name
    d.mkdir(mode=0o700, exist_ok=True)
    d.chmod(0o700)  # mkdir's mode is masked by the umask; this one must not be
    return d


def run_job(scanner: Scanner, job: Job, ctx: ScanContext, out_dir: Path, *,
            nice: int = 0) -> JobOutcome:
    started = time.monotonic()

    def outcome(status: RunStatus, reason: str | None, version: str | None = None,
                tested: bool | None = None, exit_code: int | None = None) -> JobOutcome:
        run = ScannerRun(name=job.name, scanner=scanner.name, status=status,
                         required=job.required, reason=reason, version=version,
                         tested_version=tested, exit_code=exit_code,
                         duration_s=time.monotonic() - started)
        return JobOutcome(run=run, findings=())

    try:
        scanner.preflight(job, ctx)
    except ScannerError as exc:
        return outcome(RunStatus.FAILED, exc.reason if not exc.hint else
                       f"{exc.reason} ({exc.hint})")
    stdout_path = _private_dir(ctx, STDOUT_DIR) / f"{job.name}.stdout"
    # The scanners' own temp files (semgrep's semgrep-mcp/...) go with the scan's temp dir.
    env = {"TMPDIR": str(_private_dir(ctx, SCANNER_TMP_DIR)), **job.env,
           # A Python tool running `python -m X` (pip-audit runs `python -m pip`) would put
           # its cwd first on sys.path, and a pip/ package in the scanned tree would run:
           # Python >= 3.11 leaves the cwd out with this set.
           "PYTHONSAFEPATH": "1"}
    try:
        done = proc.run(job.argv, cwd=job.cwd or ctx.root, timeout=job.timeout, env=env,
                        stdout_path=stdout_path, max_output=MAX_OUTPUT, nice=nice)
    except proc.NotFound:
        stdout_path.unlink(missing_ok=True)
        return outcome(RunStatus.FAILED,
                       f"not installed: '{scanner.executable}' is neither beside "
                       "posture-gate's Python nor on PATH")
    except proc.Cancelled:
        stdout_path.unlink(missing_ok=True)
        return outcome(RunStatus.FAILED, "stopped: posture-gate was interrupted")
    except proc.TimedOut as exc:
        stdout_path.unlink(missing_ok=True)
        version = scanner_version(scanner)
        return outcome(RunStatus.TIMEOUT, f"timed out after {exc.seconds:g}s and was killed",
                       version, _tested(scanner, version))
    except proc.TooMuchOutput as exc:
        stdout_path.unlink(missing_ok=True)
        version = scanner_version(scanner)
        return outcome(RunStatus.FAILED, f"printed more than {human_size(exc.limit)} of "
                       "output (the limit) and was killed", version, _tested(scanner, version))
    data = stdout_path.read_bytes()
    stdout_path.unlink()  # only ever in memory from here on; the temp dir goes with the scan
    # The version is asked for after the scan, not before: the scan starts at once, and
    # tools that print their version in their output (semgrep, trivy) are not asked at
    # all (semgrep takes over a second just to answer --version).
    version = scanner.output_version(data) or scanner_version(scanner)
    tested = _tested(scanner, version)
    # stderr only: stdout is the report itself and may quote a secret it found.
    tail = redact(done.stderr_tail)
    explained = scanner.explain_failure(tail) if done.returncode else None
    detail = explained if explained is not None else last_line(tail)
    try:
        if done.returncode not in scanner.ok_exit_codes:
            raise ScannerError(scanner.name, f"exited with code {done.returncode}"
                               + (f": {detail}" if detail else ""))
        try:
            parsed = scanner.parse(data, job, ctx, version or "unknown", exit_code=done.returncode)
        except ScannerError as exc:
            if explained:
                raise ScannerError(scanner.name, explained) from None
            if detail and done.returncode != 0:
                raise ScannerError(scanner.name, f"{exc.reason}; exit code {done.returncode}: "
                                   f"{detail}") from None
            raise
    except ScannerError as exc:
        # What it printed is not kept: output that did not parse cannot be redacted, and it
        # may quote the scanned files' secrets. The reason and stderr tail say what failed.
        reason = exc.reason + (f" ({exc.hint})" if exc.hint else "")  # the way out, if any
        return outcome(RunStatus.FAILED, one_line(redact(reason), 400) + "; output not kept, "
                       f"run {scanner.executable} by hand to see it", version, tested,
                       done.returncode)
    raw_name = f"{job.name}.json"
    doc = scanner.redact(json.loads(data))
    write_atomic(out_dir / RAW_DIR / raw_name, json.dumps(doc, indent=1, sort_keys=True),
                 base=out_dir)
    run = ScannerRun(name=job.name, scanner=scanner.name, status=RunStatus.OK,
                     required=job.required, duration_s=time.monotonic() - started,
                     raw_count=parsed.raw_count, raw_output=f"{RAW_DIR}/{raw_name}",
                     warnings=tuple(one_line(w) for w in parsed.warnings),
                     properties=dict(parsed.properties), version=version,
                     tested_version=tested, exit_code=done.returncode)
    return JobOutcome(run=run, findings=parsed.findings)


def enrich_all(planned: Sequence[tuple[Scanner, Job]], outcomes: Sequence[JobOutcome],
               ctx: ScanContext) -> list[JobOutcome]:
    """Each successful job's findings through its scanner's enrichment step (Scanner.enrich,
    its own time budget), after every tool has finished; its warnings and properties go to
    the job's run."""
    out = []
    for (scanner, job), o in zip(planned, outcomes, strict=True):
        if o.run.status is not RunStatus.OK:
            out.append(o)
            continue
        done = scanner.enrich(o.findings, job, ctx)
        run = replace(o.run, warnings=(*o.run.warnings, *(one_line(w) for w in done.warnings)),
                      properties={**o.run.properties, **done.properties})
        out.append(JobOutcome(run=run, findings=done.findings))
    return out


def publish_raw(staged: Path, out_dir: Path) -> None:
    """Copy the staged raw/ files into out_dir/raw (never through a planted symlink)."""
    src = staged / RAW_DIR
    if not src.is_dir():
        return
    for f in sorted(src.iterdir()):
        write_atomic(out_dir / RAW_DIR / f.name, f.read_bytes(), base=out_dir)


def _run_reported(scanner: Scanner, job: Job, ctx: ScanContext, out_dir: Path,
                  nice: int) -> JobOutcome:
    """run_job, told to the progress listener (stderr) as it starts and ends."""
    progress.job_started(job)
    done = run_job(scanner, job, ctx, out_dir, nice=nice)
    progress.job_finished(job, done.run)
    return done


def _run_parts(scanner: Scanner, job: Job, ctx: ScanContext, out_dir: Path,
               nice: int) -> JobOutcome:
    """`job` as its parts (shards.py), run at once and told as the one job; whole when it
    has none (planned here, on the job's thread: weighing walks the tree)."""
    parts = shards.plan(scanner, job, ctx.root, others=ctx.scanners - 1)
    if parts is None:
        return _run_reported(scanner, job, ctx, out_dir, nice)
    progress.job_started(job)
    started = time.monotonic()
    with workers.pool("shard", len(parts)) as inner:
        futures = [inner.submit(run_job, scanner, part, ctx, out_dir, nice=nice)
                   for part in parts]
        done = [(o.run, o.findings) for o in (f.result() for f in futures)]
    run, findings = shards.merge(scanner, job, done, out_dir, RAW_DIR, started)
    progress.job_finished(job, run)
    return JobOutcome(run=run, findings=findings)


class Running:
    """The started jobs as `meanwhile` sees them while it waits: the outcomes of those
    that have ended, the scanners still running, and a wait for the next one to end."""

    def __init__(self, started: Sequence[tuple[Scanner, Job, Future[JobOutcome]]]) -> None:
        self._started = list(started)

    def ended(self) -> list[JobOutcome]:
        """Outcomes so far (a job that raised is left to the caller's f.result())."""
        return [f.result() for *_, f in self._started if f.done() and f.exception() is None]

    def still_running(self) -> list[tuple[Scanner, Job]]:
        return [(s, j) for s, j, f in self._started if not f.done()]

    def wait(self) -> None:
        """Until one more job ends (at once when none runs)."""
        wait([f for *_, f in self._started if not f.done()], return_when=FIRST_COMPLETED)


def launch_order(planned: Sequence[tuple[Scanner, T]], tree: Weight | None = None
                 ) -> list[tuple[Scanner, T]]:
    """Costliest scanner first on `tree` (Scanner.lead_cost), ties in the given order (of
    jobs, or of scanners still to plan: scan.Planning). The first job is the lead, the one
    expected to take longest: the scan ends when it does, so it starts first and keeps full
    CPU priority (run_all)."""
    return sorted(planned, key=lambda pair: -pair[0].lead_cost(tree))


class Launcher:
    """Starts jobs one at a time, each as soon as it is decided (cachedrun decides them one
    by one: the lead job need not wait for the others' cache keys); threads only wait on
    subprocesses.

    On a runner with fewer free cores than jobs (2 vCPUs is common) they compete, and the
    longest one ends last: every job but `first` runs at a lower CPU priority
    (BACKGROUND_NICE), so it takes what the lead leaves over and the scan ends sooner
    (docs/ci.md, Scheduling)."""

    def __init__(self, ctx: ScanContext, out_dir: Path, slots: int,
                 first: Job | None) -> None:
        self._ctx, self._out_dir = ctx, out_dir
        self._first = first.name if first is not None else None
        self._pool = workers.pool("scanner", max(1, slots))

    def start(self, scanner: Scanner, job: Job) -> Future[JobOutcome]:
        nice = 0 if self._first in (None, job.name) else BACKGROUND_NICE
        run = _run_parts if scanner.shardable else _run_reported
        return self._pool.submit(run, scanner, job, self._ctx, self._out_dir, nice)

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            # Leaving the pool waits for every job: a KeyboardInterrupt raised without our
            # signal handler (or any other escape) must not wait for the scanners to finish.
            proc.kill_all()
            self._pool.shutdown(wait=True)
            proc.resume()  # a caller that goes on (a library user, a test) may run again
            return
        self._pool.shutdown(wait=True)


def run_all(planned: Iterable[tuple[Scanner, Job]], ctx: ScanContext, out_dir: Path,
            meanwhile: Callable[[Running], object] = lambda _: None) -> list[JobOutcome]:
    """All jobs at once, each started as `planned` gives it (a lazy plan: the first starts
    while the rest are planned); the first is the lead, at full priority (Launcher), so give
    them in launch_order. Results in that order. `meanwhile` runs on this thread
    once every job has started: work of the scan's own, done while this thread would only
    wait (it sees the jobs through Running)."""
    jobs = iter(planned)
    first = next(jobs, None)
    if first is None:
        meanwhile(Running(()))
        return []
    with Launcher(ctx, out_dir, MAX_JOBS, first[1]) as launcher:
        started = [(s, j, launcher.start(s, j)) for s, j in itertools.chain([first], jobs)]
        meanwhile(Running(started))
        return [f.result() for *_, f in started]
