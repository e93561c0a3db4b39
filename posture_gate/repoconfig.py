"""What in the scanned tree could steer a scanner: its config and ignore files, and
symlinks that lead outside the scanned root.

One bounded walk that never follows a symlink. The scanners' plans use the result to
neutralize both (docs/security.md "Scanner configuration in the scanned tree"); the run
document lists them so that a reviewer sees what the tree tried.
"""

from __future__ import annotations

import configparser
import os
import re
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .errors import PostureGateError
from .model import RepoConfigFile
from .scanners import SCANNERS
from .scanners.base import NOT_PROJECT_DIRS
from .textutil import one_line

# Entries visited before giving up: past this the walk cannot vouch for the tree, and a
# link it did not see could lead a scanner outside (fail closed, exit 2).
MAX_ENTRIES = 2_000_000
_READ_LIMIT = 64 * 1024  # of a config file, for its note
VENV_MARKER = "pyvenv.cfg"  # every virtualenv (venv, virtualenv, uv) has one at its top

# File name -> scanner. pyproject.toml and setup.cfg count only at the root and only with
# a bandit section; the others wherever they are (the note says when a tool reads only
# the root's).
# (each scanner declares its files: Scanner.config_files)
SCANNER_OF = {name: s.name for s in SCANNERS.values() for name in sorted(s.config_files)}
_ROOT_ONLY = frozenset({"pyproject.toml", "setup.cfg"})
# read by their tool only from the working directory (the root), or given by path
_READ_AT_ROOT = frozenset({".bandit", "trivy.yaml", ".trivyignore", ".trivyignore.yaml",
                           "trivy-secret.yaml"})


class TreeTooLarge(PostureGateError):
    """The tree has more entries than the walk may visit."""


@dataclass(frozen=True, kw_only=True)
class TreeFacts:
    config_files: tuple[RepoConfigFile, ...]
    outside_links: tuple[str, ...]  # repo-relative POSIX paths, sorted
    # honor_repo_config names that the scanners may really read: a file whose copy is a
    # symlink leading outside the root is never handed to a scanner
    honoured_names: frozenset[str]
    # repo-relative directories holding a `pyvenv.cfg` (a virtualenv: a CI job's install,
    # never the project's code); not walked. scan.py keeps the untracked ones excluded.
    venv_dirs: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class _Found:
    rel: str
    path: Path
    outside: bool  # a symlink resolving outside the root


def inspect_tree(root: Path, *, exclude_dirs: Sequence[str] = (),
                 honour: Iterable[str] = (), max_entries: int = MAX_ENTRIES) -> TreeFacts:
    """Config files and outside links under `root` (already resolved), skipping
    NOT_PROJECT_DIRS at any depth, the repo-relative `exclude_dirs` and virtualenvs."""
    excluded = frozenset(exclude_dirs)
    found: list[_Found] = []
    outside: list[str] = []
    venvs: list[str] = []
    seen = 0
    stack = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError:
            continue  # unreadable: no scanner reads it either
        if prefix and any(e.name == VENV_MARKER and e.is_file(follow_symlinks=False)
                          for e in entries):
            venvs.append(prefix.rstrip("/"))
            continue
        for entry in entries:
            seen += 1
            if seen > max_entries:
                raise TreeTooLarge(
                    f"{root}: more than {max_entries} files and directories; posture-gate "
                    "cannot check the tree for symlinks leading outside it")
            rel = f"{prefix}{entry.name}"
            if entry.is_symlink():
                leaves = not _inside(root, entry.path)
                if leaves:
                    outside.append(rel)
                if entry.name in SCANNER_OF:
                    found.append(_Found(rel=rel, path=Path(entry.path), outside=leaves))
            elif entry.is_dir(follow_symlinks=False):
                if entry.name not in NOT_PROJECT_DIRS and rel not in excluded:
                    stack.append((Path(entry.path), f"{rel}/"))
            elif entry.name in SCANNER_OF and (prefix == "" or entry.name not in _ROOT_ONLY):
                found.append(_Found(rel=rel, path=Path(entry.path), outside=False))
    wanted = frozenset(honour)
    # a name is honoured only if no copy of it leads outside the root
    honoured = frozenset(n for n in wanted if not any(
        f.outside and Path(f.rel).name == n for f in found))
    files = [_describe(f, honoured, root) for f in sorted(found, key=lambda f: f.rel)]
    return TreeFacts(config_files=tuple(f for f in files if f is not None),
                     outside_links=tuple(sorted(outside)), honoured_names=honoured,
                     venv_dirs=tuple(sorted(venvs)))


