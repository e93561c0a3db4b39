"""One meaning for the `exclude:` entries of a policy, translated for each scanner.

An entry is a directory (or file) or a glob:
- a bare name (`tests`, `*_test.py`): that name at any depth;
- a path with a `/` (`src/legacy`, `docs/*.py`): relative to the scanned root.
A trailing `/` is dropped. bandit (fnmatch on `./path` with a substring test as well),
semgrep (gitignore-style) and trivy (globs on root-relative paths) each spell these
differently; these functions give each tool its spelling, so `exclude: [tests]` drops
`tests/` for all of them (bandit alone would turn `tests` into `tests/*`, which never
matches the `./tests/...` paths it walks).
"""

from __future__ import annotations

from collections.abc import Iterable

_GLOB = frozenset("*?[")
# Test directories skipped by default by both code scanners: semgrep's built-in ignore list
# (scanners/semgrep.py DEFAULT_IGNORES) has these; bandit is given the same.
TEST_DIRS = ("test", "tests", "testsuite")


def _entries(values: Iterable[object]) -> list[str]:
    out = []
    for v in values:
        text = str(v).strip()
        while text.startswith("./"):
            text = text[2:]
        text = text.rstrip("/")
        if text and text != ".":
            out.append(text)
    return out


def _anchored(entry: str, root_relative: bool) -> bool:
    return root_relative or "/" in entry


def _bracket_first(text: str) -> str:
    """bandit also drops any path that merely contains a pattern: a bracketed first
    character is never in a real path, so only the fnmatch test applies."""
    first = text[0]
    return (f"[{first}]" if first not in _GLOB and first != "]" else first) + text[1:]


def bandit(values: Iterable[object], *, root_relative: bool = False) -> list[str]:
    """-x patterns for bandit's walk of `.` (`./tests/x.py`) or a named target (`src/x.py`).
    `root_relative`: every entry is a path from the root, even a bare name (our output)."""
    out: list[str] = []
    for e in _entries(values):
        if _anchored(e, root_relative):
            for path in (f"./{e}", e):
                out += [_bracket_first(path), _bracket_first(path) + "/*"]
        else:
            out += [f"*/{e}", f"*/{e}/*", _bracket_first(e), _bracket_first(e) + "/*"]
    return list(dict.fromkeys(out))


def semgrep(values: Iterable[object], *, root_relative: bool = False) -> list[str]:
    """--exclude patterns (gitignore-style, relative to --project-root)."""
    return [f"/{e}" if _anchored(e, root_relative) else e for e in _entries(values)]


def trivy(values: Iterable[object], *, root_relative: bool = False) -> list[str]:
    """--skip-dirs / --skip-files globs (root-relative; `**/` for any depth)."""
    return [e if _anchored(e, root_relative) else f"**/{e}" for e in _entries(values)]
