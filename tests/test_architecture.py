"""The package's shape, checked from its source: which module may import which, and no
module over MAX_LINES lines (docs/architecture.md describes the layers).

Imports are read with `ast` (nothing is imported), relative imports resolved, and an
import of a package counts as an import of each submodule it names (`from .. import
history` is an import of posture_gate.history).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "posture_gate"
MAX_LINES = 400
TOP = ("posture_gate.cli", "posture_gate.commands", "posture_gate.pipeline")
RUN = ("posture_gate.scan", "posture_gate.runner", "posture_gate.notify", "posture_gate.hooks",
       "posture_gate.init")
DATA = ("posture_gate.model", "posture_gate.policy.model", "posture_gate.serialize",
        "posture_gate.targets", "posture_gate.textutil", "posture_gate.errors",
        "posture_gate.strictjson", "posture_gate.dates", "posture_gate.trends",
        "posture_gate.fsutil", "posture_gate.redact")

# (modules the rule is about, modules they must not import, why)
RULES: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = (
    (("posture_gate.policy",), ("posture_gate.reporters", "posture_gate.history", *RUN, *TOP),
     "the policy decides; it does not store, report or run"),
    (("posture_gate.reporters",), ("posture_gate.history", *RUN, *TOP),
     "reporters are pure renderers of (run, verdict)"),
    (("posture_gate.scanners",), ("posture_gate.policy", "posture_gate.reporters",
                                  "posture_gate.history", *RUN, *TOP),
     "a scanner knows only itself"),
    (("posture_gate.history",), ("posture_gate.reporters", *RUN, *TOP),
     "storage is below everything that shows it"),
    (DATA, ("posture_gate.reporters", "posture_gate.history", "posture_gate.policy.evaluate",
            "posture_gate.policy.schema", *RUN, *TOP),
     "data types sit at the bottom"),
    # policy/model.py may name scanner settings (a policy configures the scanners)
    (tuple(m for m in DATA if m != "posture_gate.policy.model"), ("posture_gate.scanners",),
     "the finding model knows no scanner"),
)
# Only the command layer may reach the command layer.
ENTRY_IMPORTERS = ("posture_gate.cli", "posture_gate.commands", "posture_gate.pipeline",
                   "posture_gate.__main__", "posture_gate.hooks")  # hooks: the pre-commit run


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))
            if "rules" not in p.relative_to(PACKAGE).parts}


def imports(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """(imported posture_gate module, line) for every import in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:
                if f"{target}.{alias.name}" in known:
                    yield f"{target}.{alias.name}", node.lineno


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@cache
def edges() -> tuple[tuple[str, str, str], ...]:
    """(importer, imported, file:line) for every import inside the package."""
    mods = modules()
    known = set(mods)
    out = []
    for name, path in mods.items():
        for target, line in imports(name, path, known):
            if within(target, ("posture_gate",)) and target != name:
                out.append((name, target, f"{path.relative_to(REPO)}:{line}"))
    return tuple(out)


def test_the_import_walk_sees_relative_and_package_imports() -> None:
    found = {(a, b) for a, b, _ in edges()}
    # a known arrow of each form, so a broken resolver cannot pass the rules vacuously
    assert ("posture_gate.policy.evaluate", "posture_gate.policy.model") in found
    assert ("posture_gate.reporters.markdown", "posture_gate.model") in found
    assert ("posture_gate.policy.schema", "posture_gate.policy.yamlload") in found


@pytest.mark.parametrize("sources, forbidden, why", RULES, ids=[r[2] for r in RULES])
def test_no_import_runs_up_the_layers(sources: tuple[str, ...], forbidden: tuple[str, ...],
                                      why: str) -> None:
    bad = [f"{where}: {a} imports {b}" for a, b, where in edges()
           if within(a, sources) and within(b, forbidden)]
    assert bad == [], why


def test_only_the_command_layer_imports_the_command_layer() -> None:
    bad = [f"{where}: {a} imports {b}" for a, b, where in edges()
           if within(b, TOP) and not within(a, ENTRY_IMPORTERS)]
    assert bad == []


def test_no_module_over_the_size_limit() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    over = {n: s for n, s in sizes.items() if s > MAX_LINES}
    assert over == {}, f"split these along their seams (limit {MAX_LINES} lines)"


def test_the_architecture_doc_names_every_module() -> None:
    """docs/architecture.md's module map: a new module is described there (in a package,
    the package's directory and the file's name; `__init__.py`, the directory)."""
    doc = (REPO / "docs" / "architecture.md").read_text()

    def named(rel: Path) -> bool:
        folder = f"{rel.parent.as_posix()}/"
        if rel.name == "__init__.py":
            return rel.parent == Path(".") or f"`{folder}" in doc
        return f"`{rel.as_posix()}`" in doc or (
            rel.parent != Path(".") and f"`{folder}" in doc and f"`{rel.name}`" in doc)

    missing = [str(p.relative_to(PACKAGE)) for p in modules().values()
               if not named(p.relative_to(PACKAGE))]
    assert missing == [], "add them to docs/architecture.md, section Module map"


# Notes that lived beside the repository while it was written; the repository must stand alone.
OUTSIDE = re.compile(r"\.\./shared|/work/|\b(?:FORMATS|TRIVY_OFFLINE|POSTURE_FACTS|DESIGN)\.md\b")
DOC_LINK = re.compile(r"\bdocs/[A-Za-z0-9_.-]+\.md\b")


def _texts() -> dict[str, str]:
    files = [*PACKAGE.rglob("*.py"), *(REPO / "docs").glob("*.md"), REPO / "README.md",
             *(REPO / "benchmarks").glob("*.py"), *(REPO / "tests").rglob("*.py"),
             *(REPO / "tests" / "data").rglob("*.md")]
    return {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in files
            if p.is_file() and "rules" not in p.relative_to(REPO).parts}


def test_no_text_points_outside_the_repository() -> None:
    bad = [f"{name}: {m.group(0)}" for name, text in _texts().items()
           if name != "tests/test_architecture.py" for m in OUTSIDE.finditer(text)]
    assert bad == []


def test_every_cited_doc_exists() -> None:
    cited = {m.group(0) for text in _texts().values() for m in DOC_LINK.finditer(text)}
    assert cited, "the package cites its docs"
    assert sorted(c for c in cited if not (REPO / c).is_file()) == []
