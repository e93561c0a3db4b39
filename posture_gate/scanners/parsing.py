"""Helpers every scanner parser shares: strict field access that names the field, line and
path checks, the one severity-word mapping, CWE extraction, repo-relative paths."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import strictjson
from ..errors import ScannerOutputError
from ..fingerprint import code_basis, snippet_hash
from ..model import Category, Confidence, Finding, Location, Severity, Suppression
from ..strictjson import is_kind as is_kind
from ..strictjson import kind_name as kind_name
from ..textutil import one_line

# Virtualenvs, vendored JS and VCS data are never the project's own code.
NOT_PROJECT_DIRS = (".venv", "venv", "node_modules", ".tox", ".git")


def forbidden_arg(args: Sequence[str], forbidden: frozenset[str]) -> str | None:
    """The first of `args` that is a forbidden flag: `--flag`, `--flag=value`, an
    abbreviation bandit (argparse) and semgrep (Cmdliner) accept (`--out`), and for a
    short flag `-o`, also its glued form `-ofile` and a cluster `-qo`."""
    longs = [f for f in forbidden if f.startswith("--")]
    for arg in args:
        name = arg.split("=", 1)[0]
        if name in forbidden:
            return arg
        if name.startswith("--") and len(name) > 3 and any(f.startswith(name) for f in longs):
            return arg
        if len(arg) > 2 and arg[0] == "-" and arg[1] != "-":
            if arg[:2] in forbidden:
                return arg
            if arg[1:].isalpha() and any(f"-{c}" in forbidden for c in arg[1:]):
                return arg
    return None


def version_in_json(data: bytes, *path: str) -> str | None:
    """doc[path[0]][path[1]]... when the output is a JSON object carrying a version string."""
    try:
        value: Any = strictjson.load_bytes(data)
    except ValueError:  # strict: deep nesting is a ValueError too, never a RecursionError
        return None
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value else None


def confidence_from_word(word: object) -> Confidence | None:
    w = str(word or "").lower()
    return Confidence(w) if w in ("high", "medium", "low") else None


def located_finding(*, scanner: str, version: str, category: Category, rule: str, path: str,
                    start: int | None, end: int | None, content: str, severity: Severity,
                    title: str, message: str, confidence: Confidence | None = None,
                    identifiers: tuple[str, ...] = (), references: tuple[str, ...] = (),
                    suppression: Suppression | None = None, image: str | None = None,
                    layer: str | None = None) -> Finding:
    """A finding at a place in a file, fingerprinted by category, scanner rule, path and the
    hash of its content (not its line): every scanner builds these the same way, so that
    fingerprints stay stable when lines move and merge inputs agree."""
    return Finding(
        fingerprint=code_basis(category=category.value, rule_key=f"{scanner}:{rule}",
                               path=path, content=content),
        content_hash=content,
        scanner=scanner,
        scanner_version=version,
        found_by=(scanner,),
        rule_id=rule,
        category=category,
        severity=severity,
        confidence=confidence,
        title=title,
        message=message,
        location=Location(path=path, start_line=start, end_line=end),
        identifiers=identifiers,
        references=references,
        suppression=suppression,
        image=image,
        layer=layer,
    )


def code_finding(*, scanner: str, version: str, rule: str, path: str, start: int, end: int,
                 source: str, severity: Severity, confidence: Confidence | None, title: str,
                 message: str, identifiers: tuple[str, ...], references: tuple[str, ...],
                 suppression: Suppression | None) -> Finding:
    """A code (security lint) finding: bandit and semgrep build theirs the same way, so
    that their fingerprints and merge inputs agree."""
    return located_finding(
        scanner=scanner, version=version, category=Category.CODE, rule=rule, path=path,
        start=start, end=end, content=snippet_hash(source), severity=severity,
        confidence=confidence, title=title, message=message, identifiers=identifiers,
        references=references, suppression=suppression)


# Line numbers past this are not a source file's.
MAX_LINE = 1 << 31


def load_json_object(data: bytes, scanner: str) -> dict[str, Any]:
    doc: dict[str, Any] = load_json(data, scanner, dict)
    return doc


def load_json(data: bytes, scanner: str, expected: type[dict[str, Any]] | type[list[Any]]
              ) -> Any:
    """A tool's whole output read strictly: an object or an array, as the tool documents."""
    if not data.strip(b" \t\r\n"):
        raise ScannerOutputError(scanner, "produced no output")
    try:
        doc = strictjson.load_bytes(data)
    except ValueError as exc:
        raise ScannerOutputError(scanner, f"output is {exc}") from None
    if not isinstance(doc, expected):
        want = "an object" if expected is dict else "an array"
        raise ScannerOutputError(scanner, f"output is JSON {kind_name(doc)}, expected {want}")
    return doc


