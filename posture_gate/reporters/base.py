"""The one interface every report format implements: pure text from run + verdict."""

from __future__ import annotations

from typing import Protocol

from ..model import ScanResult
from ..policy.evaluate import Verdict


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