def _inside(root: Path, path: str) -> bool:
    target = os.path.realpath(path)
    return target == str(root) or target.startswith(str(root).rstrip("/") + "/")


def _passed(root: Path, honoured: frozenset[str], name: str) -> bool:
    """Whether the plans hand the root's `name` to its scanner (scanners.base
    honoured_config: honoured and a file)."""
    return name in honoured and (root / name).is_file()


def _describe(f: _Found, honoured: frozenset[str], root: Path) -> RepoConfigFile | None:
    name = Path(f.rel).name
    scanner = SCANNER_OF[name]
    at_root = "/" not in f.rel

    def entry(note: str, is_honoured: bool = False) -> RepoConfigFile:
        return RepoConfigFile(path=f.rel, scanner=scanner, honoured=is_honoured,
                              note=one_line(note, 200))

    if f.outside:
        return entry("a symlink leading outside the scanned root: never read")
    text = _read(f.path)
    if name == "pyproject.toml" or name == "setup.cfg":
        section = _toml_bandit(text) if name == "pyproject.toml" else _ini_bandit(text)
        if section is None:
            return None  # no bandit section: nothing bandit could take from it
        if name == "setup.cfg":
            return entry("bandit 1.9.4 does not read setup.cfg (only a file given with "
                         "--ini)")
    elif name == ".bandit":
        section = _ini_bandit(text)
    else:
        section = None
    note = _note(name, text, section)
    if name in _READ_AT_ROOT and not at_root:
        where = "bandit is given only the root's .bandit" if name == ".bandit" else \
            "trivy reads only the root's"
        return entry(f"{note}; {where}" if note else where)
    if name == ".trivyignore.yaml" and name not in honoured:
        return entry(f"{note}; trivy 0.76.0 reads it only when named by --ignorefile or "
                     "trivy.yaml")
    if name == ".trivyignore" and _passed(root, honoured, name) and \
            _passed(root, honoured, ".trivyignore.yaml"):
        return entry(f"{note}; trivy takes one ignore file and .trivyignore.yaml is used")
    is_honoured = name in honoured if name == ".semgrepignore" else \
        _passed(root, honoured, name)
    return entry(note, is_honoured)


def _read(path: Path) -> str:
    """At most _READ_LIMIT of a regular file inside the root (a FIFO would block)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return ""
        with open(path, "rb") as fh:
            return fh.read(_READ_LIMIT).decode("utf-8", "replace")
    except OSError:
        return ""


def _ini_bandit(text: str) -> dict[str, str] | None:
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return dict(parser.items("bandit")) if parser.has_section("bandit") else None


def _toml_bandit(text: str) -> dict[str, object] | None:
    try:
        tool = tomllib.loads(text).get("tool")
    except tomllib.TOMLDecodeError:
        return None
    section = tool.get("bandit") if isinstance(tool, dict) else None
    return section if isinstance(section, dict) else None


def _items(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return ",".join(v.strip() for v in str(value).split(",") if v.strip())


_TOP_KEY = re.compile(r"^([A-Za-z0-9_.-]+)\s*:", re.MULTILINE)
_YAML_ID = re.compile(r"-\s*id\s*:")
_WORDS = {"skips": "skips", "tests": "runs only", "exclude": "excludes",
          "exclude_dirs": "excludes"}


def _note(name: str, text: str, section: dict[str, object] | dict[str, str] | None) -> str:
    """What the file would change, where that is cheap to say."""
    if name in (".bandit", "pyproject.toml"):
        if section is None:
            return "no [bandit] section" if name == ".bandit" else ""
        parts = [f"{_WORDS[k]} {_items(v)}" for k, v in section.items() if k in _WORDS]
        others = sorted(k for k in section if k not in _WORDS)
        if others:
            parts.append("sets " + ", ".join(others))
        return "; ".join(parts) or "empty [bandit] section"
    lines = [ln.strip() for ln in text.splitlines()]
    if name in (".semgrepignore", ".trivyignore"):
        rules = [ln for ln in lines if ln and not ln.startswith("#")]
        unit = "pattern(s)" if name == ".semgrepignore" else "id(s)"
        includes = [ln for ln in rules if ln.startswith(":include")]
        note = f"ignores {len(rules) - len(includes)} {unit}"
        return note + (f", includes {len(includes)} other file(s)" if includes else "")
    if name == ".trivyignore.yaml":
        return f"ignores {sum(1 for ln in lines if _YAML_ID.match(ln))} entr(ies)"
    keys = list(dict.fromkeys(_TOP_KEY.findall(text)))
    return ("sets " + ", ".join(keys[:12])) if keys else "empty"
