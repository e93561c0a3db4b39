"""Report formats. One module per format, one registry; a test walks every entry."""

from __future__ import annotations

from .base import Reporter
from .console import ConsoleReporter
from .jsonfile import JsonReporter

REPORTERS: dict[str, Reporter] = {r.name: r for r in (ConsoleReporter(), JsonReporter())}

__all__ = ["REPORTERS", "Reporter"]
