"""Measure review coverage (coverage.py) from the tree and the scanners' raw JSON."""

from __future__ import annotations

import fnmatch
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .coverage import (
    CODE_SCANNERS,
    DEFAULT_IGNORED,
    MAX_LISTED,
    MAX_RAW,
    SEMGREP_MAX_BYTES,
    Coverage,
    Group,
    Language,
    Skip,
    Tree,
    language_of,
)
from .model import RunStatus, ScannerRun
from .scanners.semgrep_errors import error_kind

_SEMGREP_SKIPS = {"exceeded_size_limit": "too large", "too_big": "too large",
                  "analysis_failed_parser_or_internal_error": "parse error",
                  "cli_exclude_flags_match": "excluded", "semgrepignore_patterns_match":
                  "ignored by the tool's defaults", "minified": "ignored by the tool's defaults",
                  "binary": "not source"}


@dataclass
class _Seen:
    """What one scanner run says it looked at."""

    run: ScannerRun
    languages: set[str] = field(default_factory=set)
    scanned: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)  # path -> parse error
    skipped: dict[str, str] = field(default_factory=dict)  # path -> reason
    reported: bool = False  # the raw document was read


def _rel(path: object, root: Path) -> str:
    text = str(path)
    p = Path(text)
    if p.is_absolute():
        try:
            text = p.relative_to(root).as_posix()
        except ValueError:
            return text
    while text.startswith("./"):
        text = text[2:]
    return PurePosixPath(text).as_posix()


def _raw(run: ScannerRun, out_dir: Path) -> Any:
    if not run.raw_output:
        return None
    path = out_dir / run.raw_output
    try:
        if path.is_symlink() or path.stat().st_size > MAX_RAW:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _bandit(seen: _Seen, doc: Any, root: Path) -> None:
    seen.languages = set(CODE_SCANNERS["bandit"])
    if not isinstance(doc, dict):
        return
    seen.reported = True
    raw = doc.get("metrics")
    metrics: dict[str, Any] = raw if isinstance(raw, dict) else {}
    seen.scanned = {_rel(k, root) for k in metrics if k != "_totals"}
    for e in doc.get("errors") or []:
        if isinstance(e, dict) and e.get("filename"):
            seen.errors[_rel(e["filename"], root)] = "parse error"


def _semgrep(seen: _Seen, doc: Any, root: Path) -> None:
    seen.languages = {"python"}  # the bundled rules; others add what semgrep scanned
    if not isinstance(doc, dict):
        return
    seen.reported = True
    raw = doc.get("paths")
    paths: dict[str, Any] = raw if isinstance(raw, dict) else {}
    seen.scanned = {_rel(p, root) for p in paths.get("scanned") or [] if isinstance(p, str)}
    seen.languages |= {lang for p in seen.scanned if (lang := language_of(p))}
    for s in paths.get("skipped") or []:
        if isinstance(s, dict) and isinstance(s.get("path"), str):
            reason = str(s.get("reason") or "")
            seen.skipped[_rel(s["path"], root)] = _SEMGREP_SKIPS.get(reason, reason)
    for e in doc.get("errors") or []:
        if isinstance(e, dict) and isinstance(e.get("path"), str):
            kind = (error_kind(e) or "").lower().replace(" ", "")
            seen.errors[_rel(e["path"], root)] = "rule timeout" if "timeout" in kind else \
                "out of memory" if "memory" in kind else "parse error"


def _matches(path: str, entries: Sequence[object]) -> bool:
    """The policy's `exclude:` meaning (excludes.py): a bare name at any depth, a path with
    a `/` from the root; globs allowed."""
    parts = PurePosixPath(path).parts
    for raw in entries:
        entry = str(raw).strip().removeprefix("./").rstrip("/")
        if not entry:
            continue
        if "/" in entry:
            if fnmatch.fnmatchcase(path, entry) or path.startswith(entry + "/"):
                return True
        elif any(fnmatch.fnmatchcase(part, entry) for part in parts):
            return True
    return False


