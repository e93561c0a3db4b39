"""The pinned dependencies of a project, read from its requirements files and lock files.

The scanned tree is untrusted: every file is read from inside the scanned root only (an include
or a symlink that leaves it is an error, never read), size-capped, and every name and version is
validated before it reaches the requirements file handed to pip-audit.

Which files: the given requirements files (following `-r`/`-c` includes), else the project's
`requirements*.txt` and lock files (`poetry.lock`, `uv.lock`, `Pipfile.lock`, `pdm.lock`,
`pylock.toml`, `pylock.*.toml`); `pyproject.toml` only when there is neither, because a lock
pins what the ranges of a pyproject leave open.

Environment markers are not evaluated: a package pinned for another platform or Python is
still the project's dependency, and is audited (a lock forked on markers yields every version).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .lockfmt import (
    EDITABLE,
    EGG,
    INCLUDE,
    OPTION_TAIL,
    find_line,
    is_archive,
    logical_lines,
    source_kind,
    table_lines,
    toml_doc,
    typed_get,
)
from .lockfmt import LockError as LockError  # re-exported: part of this module's API
from .lockfmt import printable as printable

MAX_FILE_BYTES = 32 << 20  # a uv.lock of a large monorepo is a few MiB
MAX_INCLUDE_DEPTH = 16
LOCK_NAMES = ("poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock", "pylock.toml")
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


@dataclass(frozen=True, kw_only=True)
class Pin:
    """One package at one exact version, and where that pin is written."""

    name: str  # canonical (PEP 503)
    version: str  # normalized (PEP 440), as pip-audit prints it
    path: str  # repo-relative POSIX path of the manifest or lock file
    line: int


@dataclass(frozen=True, kw_only=True)
class Unpinned:
    """A dependency no advisory database can be asked about (git, URL): not audited."""

    name: str
    reason: str
    path: str
    line: int


@dataclass(frozen=True, kw_only=True)
class Inputs:
    files: tuple[str, ...]  # every file read, in reading order
    pins: tuple[Pin, ...]  # deduplicated on (name, version); the first place written wins
    unaudited: tuple[Unpinned, ...]


@dataclass(frozen=True, kw_only=True)
class _Range:
    """A requirement line that is not a pin: a lock or constraint must pin it."""

    name: str
    spec: str
    text: str
    path: str
    line: int


class _Reader:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.files: list[str] = []
        self.pins: list[Pin] = []
        self.unaudited: list[Unpinned] = []
        self.ranges: list[_Range] = []
        self._requirement_files: set[str] = set()

    # -- files -----------------------------------------------------------------------------

    def _open(self, path: Path, named: str) -> tuple[str, str]:
        """(repo-relative path, text) of a regular file inside the root; never follows a
        link out of it."""
        try:
            real = path.resolve()
            rel = real.relative_to(self.root).as_posix()
        except (OSError, RuntimeError, ValueError):
            raise LockError(f"{named} leaves the scanned tree; not read") from None
        if not real.is_file():
            raise LockError(f"{named}: not found, or not a regular file")
        try:
            with open(real, "rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise LockError(f"{named}: cannot be read ({exc.strerror})") from None
        if len(data) > MAX_FILE_BYTES:
            raise LockError(f"{named}: larger than {MAX_FILE_BYTES >> 20} MiB")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise LockError(f"{named}: not UTF-8") from None
        if rel not in self.files:
            self.files.append(rel)
        return rel, text

    def _pin(self, name: str, version: str, path: str, line: int) -> None:
        if not _NAME.match(name):
            raise LockError(f"{path}:{line}: invalid package name {name!r}")
        try:
            norm = str(Version(version))
        except InvalidVersion:
            raise LockError(f"{path}:{line}: {name}: invalid version {version!r}") from None
        self.pins.append(Pin(name=canonicalize_name(name), version=norm, path=path, line=line))

    def _unaudited(self, name: str, reason: str, path: str, line: int) -> None:
        self.unaudited.append(Unpinned(name=canonicalize_name(name) if _NAME.match(name)
                                       else printable(name[:80]), reason=printable(reason),
                                       path=path, line=line))

    # -- requirements files ----------------------------------------------------------------

    def requirements(self, rel: str, *, via: str | None = None, depth: int = 0,
                     base: Path | None = None) -> None:
        if depth > MAX_INCLUDE_DEPTH:
            raise LockError(f"{via}: includes nested deeper than {MAX_INCLUDE_DEPTH}")
        path, text = self._open((base or self.root) / rel, via or rel)
        if path in self._requirement_files:
            return  # already read (a file included twice, or a cycle)
        self._requirement_files.add(path)
        for n, line in logical_lines(text):
            include = INCLUDE.match(line)
            if include:
                self._include(path, n, include.group(2), depth)
                continue
            editable = EDITABLE.match(line)
            if editable:
                self._url_or_path(editable.group(1), path, n, "editable")
                continue
            if line.startswith("-"):
                continue  # a global option (--index-url, --hash on its own, ...): no package
            self._requirement(line, path, n)

    def _include(self, path: str, n: int, target: str, depth: int) -> None:
        """`-r`/`-c` as pip reads them: relative to the including file, and inside the root."""
        where = f"{path}:{n}: include {target!r}"
        if "://" in target or target.startswith("file:"):
            raise LockError(f"{where} is a URL; not fetched")
        if Path(target).is_absolute() or target.startswith("~"):
            raise LockError(f"{where} leaves the scanned tree; not read")
        self.requirements(target, via=where, depth=depth + 1,
                          base=(self.root / path).parent)

    def _url_or_path(self, target: str, path: str, n: int, kind: str,
                     name: str | None = None) -> None:
        """A URL / VCS requirement or a built archive is not audited; a local source
        directory is the project's own code."""
        vcs = target.startswith(("git+", "hg+", "svn+", "bzr+"))
        local = target.startswith("file:") or ("://" not in target and not vcs)
        if local and not is_archive(target.split("#", 1)[0]):
            return
        egg = EGG.search(target)
        self._unaudited(name or (egg.group(1) if egg else target),
                        f"{kind} {'archive' if local else 'URL'} requirement", path, n)

    def _requirement(self, line: str, path: str, n: int) -> None:
        text = OPTION_TAIL.split(line, maxsplit=1)[0].strip()
        if text.startswith((".", "/")) or re.match(r"^[a-z][a-z0-9+.-]*://", text):
            self._url_or_path(text, path, n, "direct")
            return
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            msg = str(exc).splitlines()[0]
            raise LockError(f"{path}:{n}: invalid requirement {text[:80]!r}: {msg}") from None
        if req.url:
            self._url_or_path(req.url, path, n, "direct", req.name)
            return
        pinned = [s.version for s in req.specifier if s.operator in ("==", "===")
                  and "*" not in s.version]
        if pinned:
            self._pin(req.name, pinned[0], path, n)
        else:
            self.ranges.append(_Range(name=canonicalize_name(req.name), spec=str(req.specifier),
                                      text=text, path=path, line=n))

    # -- pyproject.toml --------------------------------------------------------------------

    def pyproject(self, rel: str) -> None:
        path, text = self._open(self.root / rel, rel)
        doc = toml_doc(text, path)
        lines = text.splitlines()
        deps = typed_get(doc, ("project", "dependencies"), list, path, [])
        for i, dep in enumerate(deps):
            if not isinstance(dep, str):
                raise LockError(f"{path}: project.dependencies[{i}] is {type(dep).__name__}")
            self._requirement(dep, path, find_line(lines, re.escape(dep.strip()), quoted=True))
        poetry = typed_get(doc, ("tool", "poetry", "dependencies"), dict, path, {})
        for name, spec in poetry.items():
            if canonicalize_name(name) == "python":
                continue
            n = find_line(lines, rf"^\s*[\"']?{re.escape(name)}[\"']?\s*=")
            self._poetry_spec(name, spec, path, n)
        for r in self.ranges:
            raise LockError(f"{r.path}:{r.line}: dependency not pinned with ==: {r.text} "
                            "(pin it, add a lock file, or set pip-audit.resolve: true)")

    def _poetry_spec(self, name: str, spec: Any, path: str, n: int) -> None:
        table = spec if isinstance(spec, dict) else {"version": spec}
        if "git" in table or "url" in table:
            self._unaudited(name, "git" if "git" in table else "URL", path, n)
            return
        if "path" in table:
            return  # the project's own code
        version = table.get("version")
        if not isinstance(version, str):
            raise LockError(f"{path}:{n}: tool.poetry.dependencies.{name}: no version string")
        exact = re.match(r"^\s*(?:==)?\s*([0-9][^\s,*<>=!~^]*)\s*$", version)
        if not exact:
            raise LockError(f"{path}:{n}: dependency not pinned: {name} = {version!r} "
                            "(pin it, add a lock file, or set pip-audit.resolve: true)")
        self._pin(name, exact.group(1), path, n)

    # -- lock files ------------------------------------------------------------------------

    def lock(self, rel: str) -> None:
        path, text = self._open(self.root / rel, rel)
        name = Path(rel).name
        if name == "Pipfile.lock":
            self._pipfile(path, text)
            return
        doc = toml_doc(text, path)
        key = "packages" if name.startswith("pylock.") else "package"
        packages = typed_get(doc, (key,), list, path, [])
        tables = table_lines(text, key, len(packages))
        for i, pkg in enumerate(packages):
            if not isinstance(pkg, dict):
                raise LockError(f"{path}: {key}[{i}] is {type(pkg).__name__}")
            pname = typed_get(pkg, ("name",), str, f"{path}: {key}[{i}]", None)
            if pname is None:
                raise LockError(f"{path}: {key}[{i}] has no name")
            n = tables(i, pname)
            kind = source_kind(name, pkg, f"{path}:{n}: {pname}")
            if kind == "local":
                continue
            if kind != "registry":
                self._unaudited(pname, f"{kind} source in {name}", path, n)
                continue
            version = pkg.get("version")
            if not isinstance(version, str):
                if version is None:
                    self._unaudited(pname, f"no version in {name}", path, n)
                    continue
                raise LockError(f"{path}:{n}: {key}[{i}].version is {type(version).__name__}")
            self._pin(pname, version, path, n)

    def _pipfile(self, path: str, text: str) -> None:
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise LockError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise LockError(f"{path}: not a JSON object")
        lines = text.splitlines()
        for section in ("default", "develop"):
            packages = doc.get(section, {})
            if not isinstance(packages, dict):
                raise LockError(f"{path}: {section} is {type(packages).__name__}")
            start = find_line(lines, rf'^\s*"{section}"\s*:')
            for pname, entry in packages.items():
                n = find_line(lines, rf'^\s*"{re.escape(pname)}"\s*:', start=start)
                if not isinstance(entry, dict):
                    raise LockError(f"{path}:{n}: {section}.{pname} is {type(entry).__name__}")
                if "git" in entry or "hg" in entry or "svn" in entry or "file" in entry:
                    self._unaudited(pname, "VCS/URL source in Pipfile.lock", path, n)
                    continue
                if "path" in entry:
                    continue
                version = entry.get("version")
                if not isinstance(version, str) or not version.startswith("=="):
                    raise LockError(f"{path}:{n}: {section}.{pname}.version is not '==X' "
                                    f"({version!r})")
                self._pin(pname, version[2:], path, n)

    # -- result ----------------------------------------------------------------------------

    def result(self) -> Inputs:
        by_name: dict[str, list[Pin]] = {}
        for p in self.pins:
            by_name.setdefault(p.name, []).append(p)
        for r in self.ranges:
            locked = by_name.get(r.name)
            if not locked:
                raise LockError(f"{r.path}:{r.line}: {r.text!r} is not pinned with == and no "
                                "lock or constraints file pins it")
            spec = SpecifierSet(r.spec)
            if not any(spec.contains(p.version, prereleases=True) for p in locked):
                p = locked[0]
                raise LockError(f"{r.path}:{r.line}: {r.text!r} is not satisfied by the pin "
                                f"{p.name}=={p.version} ({p.path}:{p.line})")
        unique = {(p.name, p.version): p for p in reversed(self.pins)}
        return Inputs(files=tuple(self.files),
                      pins=tuple(p for p in self.pins if unique[(p.name, p.version)] is p),
                      unaudited=tuple(self.unaudited))


