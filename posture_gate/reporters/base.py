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