def _reason(path: str, size: int, seen: _Seen, excludes: Sequence[object]) -> str:
    status = seen.run.status
    if status is not RunStatus.OK:
        return "timeout" if status is RunStatus.TIMEOUT else f"scanner {status.value}"
    if path in seen.errors:
        return seen.errors[path]
    if path in seen.skipped:
        return seen.skipped[path]
    if _matches(path, excludes):
        return "excluded by policy"
    if _matches(path, DEFAULT_IGNORED.get(seen.run.scanner, ())):
        return "ignored by the tool's defaults"
    if seen.run.scanner == "semgrep" and size > SEMGREP_MAX_BYTES and \
            not seen.run.properties.get("reads_every_file"):
        return "too large"
    return "not reported by the scanner" if seen.reported else "no raw output to read"


def measure(tree: Tree, root: Path, runs: Sequence[ScannerRun], out_dir: Path, *,
            excludes: Mapping[str, Sequence[object]] | None = None,
            images_scanned: Sequence[str] = ()) -> Coverage:
    """`tree`: coverage.survey of `root`; `excludes`: each scanner's policy `exclude:`
    entries."""
    files = tree.files
    seen: list[_Seen] = []
    for run in runs:
        if run.scanner in ("bandit", "semgrep"):
            s = _Seen(run=run)
            (_bandit if run.scanner == "bandit" else _semgrep)(s, _raw(run, out_dir), root)
            seen.append(s)
    by_lang: dict[str, list[str]] = {}
    for path in files:
        lang = language_of(path)
        if lang:
            by_lang.setdefault(lang, []).append(path)
    languages = []
    for lang, paths in sorted(by_lang.items()):
        claim = [s for s in seen if lang in s.languages]
        skips: list[Skip] = []
        covered = 0
        scanned: dict[str, int] = {}
        for path in paths:
            ok = False
            for s in claim:
                if path in s.scanned and path not in s.errors and s.run.status is RunStatus.OK:
                    scanned[s.run.name] = scanned.get(s.run.name, 0) + 1
                    ok = True
                else:
                    skips.append(Skip(path=path, scanner=s.run.name, reason=_reason(
                        path, files[path], s, (excludes or {}).get(s.run.scanner, ()))))
            if not claim:
                skips.append(Skip(path=path, scanner="-", reason="no scanner for this language"))
            covered += ok
        languages.append(Language(
            name=lang, present=len(paths), covered=covered, scanned=scanned,
            skipped_by_reason=dict(sorted(Counter(s.reason for s in skips).items())),
            skipped=tuple(skips[:MAX_LISTED])))
    return Coverage(languages=tuple(languages),
                    groups=_groups(root, tree, runs, out_dir, images_scanned))


def _groups(root: Path, tree: Tree, runs: Sequence[ScannerRun], out_dir: Path,
            images_scanned: Sequence[str]) -> tuple[Group, ...]:
    iac, manifests = tree.iac, tree.manifests
    config_seen: set[str] = set()
    audited: set[str] = set()
    for run in runs:
        if run.status is not RunStatus.OK:
            continue
        if run.scanner == "pip-audit":
            inputs = run.properties.get("inputs")
            audited |= {_rel(k, root) for k in inputs} if isinstance(inputs, dict) else set()
        if run.scanner == "trivy" and run.name == "trivy":
            doc = _raw(run, out_dir)
            results = doc.get("Results") if isinstance(doc, dict) else None
            for r in results if isinstance(results, list) else []:
                if not isinstance(r, dict) or not isinstance(r.get("Target"), str):
                    continue
                if r.get("Class") == "config":
                    config_seen.add(_rel(r["Target"], root))
                elif r.get("Class") == "lang-pkgs":
                    audited.add(_rel(r["Target"], root))
    named = tree.images
    return (Group(kind="iac", present=iac, covered=tuple(p for p in iac if p in config_seen)),
            Group(kind="manifests", present=manifests,
                  covered=tuple(p for p in manifests if p in audited)),
            Group(kind="images", present=named,
                  covered=tuple(i for i in named if i in images_scanned)))
