"""Small text helpers shared by the runner and the reporters."""

from __future__ import annotations

import re

# C0/C1 controls, bidi overrides (Trojan Source) and the non-characters U+FFFE/U+FFFF.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")


def one_line(text: str, limit: int = 300) -> str:
    """ANSI escapes and control characters out, whitespace folded, length capped."""
    text = _CONTROL.sub(" ", _ANSI.sub("", text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def last_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.strip():
            return one_line(line, 200)
    return ""
