"""Report sections about how the review was done, shared by the reporters: review coverage
(coverage_gate.py renders it; None when the run has no measurement)."""

from __future__ import annotations

from ..coverage_gate import console_lines as coverage_console
from ..coverage_gate import html_section as coverage_html
from ..coverage_gate import markdown as coverage_markdown
from ..floor_gates import floor_note

__all__ = ["coverage_console", "coverage_html", "coverage_markdown", "floor_note"]
