"""A file-level scanner job narrowed to some files of the tree, scanning each of them
exactly as the full job would (same exclusions, same configuration), or None when that
cannot be promised: the caller then runs the full job.

bandit: the files are handed as targets spelled the way its own walk spells them
(`./src/a.py` under target `.`), so that its `-x` patterns match them identically; its walk
keeps only `*.py`/`*.pyw` (explicit targets skip that test, so it is applied here).
semgrep: the full job with one anchored `--include` per file: semgrep still walks the
targets and applies every exclusion, and keeps only those files.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import replace

from .scanners.base import Job

# Characters a path handed to a tool may hold: anything else (newline, control
# characters, a leading dash) gets the full job, never a pattern that could mean more.
_PLAIN = re.compile(r"^[A-Za-z0-9_./+@%=,~ -]+$")
BANDIT_INCLUDE = ("*.py", "*.pyw")  # bandit's default `include` (no -c config given)
_GITIGNORE_SPECIAL = re.compile(r"([\\*?\[\]!# ])")
NOTHING = "nothing"  # none of the files would be scanned: no run is needed


def plain(rel: str) -> bool:
    return bool(_PLAIN.match(rel)) and not rel.startswith("-") and "/-" not in rel \
        and ".." not in rel.split("/")


def narrow(job: Job, files: Sequence[str]) -> Job | str | None:
    """`job` limited to `files` (repo-relative), NOTHING, or None (run the full job)."""
    if not files:
        return NOTHING
    if not all(plain(f) for f in files):
        return None
    if job.scanner == "bandit":
        return _bandit(job, files)
    if job.scanner == "semgrep":
        return _semgrep(job, files)
    return None


def accepts_files(scanner: str) -> bool:
    return scanner in ("bandit", "semgrep")


def bandit_form(argv: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """(targets, the flags after them) of a bandit job as the plan makes it: `-r TARGETS
    -f ...` with posture-gate's own ini and no -c; None otherwise (a config file may change
    bandit's include globs, an honoured .bandit its targets)."""
    if len(argv) < 3 or argv[1] != "-r" or "-f" not in argv:
        return None
    end = list(argv).index("-f")
    targets, rest = list(argv[2:end]), list(argv[end:])
    if "-c" in rest or not targets:
        return None
    ini = rest[rest.index("--ini") + 1] if "--ini" in rest[:-1] else ""
    return (targets, rest) if ini.endswith("/bandit.ini") else None


def _bandit(job: Job, files: Sequence[str]) -> Job | str | None:
    argv = list(job.argv)
    form = bandit_form(argv)
    if form is None:
        return None
    targets, rest = form
    spelled: list[str] = []
    for rel in files:
        for target in targets:
            path = _spell(target, rel)
            # a target that is the file itself is scanned whatever its name (no glob test)
            if path is not None and (path == target or any(
                    fnmatch.fnmatch(path, g) for g in BANDIT_INCLUDE)):
                spelled.append(path)
                break
    if not spelled:
        return NOTHING
    return replace(job, argv=(argv[0], "-r", *spelled, *rest))


def _spell(target: str, rel: str) -> str | None:
    """`rel` as bandit's os.walk of `target` prints it, or None if outside the target."""
    if target.startswith("/") or not plain(target):
        return None
    base = os.path.normpath(target)
    if base == ".":
        return os.path.join(target, rel)
    if rel == base:
        return target
    if not rel.startswith(base + "/"):
        return None
    return os.path.join(target, rel[len(base) + 1:])


def _semgrep(job: Job, files: Sequence[str]) -> Job | None:
    argv = list(job.argv)
    # anchored patterns need the project root to be the scanned root and no git filter
    if "--include" in argv or "--no-git-ignore" not in argv:
        return None
    at = next((i for i, a in enumerate(argv[:-1]) if a == "--project-root"
               and argv[i + 1] == "."), None)
    if at is None:
        return None
    includes = [x for rel in files for x in ("--include", "/" + _GITIGNORE_SPECIAL.sub(
        r"\\\1", rel))]
    return replace(job, argv=(*argv[:at], *includes, *argv[at:]))
