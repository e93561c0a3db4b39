"""Report sections about how the review was done, shared by the reporters: review coverage
(coverage_gate.py renders it) and effectiveness from the history (effectiveness_view.py);
each is empty when the run has no such measurement."""

from __future__ import annotations

from ..coverage_gate import console_lines as coverage_console
from ..coverage_gate import html_section as coverage_html
from ..coverage_gate import markdown as coverage_markdown
from ..effectiveness_view import html_section as effectiveness_html
from ..effectiveness_view import markdown as effectiveness_markdown
from ..floor_gates import floor_note

__all__ = ["coverage_console", "coverage_html", "coverage_markdown", "effectiveness_html",
           "effectiveness_markdown", "floor_note"]
