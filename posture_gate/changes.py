"""`scan --changed-since REF`: the files changed since the merge base of REF and HEAD.

The list is what the working tree holds that the merge base did not: added, copied,
modified, renamed (as its new path: no rename detection, so a rename is a new file) and
type-changed files, plus untracked files git does not ignore. Deleted files have nothing
to scan. git prints NUL-separated raw paths (-z): a name with a newline or quote is one
path; the scanners' narrowing (restrict.py) refuses names it cannot hand over safely and
scans everything instead.

git runs with the repository's hooks and helpers switched off: no fsmonitor, no external
diff, no textconv (the checkout's config could name a program to run).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .errors import UsageError

_SAFE = ("-c", "core.fsmonitor=false", "-c", "core.quotepath=off", "-c", "diff.external=",
         "-c", "core.hooksPath=/dev/null")
TIMEOUT_S = 60


def _git(root: Path, *args: str) -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_OPTIONAL_LOCKS"] = "0"
    try:
        out = subprocess.run(["git", *_SAFE, *args], cwd=root, capture_output=True,
                             timeout=TIMEOUT_S, check=False, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"--changed-since: git failed ({exc})") from None
    if out.returncode != 0:
        detail = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"--changed-since: git {args[0]} failed"
                         + (f": {detail[-1][:200]}" if detail else ""),
                         "fetch enough history for the merge base (actions/checkout "
                         "fetch-depth: 0, GitLab GIT_DEPTH: 0)")
    return out.stdout


def merge_base(root: Path, ref: str) -> str:
    if not ref or ref.startswith("-") or "\0" in ref:
        raise UsageError(f"--changed-since: {ref!r} is not a git revision")
    commit = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options",
                  f"{ref}^{{commit}}").decode().strip()
    return _git(root, "merge-base", commit, "HEAD").decode().strip()


def changed_files(root: Path, ref: str) -> list[str]:
    """The files to scan, relative to `root` (git --relative), sorted."""
    base = merge_base(root, ref)
    diff = _git(root, "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff",
                "--no-textconv", "--relative", "--diff-filter=ACMRTU", base, "--")
    others = _git(root, "ls-files", "-z", "--others", "--exclude-standard", "--", ".")
    names = {os.fsdecode(p) for p in (*diff.split(b"\0"), *others.split(b"\0")) if p}
    return sorted(n for n in names if (root / n).is_file() or (root / n).is_symlink())
