"""Dedup across scanners and `found_by` (target assignment is in targets.py).

Two findings are one problem when
- dependency: same package (PEP 503 name) and version, overlapping advisory ids
  (pip-audit and trivy on the same requirement, or on the same package in an image);
- code: same file, found by different scanners, the same weakness (a CWE in common, or
  one weakness under two numbers: weakness.py's table) and the same statement: lines that
  overlap, or (with the source, statements.py) one logical statement spread over lines, or
  a variable built in one statement and used by a later one of the same function (a query
  string built, then executed). Two weaknesses on one line stay two findings, and two
  findings of one scanner are never one problem, directly or through a third.
The survivor is chosen by a fixed scanner priority, not by severity, so its
fingerprint does not flip between runs; the others' ids go to `merged_fingerprints`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import codepairs
from .advisories import canonical_name
from .model import Category, Finding, Location, Package, Severity
from .scanners import SCANNERS
from .statements import StatementIndex

# Moved to targets.py; re-exported while callers move.
from .targets import TargetRule as TargetRule
from .targets import assign_targets as assign_targets
from .targets import path_matches as path_matches
from .targets import target_of as target_of
from .weakness import same_weakness

# Each scanner declares its rank (Scanner.merge_rank).
PRIORITY = tuple(sorted(SCANNERS, key=lambda name: SCANNERS[name].merge_rank))


def _priority(f: Finding) -> tuple[int, str]:
    rank = PRIORITY.index(f.scanner) if f.scanner in PRIORITY else len(PRIORITY)
    return rank, f.fingerprint


def _lines(loc: Location | None) -> tuple[int, int] | None:
    if loc is None or loc.start_line is None:
        return None
    return loc.start_line, loc.end_line or loc.start_line


def _same_dependency(a: Finding, b: Finding) -> bool:
    if a.scanner == b.scanner or a.package is None or b.package is None:
        return False
    return (canonical_name(a.package.name) == canonical_name(b.package.name)
            and a.package.version == b.package.version
            and bool(set(a.identifiers) & set(b.identifiers)))


def _code_tier(a: Finding, b: Finding, spans: StatementIndex | None = None) -> int | None:
    """How closely two code findings are one problem, 0 closest: their lines overlap (0),
    their statements do (SAME), a name flows from one statement to the other (FLOW); None:
    two problems."""
    if a.scanner == b.scanner or not same_weakness((a.rule_id,), a.cwes, (b.rule_id,), b.cwes):
        return None
    la, lb = _lines(a.location), _lines(b.location)
    if la is None or lb is None or a.location is None or b.location is None:
        return None
    if a.location.path != b.location.path:
        return None
    if la[0] <= lb[1] and lb[0] <= la[1]:
        return 0
    return spans.relation(a.location.path, la[0], lb[0]) if spans is not None else None


@dataclass(frozen=True, kw_only=True)
class Merge:
    kept: str
    merged: tuple[str, ...]
    found_by: tuple[str, ...]


def dedup(findings: Sequence[Finding], root: Path | None = None,
          budget: codepairs.Budget | None = None, spans: StatementIndex | None = None
          ) -> tuple[list[Finding], list[Merge]]:
    """With `root` (the scanned tree), code findings are also compared by statement
    (`spans`: the tree's index, some files parsed already: parseahead.py).

    A code finding joins at most one finding of each other scanner: pairs are taken
    closest first (_code_tier, then fewest lines apart, then by fingerprint, so the input's
    order does not matter), and one is skipped when its two groups share a scanner. Taken
    transitively, ten `q = eval(q)` lines made one finding of twenty. `budget` (one per
    scan) bounds the pairs looked at; the caller tells the reports when it ran out."""
    if spans is None and root is not None:
        spans = StatementIndex(root)
    parent = list(range(len(findings)))
    scanners = [frozenset({f.scanner}) for f in findings]  # of each group, at its root

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    buckets: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, f in enumerate(findings):
        if f.category in (Category.DEPENDENCY, Category.OS) and f.package:
            buckets[("pkg", canonical_name(f.package.name))].append(i)
        elif f.category is Category.CODE and f.location:
            buckets[("code", f.location.path)].append(i)
    budget = budget or codepairs.Budget()
    close: list[tuple[int, int, str, str, int, int]] = []
    for (kind, _), idx in buckets.items():
        if kind == "pkg":
            for n, i in enumerate(idx):
                for j in idx[n + 1:]:
                    if _same_dependency(findings[i], findings[j]):
                        parent[find(i)] = find(j)
            continue
        for i, j in codepairs.pairs(findings, idx, spans, budget):
            a, b = findings[i], findings[j]
            tier = _code_tier(a, b, spans)
            if tier is not None:
                apart = abs((a.location.start_line or 0) - (b.location.start_line or 0)) \
                    if a.location and b.location else 0
                low, high = sorted((a.fingerprint, b.fingerprint))
                close.append((tier, apart, low, high, i, j))
    for *_, i, j in sorted(close):
        ri, rj = find(i), find(j)
        if ri != rj and not scanners[ri] & scanners[rj]:
            parent[ri] = rj
            scanners[rj] = scanners[ri] | scanners[rj]
    groups: dict[int, list[Finding]] = defaultdict(list)
    for i, f in enumerate(findings):
        groups[find(i)].append(f)
    out: list[Finding] = []
    merges: list[Merge] = []
    for members in groups.values():
        if len(members) == 1:
            out.append(members[0])
            continue
        combined = _combine(members)
        out.append(combined)
        merges.append(Merge(kept=combined.fingerprint, merged=combined.merged_fingerprints,
                            found_by=combined.found_by))
    return out, merges


def _combine(members: list[Finding]) -> Finding:
    members = sorted(members, key=_priority)
    head, rest = members[0], members[1:]
    known = [m for m in members if m.severity is not Severity.UNKNOWN]
    worst = max(known, key=lambda m: m.severity.rank) if known else head
    confs = [m.confidence for m in members if m.confidence is not None]
    package = head.package
    if package is not None:
        fixes = sorted({v for m in members if m.package for v in m.package.fixed_versions})
        package = Package(ecosystem=package.ecosystem, name=package.name,
                          version=package.version, fixed_versions=tuple(fixes),
                          purl=package.purl or next((m.package.purl for m in rest
                                                     if m.package and m.package.purl), None))
    merged = tuple(dict.fromkeys(fp for m in rest for fp in (m.fingerprint,
                                                             *m.merged_fingerprints)))
    return head.with_(
        found_by=tuple(sorted({s for m in members for s in (m.found_by or (m.scanner,))},
                              key=lambda s: PRIORITY.index(s) if s in PRIORITY else 99)),
        severity=worst.severity,
        severity_source=worst.severity_source if worst is not head else head.severity_source,
        cvss=head.cvss or next((m.cvss for m in rest if m.cvss), None),
        confidence=max(confs, key=lambda c: c.rank) if confs else None,
        identifiers=tuple(dict.fromkeys(i for m in members for i in m.identifiers)),
        references=tuple(dict.fromkeys(r for m in members for r in m.references)),
        package=package,
        image=head.image or next((m.image for m in rest if m.image), None),
        layer=head.layer or next((m.layer for m in rest if m.layer), None),
        merged_fingerprints=tuple(dict.fromkeys((*head.merged_fingerprints, *merged))),
    )
