"""Colour on a terminal, never in a file or a pipe, never with NO_COLOR (no-color.org).

`--color auto` (the default) colours only when the stream is a TTY, NO_COLOR is unset or
empty and TERM is not `dumb`; `always` and `never` are the user's explicit choice and win
over NO_COLOR, as no-color.org allows for a command-line flag. Escape codes are added only
to text posture-gate wrote or already cleaned (textutil.one_line): untrusted text never
carries its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from .model import Severity

COLOR_MODES = ("auto", "always", "never")

_RESET = "\x1b[0m"
_SEVERITY = {
    Severity.CRITICAL: "\x1b[1;35m",  # bold magenta
    Severity.HIGH: "\x1b[1;31m",  # bold red
    Severity.MEDIUM: "\x1b[33m",  # yellow
    Severity.LOW: "\x1b[36m",  # cyan
    Severity.INFO: "\x1b[2m",  # dim
    Severity.UNKNOWN: "\x1b[35m",  # magenta
}


def color_enabled(mode: str, stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if mode == "always":
        return True
    if mode == "never" or env.get("NO_COLOR", "") != "" or env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or fake stream
        return False


@dataclass(frozen=True)
class Style:
    enabled: bool = False

    def _paint(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.enabled else text

    def fail(self, text: str) -> str:
        return self._paint("\x1b[1;31m", text)

    def ok(self, text: str) -> str:
        return self._paint("\x1b[1;32m", text)

    def warn(self, text: str) -> str:
        return self._paint("\x1b[1;33m", text)

    def dim(self, text: str) -> str:
        return self._paint("\x1b[2m", text)

    def severity(self, severity: Severity, text: str) -> str:
        return self._paint(_SEVERITY.get(severity, ""), text)
