"""Error types. `cli.py` is the one boundary that turns them into a message and exit code 2."""

from __future__ import annotations


class PostureGateError(Exception):
    """Anything that stops posture-gate from evaluating: always exit 2, one line."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return " ".join(text.split())


class PolicyError(PostureGateError):
    """The policy file is unreadable or invalid; the message names file, line and key."""


class UsageError(PostureGateError):
    """Bad command-line input (files that do not exist, conflicting flags)."""


class ScannerError(PostureGateError):
    """A scanner could not produce a trustworthy result."""

    def __init__(self, scanner: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{scanner}: {message}", hint)
        self.scanner = scanner
        self.reason = message


class ScannerOutputError(ScannerError):
    """The scanner ran but its output is not what that version writes (fail closed)."""


class InputError(PostureGateError):
    """An input file that cannot be read: a saved findings.json, a baseline, the history
    file (or a time stamp in it), a KEV/EPSS/VEX document."""
