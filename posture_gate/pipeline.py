"""The one pipeline: scan -> first_seen -> evaluate -> history -> render.

`scan`, `gate` and the pre-commit hook all call it; this is the only place the order is
written. It returns frozen data and writes nothing but what its steps own (the scan's raw/
outputs, the history database): the CLI writes the rendered files, prints, notifies and
maps the verdict to an exit code.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from . import effectiveness, history, history_read, posture
from .baseline import Baseline
from .floor_gates import add_floor_gates
from .model import PolicyTrust, ScanResult
from .policy.evaluate import Verdict, evaluate
from .policy.model import Policy
from .reporters import REPORTERS
from .reporters.base import output_files
from .scan import ScanOptions, scan

CONSOLE = "console"


@dataclass(frozen=True, kw_only=True)
class Clock:
    """The pipeline's only time inputs: the day the gates are judged on and, for the
    history, the time the run is recorded at (the CLI's --today / --now)."""

    today: datetime.date
    now: datetime.datetime | None = None  # None: history.parse_now(None, today)


@dataclass(frozen=True, kw_only=True)
class Options:
    scan: ScanOptions | None = None  # what and where to scan; judge() of a saved run: None
    formats: tuple[str, ...] = ("json",)  # rendered, in this order, each once
    baseline: Baseline | None = None
    history: Path | None = None  # SQLite run history: first_seen in, the run recorded out
    trust: PolicyTrust | None = None  # which policy decided, kept in the run
    # The pre-commit hook scans a narrowed copy of the policy (its fast scanners, on a
    # snapshot of the staged files) but judges with the policy itself, under the repo's root.
    scan_policy: Policy | None = None
    root: str | None = None


@dataclass(frozen=True, kw_only=True)
class Outcome:
    run: ScanResult
    verdict: Verdict
    change: history.Recorded | None
    rendered: Mapping[str, Mapping[str, str]]  # format -> {file name: text}

    @property
    def files(self) -> dict[str, str]:
        """What goes into the output directory: every rendered format but the console."""
        return {name: text for fmt, files in self.rendered.items() if fmt != CONSOLE
                for name, text in files.items()}

    def text(self, fmt: str) -> str:
        """One format's whole text ("" when it was not rendered): console, step summary."""
        return "".join(self.rendered.get(fmt, {}).values())


def run(policy: Policy, opts: Options, clock: Clock) -> Outcome:
    """Scan opts.scan.root and judge the result."""
    if opts.scan is None:
        raise TypeError("pipeline.run: Options.scan is required")
    result, _ = scan(opts.scan_policy or policy, opts.scan)
    if opts.trust is not None:
        result = replace(result, policy_trust=opts.trust)
    if opts.root is not None:
        result = replace(result, root=opts.root)
    return judge(policy, result, opts, clock)


def judge(policy: Policy, result: ScanResult, opts: Options, clock: Clock) -> Outcome:
    """Evaluate a run (fresh, or a saved findings.json), record it, render it. Rendering
    comes last and all of it before anything is written: a reporter that fails leaves
    the previous reports intact."""
    first_seen = history.first_seen(opts.history) if opts.history else None
    verdict = evaluate(policy, result.findings, result.scanners, today=clock.today,
                       baseline=opts.baseline, first_seen=first_seen, threat=result.threat)
    if opts.history is not None:  # as of the last recorded run, before this one is added
        result = replace(result, effectiveness=effectiveness.measure(
            history_read.lifecycle(opts.history), policy.sla_days))
    # coverage floors and effectiveness limits
    verdict = add_floor_gates(policy, result, verdict, history_given=opts.history is not None)
    now = clock.now or datetime.datetime.combine(clock.today, datetime.time(12),
                                                 datetime.timezone.utc)
    result = replace(result, posture=posture.assess(policy, result, verdict, now))
    change = None
    if opts.history is not None:
        now = clock.now or history.parse_now(None, clock.today)
        result, verdict, change = history.apply(opts.history, result, verdict, now)
    rendered = {fmt: MappingProxyType(output_files(REPORTERS[fmt], result, verdict))
                for fmt in dict.fromkeys(opts.formats)}
    return Outcome(run=result, verdict=verdict, change=change,
                   rendered=MappingProxyType(rendered))
