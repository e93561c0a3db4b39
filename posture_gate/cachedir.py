"""Where posture-gate keeps what it may reuse between runs, and where it must not.

The cache root holds one folder per kind of entry (`advisories/`: advisory indexes). It is
never inside the scanned tree: the code under review could plant entries there, and the
scanners would scan our own cache.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_root() -> Path | None:
    """`$XDG_CACHE_HOME/posture-gate`, else `~/.cache/posture-gate`; None without a home.

    A relative XDG_CACHE_HOME is ignored, as the XDG spec says: it would depend on the
    working directory, which may be the scanned tree."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "posture-gate"
    try:
        return Path.home() / ".cache" / "posture-gate"
    except RuntimeError:  # no HOME and no passwd entry
        return None


def usable(cache_root: Path | None, scanned_root: Path, kind: str) -> Path | None:
    """`cache_root/kind`, or None (no persistent cache) when it would lie inside the
    scanned tree, symlinks resolved."""
    if cache_root is None:
        return None
    folder = (cache_root / kind).resolve()
    scanned = scanned_root.resolve()
    if folder == scanned or scanned in folder.parents:
        return None
    return folder
