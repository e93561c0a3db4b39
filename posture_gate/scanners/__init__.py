"""Scanner adapters. One module per tool, one registry; a test walks every entry."""

from __future__ import annotations

from .bandit import Bandit
from .base import Scanner
from .pip_audit import PipAudit
from .semgrep import Semgrep
from .trivy import Trivy
from .zizmor import Zizmor

SCANNERS: dict[str, Scanner] = {
    s.name: s for s in (PipAudit(), Bandit(), Semgrep(), Trivy(), Zizmor())
}

__all__ = ["SCANNERS", "Scanner"]
