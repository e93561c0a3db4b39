"""The pairs of one file's code findings that dedup (merge.py) compares: found by two
scanners, with a weakness in common, on lines that overlap, on statements that overlap, or
on statements of one function where one binds a name the other reads (merge._code_tier
decides each pair). Comparing every pair, each with a scan of the file's statements, grew
with the cube of a file's findings: 2,000 lines of `y = eval(x)`, which bandit and semgrep
both flag, took 316 s. The pairs are found from what they share instead, and every pair
found counts against one budget per scan: a file planted to make a million of them (one
line holding them all) is compared no further, and its findings stay apart, counted twice,
never hidden."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .model import Finding
from .statements import StatementIndex
from .weakness import weaknesses

# Pairs one scan may look at: a real tree yields about one per merge (a few thousand in a
# large monorepo); this many is a second or two of comparing.
MAX_PAIRS = 200_000


@dataclass
class Budget:
    left: int = field(default_factory=lambda: MAX_PAIRS)
    exhausted: bool = False

    def warning(self) -> str | None:
        """What the code scanners' runs say when it ran out."""
        return f"dedup looked at {MAX_PAIRS:,} pairs of code findings and no more: " \
            "duplicates past them are counted twice (none is hidden)" if self.exhausted \
            else None


def pairs(findings: Sequence[Finding], idx: Sequence[int], spans: StatementIndex | None,
          budget: Budget) -> Iterator[tuple[int, int]]:
    """(i, j), i < j, of `idx` (one file's code findings, each with a line), once each."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i in idx:
        for w in weaknesses((findings[i].rule_id,), findings[i].cwes):
            groups[w].append(i)
    seen: set[tuple[int, int]] = set()
    for members in groups.values():
        if len({findings[i].scanner for i in members}) < 2:
            continue
        for i, j in _related(findings, members, spans):
            if budget.left <= 0:  # every pair looked at counts, seen before or not
                budget.exhausted = True
                return
            budget.left -= 1
            pair = (i, j) if i < j else (j, i)
            if pair not in seen:
                seen.add(pair)
                yield pair


def _related(findings: Sequence[Finding], members: list[int],
             spans: StatementIndex | None) -> Iterator[tuple[int, int]]:
    """Pairs of members by two scanners whose lines, or statements, meet; or whose
    statements share a scope and a name one binds and the other reads."""
    scanner = {i: findings[i].scanner for i in members}
    lines: dict[int, tuple[int, int]] = {}
    for i in members:
        loc = findings[i].location
        if loc is not None and loc.start_line is not None:
            lines[i] = (loc.start_line, loc.end_line or loc.start_line)
    yield from _meeting(lines, scanner)
    first = findings[members[0]].location
    if spans is None or first is None:
        return
    path = first.path  # the bucket's: dedup groups code findings by file
    stmts = {i: s for i, (start, _) in lines.items() if (s := spans.at(path, start))}
    yield from _meeting({i: (s.start, s.end) for i, s in stmts.items()}, scanner)
    binders: dict[tuple[int, str], dict[str, list[int]]] = defaultdict(
        lambda: defaultdict(list))
    for i, s in stmts.items():
        for name in s.assigns:
            binders[(s.scope, name)][scanner[i]].append(i)
    for j, s in stmts.items():
        for name in s.loads:
            for other, found in binders.get((s.scope, name), {}).items():
                if other != scanner[j]:
                    yield from ((i, j) for i in found)


def _meeting(spans: Mapping[int, tuple[int, int]],
             scanner: Mapping[int, str]) -> Iterator[tuple[int, int]]:
    """Pairs by two scanners whose [start, end] spans meet, by a sweep over the starts:
    only the pairs there are are looked at (those of one scanner never)."""
    active: dict[str, list[tuple[int, int]]] = defaultdict(list)  # scanner: heap of (end, i)
    for i in sorted(spans, key=lambda i: spans[i]):
        start, end = spans[i]
        for heap in active.values():
            while heap and heap[0][0] < start:
                heapq.heappop(heap)
        for other, heap in active.items():
            if other != scanner[i]:
                yield from ((j, i) for _, j in heap)
        heapq.heappush(active[scanner[i]], (end, i))
