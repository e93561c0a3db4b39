"""The one interface every scanner adapter implements, and what it receives."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..advisories import AdvisoryDB
from ..errors import ScannerOutputError
from ..fingerprint import SourceLines, code_basis, snippet_hash
from ..model import Category, Confidence, Finding, Location, Severity, Suppression


@dataclass(frozen=True, kw_only=True)
class ScannerSettings:
    """One scanner's block of the policy, after validation."""

    name: str
    enabled: bool = True
    required: bool = True
    timeout: float = 600.0
    extra_args: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ScanContext:
    root: Path
    work_dir: Path  # private scratch space (caches) for this scan
    osv_url: str | None = None  # set when posture-gate serves --advisories itself
    advisories: AdvisoryDB | None = None  # local OSV records (--advisories), for severity
    images: tuple[str, ...] = ()
    source: SourceLines | None = None
    # Repo-relative directories that are posture-gate's own output (reports, history):
    # never scanned, or each run would scan the last one's reports.
    exclude_dirs: tuple[str, ...] = ()
    # Config / ignore files in the tree that a trusted policy lets the scanners read
    # (`honor_repo_config`); every other one is neutralized (docs/security.md).
    honor_repo_config: frozenset[str] = frozenset()

    def lines(self) -> SourceLines:
        return self.source or SourceLines(self.root)


@dataclass(frozen=True, kw_only=True)
class Job:
    """One planned invocation. A scanner may plan several (trivy fs + trivy image)."""

    name: str
    scanner: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    required: bool = True
    timeout: float = 600.0
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Parsed:
    findings: tuple[Finding, ...]
    raw_count: int
    warnings: tuple[str, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)


class Scanner(Protocol):
    name: str
    executable: str
    distribution: str | None  # the Python distribution that ships it (dist-info name)
    ok_exit_codes: frozenset[int]
    tested_versions: frozenset[str]
    # Flags refused in a policy's `args`, even a trusted one: they make the tool write files,
    # fetch remote configuration, or read configuration posture-gate does not own.
    forbidden_args: frozenset[str]

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        """The invocations to run: argv lists, never a shell string."""

    def version_argv(self) -> list[str]: ...

    def parse_version(self, text: str) -> str | None: ...

    def output_version(self, data: bytes) -> str | None:
        """The tool's version when its own output carries it (saves a `--version` run)."""

    def preflight(self, job: Job, ctx: ScanContext) -> None:
        """Raise ScannerError when the job cannot possibly succeed (e.g. no trivy DB)."""

    def parse(self, data: bytes, job: Job, ctx: ScanContext, version: str) -> Parsed:
        """The tool's JSON -> findings. Raise ScannerOutputError on anything unexpected."""

    def redact(self, doc: Any) -> Any:
        """The raw document with source snippets and secret matches removed, for keeping."""


# Virtualenvs, vendored JS and VCS data are never the project's own code.
NOT_PROJECT_DIRS = (".venv", "venv", "node_modules", ".tox", ".git")


def forbidden_arg(args: Sequence[str], forbidden: frozenset[str]) -> str | None:
    """The first of `args` that is a forbidden flag: `--flag`, `--flag=value`, and for a
    short flag `-o`, also its glued form `-ofile`."""
    for arg in args:
        name = arg.split("=", 1)[0]
        if name in forbidden:
            return arg
        if len(arg) > 2 and arg[0] == "-" and arg[1] != "-" and arg[:2] in forbidden:
            return arg
    return None


def version_in_json(data: bytes, *path: str) -> str | None:
    """doc[path[0]][path[1]]... when the output is a JSON object carrying a version string."""
    try:
        value: Any = json.loads(data)
    except ValueError:
        return None
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value else None


def confidence_from_word(word: object) -> Confidence | None:
    w = str(word or "").lower()
    return Confidence(w) if w in ("high", "medium", "low") else None


def code_finding(*, scanner: str, version: str, rule: str, path: str, start: int, end: int,
                 source: str, severity: Severity, confidence: Confidence | None, title: str,
                 message: str, identifiers: tuple[str, ...], references: tuple[str, ...],
                 suppression: Suppression | None) -> Finding:
    """A code (security lint) finding: bandit and semgrep build theirs the same way, so
    that their fingerprints and merge inputs agree."""
    content = snippet_hash(source)
    return Finding(
        fingerprint=code_basis(category="code", rule_key=f"{scanner}:{rule}", path=path,
                               content=content),
        content_hash=content,
        scanner=scanner,
        scanner_version=version,
        found_by=(scanner,),
        rule_id=rule,
        category=Category.CODE,
        severity=severity,
        confidence=confidence,
        title=title,
        message=message,
        location=Location(path=path, start_line=start, end_line=end),
        identifiers=identifiers,
        references=references,
        suppression=suppression,
    )


def load_json_object(data: bytes, scanner: str) -> dict[str, Any]:
    text = data.decode("utf-8", "replace").strip()
    if not text:
        raise ScannerOutputError(scanner, "produced no output")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScannerOutputError(
            scanner, f"output is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(doc, dict):
        raise ScannerOutputError(
            scanner, f"output is JSON {type(doc).__name__}, expected an object")
    return doc


def require(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], scanner: str,
            where: str = "") -> Any:
    """Fetch doc[key] and check its type, or fail with a message naming the key."""
    if key not in doc:
        raise ScannerOutputError(scanner, f"unexpected output shape: no '{where}{key}'")
    value = doc[key]
    if not isinstance(value, kind):
        raise ScannerOutputError(
            scanner, f"unexpected output shape: '{where}{key}' is {type(value).__name__}"
        )
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
        except ValueError:
            return p.as_posix()
    text = p.as_posix()
    while text.startswith("./"):
        text = text[2:]
    return text
