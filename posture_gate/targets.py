"""Target assignment: which named part of the project (policy `targets:`) a finding is in.

A finding in an image belongs to the first target naming that image; any other finding to
the first target whose paths cover its file. Findings outside every target keep `None`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from .model import Finding


@dataclass(frozen=True, kw_only=True)
class TargetRule:
    name: str
    paths: tuple[str, ...] = ()
    image: str | None = None


def path_matches(path: str, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern + "/*")
    return path == pattern or path.startswith(pattern + "/") or pattern in ("", ".")


def target_of(f: Finding, targets: Sequence[TargetRule]) -> str | None:
    """First target that claims the finding: by image for image findings, else by path."""
    for t in targets:
        if f.image is not None:
            if t.image is not None and t.image == f.image:
                return t.name
        elif f.location is not None and any(path_matches(f.location.path, p) for p in t.paths):
            return t.name
    return None


def assign_targets(findings: Sequence[Finding], targets: Sequence[TargetRule]) -> list[Finding]:
    out = []
    for f in findings:  # an unchanged finding is kept, not copied (100k findings: 100k copies)
        t = target_of(f, targets)
        out.append(f if f.target == t else f.with_(target=t))
    return out
