"""The one interface every report format implements: pure text from run + verdict."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from ..dates import parse_or_none
from ..fsutil import Chunks
from ..model import ScanResult
from ..policy.evaluate import Verdict
from ..scanners import SCANNERS
from ..textutil import one_line


class Reporter(Protocol):
    name: str
    filename: str  # default file name inside the output directory

    def render(self, run: ScanResult, verdict: Verdict) -> str:
        """No file I/O, no clock: the caller writes the text atomically."""


def output_files(reporter: Reporter, run: ScanResult, verdict: Verdict) -> dict[str, str]:
    """File name -> text. A reporter that must split its output (SARIF over GitHub's
    limits) provides `files(run, verdict)`; every other one writes `filename`."""
    files = getattr(reporter, "files", None)
    if callable(files):
        result: dict[str, str] = files(run, verdict)
        return result
    return {reporter.filename: reporter.render(run, verdict)}


def output_chunks(reporter: Reporter, run: ScanResult, verdict: Verdict
                  ) -> Iterator[tuple[str, Chunks]]:
    """output_files one file at a time, each text in chunks (str or UTF-8 bytes), for
    writing 100k findings without holding a whole report: a reporter that can provides
    `stream(run, verdict)`. Consume each file's chunks before asking for the next."""
    stream = getattr(reporter, "stream", None)
    if callable(stream):
        yield from stream(run, verdict)
        return
    for name, text in output_files(reporter, run, verdict).items():
        yield name, (text,)


def _age_days(stamp: str, started: str) -> int | None:
    # Both from saved files: either may lack a zone (taken as UTC) or not parse at all.
    then, now = parse_or_none(stamp), parse_or_none(started)
    return None if then is None or now is None else (now - then).days


# Run property -> label, as each scanner declares them (Scanner.freshness).
_FRESHNESS_LABELS = {k: label for s in SCANNERS.values() for k, label in s.freshness.items()}
DATA_FRESHNESS_KEYS = tuple(_FRESHNESS_LABELS)


def data_freshness(run: ScanResult) -> list[str]:
    """How old the vulnerability data was: trivy's DB and the served OSV records."""
    lines = []
    for s in run.scanners:
        for key, label in _FRESHNESS_LABELS.items():
            stamp = s.properties.get(key)
            if isinstance(stamp, str):
                age = _age_days(stamp, run.started_at)
                suffix = f" ({age} days before this scan)" if age is not None else ""
                lines.append(f"{one_line(s.name, 80)}: {label} {one_line(stamp, 40)}{suffix}")
    return lines


def policy_lines(run: ScanResult) -> list[str]:
    """Who decided the verdict: the trusted policy, and what the tree's own one changed."""
    t = run.policy_trust
    if t is None:
        return []
    if t.trusted is None:
        return [f"policy: {one_line(t.local or run.policy, 120)} from the scanned tree, not "
                "trusted (no --policy-ref or --policy was given)"]
    lines = [f"policy: trusted {one_line(t.trusted, 120)}"]
    if t.local:
        changed = "; ".join(t.tightened) if t.tightened else "no change"
        lines.append(f"repository-local {one_line(t.local, 120)} tightened it: "
                     f"{one_line(changed, 300)}")
    return lines
