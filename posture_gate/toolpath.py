"""Where a scanner's executable is: beside posture-gate's own Python first, then PATH."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def which(name: str) -> str | None:
    return locate(name)[0]


def interpreter_dir() -> Path:
    return Path(sys.executable).parent


def locate(name: str) -> tuple[str | None, str]:
    """(path, where it came from). First the directory of the Python running posture-gate
    (its venv's or pipx's bin/: the scanners installed with it, also when that venv is not
    activated), then PATH. That directory is posture-gate's own install, trusted as much
    as posture-gate itself; sys.executable is not resolved, a venv's python is a link."""
    beside = interpreter_dir() / name if sys.executable else None
    if beside is not None and beside.is_file() and os.access(beside, os.X_OK):
        return str(beside), "beside posture-gate's Python"
    found = shutil.which(name)
    return found, "from PATH" if found else "not found beside posture-gate's Python or on PATH"
