"""Stable finding ids.

A fingerprint never contains a line number: it hashes what the finding is about
(rule, file, the flagged source text with whitespace folded, or the package and
advisory), so moving code keeps it. Two findings with the same basis in one file
are told apart by their order of appearance. The algorithm is versioned; baselines
record the version so an older one can be migrated instead of making everything new.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from .model import Finding

ALGORITHM = "pg-fp-1"

_WS = re.compile(r"\s+")


def normalize_code(text: str) -> str:
    """Fold whitespace so re-indenting or reformatting a line keeps its id."""
    return _WS.sub(" ", text).strip()


def digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\x1f")  # unit separator: ("ab", "c") != ("a", "bc")
    return h.hexdigest()


def snippet_hash(snippet: str) -> str:
    """Kept on the finding (never the text itself: it may hold a secret) so that a
    later algorithm can recompute ids from a baseline."""
    return digest(normalize_code(snippet))


def code_basis(*, category: str, rule_key: str, path: str, content: str) -> str:
    """`content` is a snippet_hash()."""
    return digest(ALGORITHM, category, rule_key, path, content)


def package_basis(*, category: str, ecosystem: str, name: str, advisory: str,
                  manifest: str) -> str:
    # The installed version is deliberately left out: bumping a package to another
    # still-vulnerable version is the same open problem, not a new one.
    return digest(ALGORITHM, category, ecosystem.lower(), name.lower(), advisory, manifest)


def canonical_advisory(ids: Iterable[str]) -> str:
    """One id per advisory whichever scanner reported it: CVE, then GHSA, then the rest."""
    pool = sorted(set(ids))
    for prefix in ("CVE-", "GHSA-"):
        chosen = [i for i in pool if i.startswith(prefix)]
        if chosen:
            return chosen[0]
    return pool[0] if pool else ""


def disambiguate(findings: Sequence[Finding]) -> list[Finding]:
    """Give the 2nd, 3rd... finding with an identical basis its own id, in line order."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(findings):
        groups[f.fingerprint].append(i)
    out = list(findings)
    for indices in groups.values():
        if len(indices) < 2:
            continue
        indices.sort(key=lambda i: (_line(findings[i]), i))
        for n, i in enumerate(indices[1:], start=2):
            f = out[i]
            out[i] = f.with_(fingerprint=digest(f.fingerprint, str(n)))
    return out


def _line(f: Finding) -> int:
    return (f.location.start_line or 0) if f.location else 0


class SourceLines:
    """Reads source lines for fingerprints, once per file, never outside the root."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[str, list[str]] = {}

    def line_range(self, path: str, start: int | None, end: int | None) -> str:
        if start is None:
            return ""
        lines = self._lines(path)
        stop = end if end and end >= start else start
        return "\n".join(lines[start - 1 : stop])

    def _lines(self, path: str) -> list[str]:
        if path not in self._cache:
            try:
                full = (self.root / path).resolve()
                full.relative_to(self.root)
                text = full.read_text(encoding="utf-8", errors="replace")
            except (OSError, ValueError, RuntimeError):  # RuntimeError: a symlink loop
                text = ""
            self._cache[path] = text.splitlines()
        return self._cache[path]
