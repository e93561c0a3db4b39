"""Report sections about how the review was done, shared by the reporters: review coverage
(coverage_gate.py renders it) and effectiveness from the history (effectiveness_view.py);
the posture section (posture_view.py); each is empty when the run has none."""

from __future__ import annotations

from ..coverage_gate import console_lines as coverage_console
from ..coverage_gate import html_section as coverage_html
from ..coverage_gate import markdown as coverage_markdown
from ..effectiveness_view import html_section as effectiveness_html
from ..effectiveness_view import markdown as effectiveness_markdown
from ..floor_gates import floor_note
from ..posture_view import console_lines as posture_console
from ..posture_view import html_section as posture_html
from ..posture_view import markdown as posture_markdown

__all__ = ["coverage_console", "coverage_html", "coverage_markdown", "effectiveness_html",
           "effectiveness_markdown", "floor_note", "posture_console", "posture_html",
           "posture_markdown"]
