"""Baselines: what a branch already had, for new-only gating and the ratchet.

A baseline keeps, per finding, only what gating needs (never a message or snippet):
fingerprints, category, severity, target and the fields the fingerprint is derived
from, so that a later fingerprint algorithm can recompute ids (migration) instead of
declaring every finding new.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import fingerprint as fp
from . import strictjson as sj
from .errors import InputError
from .fsutil import MAX_FINDINGS_FILE, read_input_bytes
from .model import Category, Finding, Severity

SCHEMA = "posture-gate/baseline/v1"


@dataclass(frozen=True, kw_only=True)
class Entry:
    fingerprint: str
    category: Category
    severity: Severity
    target: str | None = None
    rule_id: str = ""
    scanner: str = ""
    path: str | None = None
    package: str | None = None
    advisory: str | None = None
    content_hash: str | None = None
    merged: tuple[str, ...] = ()

    @property
    def all_fingerprints(self) -> frozenset[str]:
        return frozenset((self.fingerprint, *self.merged))


@dataclass(frozen=True, kw_only=True)
class Baseline:
    algorithm: str
    created_at: str
    entries: tuple[Entry, ...]
    # Per cell ("dependency/high" and "target:api/dependency/high") the count the
    # ratchet allows; never raised by `baseline write` unless --allow-increase.
    allowed: Mapping[str, int]
    increases_allowed: bool = False
    source: str = ""

    def fingerprints(self) -> frozenset[str]:
        return frozenset(f for e in self.entries for f in e.all_fingerprints)


def cell(category: Category, severity: Severity, target: str | None = None) -> str:
    base = f"{category.value}/{severity.value}"
    return f"target:{target}/{base}" if target else base


def cell_counts(items: Sequence[tuple[Category, Severity, str | None]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for cat, sev, target in items:
        counts[cell(cat, sev)] += 1
        if target:
            counts[cell(cat, sev, target)] += 1
    return counts


def entry_of(f: Finding) -> Entry:
    return Entry(
        fingerprint=f.fingerprint, category=f.category, severity=f.severity, target=f.target,
        rule_id=f.rule_id, scanner=f.scanner,
        path=f.location.path if f.location else None,
        package=f.package.name if f.package else None,
        advisory=fp.canonical_advisory(f.identifiers) if f.package else None,
        content_hash=f.content_hash, merged=f.merged_fingerprints,
    )


def build(findings: Sequence[Finding], *, now: datetime.datetime,
          previous: Baseline | None = None, allow_increase: bool = False) -> Baseline:
    entries = tuple(entry_of(f) for f in findings if f.suppression is None
                    or f.suppression.kind == "baseline")
    counts = cell_counts([(e.category, e.severity, e.target) for e in entries])
    allowed: dict[str, int] = dict(counts)
    if previous is not None and not allow_increase:
        # The ratchet only turns one way: a cell may go down, never up.
        for key in set(allowed) | set(previous.allowed):
            allowed[key] = min(allowed.get(key, 0), previous.allowed.get(key, 0))
        allowed = {k: v for k, v in allowed.items() if v}
    return Baseline(algorithm=fp.ALGORITHM, created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    entries=entries, allowed=allowed, increases_allowed=allow_increase)


def to_json(b: Baseline) -> str:
    doc = {
        "schema": SCHEMA,
        "fingerprint_algorithm": b.algorithm,
        "created_at": b.created_at,
        "increases_allowed": b.increases_allowed,
        "note": ("--allow-increase was given: totals may have grown" if b.increases_allowed
                 else "totals never raised above the previous baseline"),
        "allowed": dict(sorted(b.allowed.items())),
        "findings": [
            {"fingerprint": e.fingerprint, "merged_fingerprints": list(e.merged),
             "category": e.category.value, "severity": e.severity.value, "target": e.target,
             "rule_id": e.rule_id, "scanner": e.scanner, "path": e.path,
             "package": e.package, "advisory": e.advisory, "content_hash": e.content_hash}
            for e in sorted(b.entries, key=lambda e: e.fingerprint)
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def _migrate(e: Entry, algorithm: str) -> Entry:
    """Recompute an entry's id with the current algorithm from the fields it keeps."""
    if algorithm == fp.ALGORITHM:
        return e
    if e.package and e.advisory:
        new = fp.package_basis(category=e.category.value,
                               ecosystem="pypi" if e.scanner == "pip-audit" else "",
                               name=e.package, advisory=e.advisory, manifest=e.path or "")
    elif e.content_hash is not None and e.path is not None:
        new = fp.code_basis(category=e.category.value, rule_key=f"{e.scanner}:{e.rule_id}",
                            path=e.path, content=e.content_hash)
    else:
        return e
    return Entry(**{**e.__dict__, "fingerprint": new, "merged": (*e.merged, e.fingerprint)})


def load(path: Path) -> Baseline:
    data = read_input_bytes(path, MAX_FINDINGS_FILE, "baseline file")
    try:
        doc = sj.load_bytes(data)
    except ValueError as exc:
        raise InputError(f"{path}: baseline is {exc}") from None
    return from_doc(doc, str(path))


def _entry(d: object, where: str) -> Entry:
    d = sj.obj(d, where.rstrip("."))

    def text(key: str) -> Any:
        return sj.field(d, key, str, where, required=False)

    return Entry(fingerprint=sj.field(d, "fingerprint", str, where),
                 category=sj.choice(Category, d, "category", where),
                 severity=sj.choice(Severity, d, "severity", where), target=text("target"),
                 rule_id=text("rule_id") or "", scanner=text("scanner") or "",
                 path=text("path"), package=text("package"), advisory=text("advisory"),
                 content_hash=text("content_hash"),
                 merged=sj.text_list(d, "merged_fingerprints", where))


def from_doc(doc: Any, source: str) -> Baseline:
    """A baseline document; InputError naming the file and the field if malformed."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise InputError(f"{source}: not a posture-gate baseline (schema {SCHEMA} expected)")
    try:
        algorithm = sj.field(doc, "fingerprint_algorithm", str, required=False) or ""
        entries = tuple(_migrate(_entry(d, f"findings[{i}]."), algorithm) for i, d in
                        enumerate(sj.field(doc, "findings", list, required=False) or []))
        allowed_doc = sj.field(doc, "allowed", dict, required=False) or {}
        allowed = {k: sj.count(allowed_doc, k, "allowed.") or 0 for k in allowed_doc}
        created = sj.field(doc, "created_at", str, required=False) or ""
        increases = sj.field(doc, "increases_allowed", bool, required=False) or False
    except sj.ShapeError as exc:
        raise InputError(f"{source}: malformed baseline: {exc}") from None
    return Baseline(algorithm=fp.ALGORITHM, created_at=created, entries=entries,
                    allowed=allowed, increases_allowed=increases, source=source)