def shape_error(scanner: str, what: str) -> ScannerOutputError:
    return ScannerOutputError(scanner, f"unexpected output shape: {what}")


def require(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], scanner: str,
            where: str = "") -> Any:
    """Fetch doc[key] and check its type, or fail with a message naming the field."""
    if key not in doc:
        raise shape_error(scanner, f"no {where}{key}")
    value = doc[key]
    if not is_kind(value, kind):
        raise shape_error(scanner, f"{where}{key} is {kind_name(value)}")
    return value


def optional(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], scanner: str,
             where: str = "") -> Any:
    """doc[key] checked like `require`, or None when the key is absent (never when null)."""
    return require(doc, key, kind, scanner, where) if key in doc else None


def objects(items: list[Any], scanner: str, where: str) -> list[dict[str, Any]]:
    """A list whose every item must be an object; `where` names the list."""
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise shape_error(scanner, f"{where}[{i}] is {kind_name(item)}")
    return items


def strings(items: list[Any], scanner: str, where: str) -> list[str]:
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise shape_error(scanner, f"{where}[{i}] is {kind_name(item)}")
    return items


def line_number(value: int, scanner: str, where: str, *, zero: bool = False) -> int:
    """A line number in range (1.., or 0.. where the tool uses 0 for 'whole file')."""
    if not (0 if zero else 1) <= value <= MAX_LINE:
        raise shape_error(scanner, f"{where} is {value}, not a line number")
    return value


def path_text(value: str, scanner: str, where: str) -> str:
    """A file path as a tool prints it: no NUL (no OS call takes one), sane length."""
    if not value or "\x00" in value or len(value) > 4096:
        raise shape_error(scanner, f"{where} is not a file path")
    return value


def one_of(value: str, known: frozenset[str], scanner: str, where: str) -> str:
    if value not in known:
        raise shape_error(scanner, f"{where} is {one_line(repr(value), 40)}, expected one "
                          f"of {', '.join(sorted(known))}")
    return value


_SEVERITY_WORDS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "error": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "warning": Severity.MEDIUM,
    "low": Severity.LOW,
    "info": Severity.INFO,
    "inventory": Severity.INFO,
    "experiment": Severity.INFO,
    "negligible": Severity.INFO,
}


def severity_from_word(word: object) -> Severity:
    """The single mapping of every scanner's severity word (see README 'Severities')."""
    if not isinstance(word, str):
        return Severity.UNKNOWN
    return _SEVERITY_WORDS.get(word.strip().lower(), Severity.UNKNOWN)


def severity_from_score(score: float, *, cvss_v2: bool = False) -> Severity:
    """FIRST qualitative scale; CVSS v2 has no critical band."""
    if score <= 0.0:
        return Severity.INFO
    if score < 4.0:
        return Severity.LOW
    if score < 7.0:
        return Severity.MEDIUM
    if score < 9.0 or cvss_v2:
        return Severity.HIGH
    return Severity.CRITICAL


_CWE = re.compile(r"CWE-(\d+)", re.IGNORECASE)


def cwe_ids(values: object) -> list[str]:
    """'CWE-78: Improper…', 78, ['CWE-79'] -> ['CWE-78', ...] (deduplicated, ordered)."""
    items = values if isinstance(values, list) else [values]
    out: list[str] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            out.append(f"CWE-{item}")
        elif isinstance(item, str):
            out.extend(f"CWE-{m}" for m in _CWE.findall(item))
    return list(dict.fromkeys(out))


def relpath(path: str, root: Path) -> str:
    """Repo-relative POSIX path for any path a tool printed."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.resolve().relative_to(root.resolve())
        except (ValueError, OSError, RuntimeError):  # outside the root, a NUL, a symlink loop
            return p.as_posix()
    text = p.as_posix()
    while text.startswith("./"):
        text = text[2:]
    return text
