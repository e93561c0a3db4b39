"""Best-effort redaction of free text that posture-gate did not parse: a scanner's stderr
line quoted in a failure reason, an unexpected exception's message and traceback.

Parsed scanner output is redacted field by field by each scanner's `redact()`; this is the
net for text whose structure is unknown. It removes credentials in the shapes the secret
scanners look for, URL passwords, `password=...`-style assignments, and the values of
environment variables whose names say they hold a secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

MASK = "[redacted]"
_PATTERNS = [
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*):[^\s/@]+@"), rf"\1:{MASK}@"),
    (re.compile(r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|$)",
                re.S), f"-----BEGIN PRIVATE KEY-----{MASK}"),
    (re.compile(r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b"),
     MASK),
    (re.compile(r"\b(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{20,}"), MASK),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), MASK),
    (re.compile(r"(?i)hooks\.slack\.com/services/[A-Za-z0-9/_-]+"),
     f"hooks.slack.com/services/{MASK}"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), MASK),
    # password = "...", api_key: ..., --token=..., AWS_SECRET_ACCESS_KEY=...
    (re.compile(r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)"
                r"[A-Za-z_-]*[\"']?\s*[:=]\s*)(?:\"[^\"]*\"|'[^']*'|[^\s,;)}\]]+)"),
     rf"\1{MASK}"),
]
_SECRET_NAME = re.compile(r"(?i)token|secret|passw|webhook|api_?key|private|credential|auth")
_MIN_ENV_VALUE = 8  # shorter values ("1", "true") would blank out ordinary words


def _env_secrets(env: Mapping[str, str]) -> list[str]:
    values = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_ENV_VALUE}
    return sorted(values, key=len, reverse=True)


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    for value in _env_secrets(os.environ if env is None else env):
        text = text.replace(value, MASK)
    return text
