"""Report formats. One module per format, one registry; a test walks every entry."""

from __future__ import annotations

from .base import Reporter
from .console import ConsoleReporter
from .cyclonedx import CycloneDxReporter
from .gitlab import (
    GitlabContainerScanningReporter,
    GitlabDependencyScanningReporter,
    GitlabSastReporter,
    GitlabSecretDetectionReporter,
)
from .html import HtmlReporter
from .jsonfile import JsonReporter
from .junit import JunitReporter
from .markdown import MarkdownReporter
from .sarif import SarifReporter

REPORTERS: dict[str, Reporter] = {r.name: r for r in (
    ConsoleReporter(),
    JsonReporter(),
    SarifReporter(),
    JunitReporter(),
    MarkdownReporter(),
    GitlabSastReporter(),
    GitlabDependencyScanningReporter(),
    GitlabContainerScanningReporter(),
    GitlabSecretDetectionReporter(),
    HtmlReporter(),
    CycloneDxReporter(),
)}

__all__ = ["REPORTERS", "Reporter"]