def read(root: Path, *, requirements: Sequence[str] = (), project: str | None = None) -> Inputs:
    """The pins to audit: `requirements` when given, else `project` (a directory), else the
    root's requirements*.txt and lock files, else its pyproject.toml."""
    reader = _Reader(root)
    if requirements:
        for rel in requirements:
            reader.requirements(rel)
        return reader.result()
    base = reader.root / project if project else reader.root
    reqs = [] if project else sorted(
        p.name for p in base.glob("requirements*.txt") if _present(p))
    locks = lock_files(base)
    for rel in reqs:
        reader.requirements(rel)
    for lock in locks:
        reader.lock(lock.relative_to(reader.root).as_posix())
    if not reqs and not locks:
        pyproject = base / "pyproject.toml"
        if not _present(pyproject):
            where = f"{project}/" if project else ""
            raise LockError(f"nothing to audit: no requirements*.txt, lock file or "
                            f"pyproject.toml in {where or 'the scanned directory'}")
        reader.pyproject(pyproject.relative_to(reader.root).as_posix())
    return reader.result()


def lock_files(directory: Path) -> list[Path]:
    """The lock files present in `directory`."""
    names = [*LOCK_NAMES, *sorted(p.name for p in directory.glob("pylock.*.toml"))]
    return [directory / n for n in names if _present(directory / n)]


def _present(path: Path) -> bool:
    """Anything but a directory: a symlink, a FIFO or a device is refused when read, never
    skipped in silence."""
    return path.is_symlink() or (path.exists() and not path.is_dir())


def check_includes(root: Path, requirements: Iterable[str]) -> None:
    """Raise LockError when a requirements file, or anything it includes, leaves the root."""
    reader = _Reader(root)
    for rel in requirements:
        reader.requirements(rel)
