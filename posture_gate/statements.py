"""Where a code finding's statement begins and ends, from the file's Python syntax tree, so
dedup (merge.py) can tell two scanners flagged one statement: a call spread over lines
(bandit reports its first line, a semgrep rule the keyword argument's), or a query string
built in one statement and executed in a later one of the same function.

The file is the scanned tree's: read only inside the root, capped, parsed (never run); a
file that does not parse gives no statement and the findings are compared by lines only."""

from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass
from pathlib import Path

MAX_SOURCE = 1 << 20
SAME, FLOW = 1, 2  # relation(): the statements overlap; a name flows from one to the other
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)


@dataclass(frozen=True)
class _Stmt:
    start: int
    end: int
    scope: int  # id of the innermost function/class/module holding it
    assigns: frozenset[str]  # names it binds (x = ..., x += ...)
    loads: frozenset[str]  # names it reads


@dataclass(frozen=True)
class _Lines:
    """A file's lines as runs: from starts[k] on, owners[k] is the innermost statement."""

    starts: list[int]
    owners: list[_Stmt | None]


class StatementIndex:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._files: dict[str, _Lines | None] = {}
        self.bytes_read = 0  # of source parsed (what is held is about 7 times as much)

    def load(self, rel: str) -> _Lines | None:
        """The statements of file `rel`, parsed once (None: not Python, unreadable, too
        large or not parseable)."""
        if rel in self._files:
            return self._files[rel]
        self._files[rel] = None
        if not rel.endswith(".py"):
            return None
        try:
            path = (self.root / rel).resolve()
            path.relative_to(self.root)  # a link out of the tree is not read
            if not path.is_file() or path.stat().st_size > MAX_SOURCE:
                return None
            source = path.read_bytes()
            self.bytes_read += len(source)
            tree = ast.parse(source)
        except (OSError, ValueError, SyntaxError, RecursionError, MemoryError):
            return None
        self._files[rel] = _runs(_statements(tree))
        return self._files[rel]

    def at(self, rel: str, line: int) -> _Stmt | None:
        """The innermost statement spanning `line` (the first of equally narrow ones)."""
        lines = self.load(rel)
        if lines is None:
            return None
        k = bisect.bisect_right(lines.starts, line) - 1
        return lines.owners[k] if k >= 0 else None

    def relation(self, rel: str, a: int, b: int) -> int | None:
        """How the statements of lines a and b make one: SAME (they overlap), FLOW (the
        earlier binds a name the later reads, in one function: `q = "... %s" % x`, then
        `cur.execute(q)`), or None."""
        sa, sb = self.at(rel, a), self.at(rel, b)
        if sa is None or sb is None:
            return None
        if sa.start <= sb.end and sb.start <= sa.end:
            return SAME
        first, then = (sa, sb) if sa.start < sb.start else (sb, sa)
        return FLOW if first.scope == then.scope and first.assigns & then.loads else None


def _runs(stmts: list[_Stmt]) -> _Lines:
    """Each line's innermost statement, painted widest first (and, among equally wide,
    last first), so the narrowest, then the earliest, is left. Statements seldom share a
    line (a `;`, a one-line `if x: y`, a match around its cases, each case's lines indented
    one more), so painting costs about the file's size."""
    painted: list[_Stmt | None] = [None] * (max((s.end for s in stmts), default=0) + 2)
    order = sorted(range(len(stmts)), key=lambda n: (stmts[n].start - stmts[n].end, -n))
    for n in order:
        s = stmts[n]
        painted[s.start:s.end + 1] = [s] * (s.end - s.start + 1)
    starts: list[int] = []
    owners: list[_Stmt | None] = []
    for line, owner in enumerate(painted):
        if not owners or owners[-1] is not owner:
            starts.append(line)
            owners.append(owner)
    return _Lines(starts=starts, owners=owners)


def _names(node: ast.AST, ctx: type[ast.expr_context]) -> frozenset[str]:
    """The names `node` binds (ast.Store) or reads (ast.Load). What ast.walk gives, without
    its generators, and constants (a table of strings: thousands of them in one statement)
    are not looked into: 0.39 -> 0.16 s for the 31 files of sqlmap that semgrep flagged."""
    found: set[str] = set()
    stack: list[object] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name):
            if isinstance(n.ctx, ctx):
                found.add(n.id)
        elif isinstance(n, ast.AST) and not isinstance(n, ast.Constant):
            for field in n._fields:
                value = getattr(n, field, None)
                if isinstance(value, list):
                    stack.extend(value)
                elif isinstance(value, ast.AST):
                    stack.append(value)
    return frozenset(found)


def _statements(tree: ast.Module) -> list[_Stmt]:
    out: list[_Stmt] = []

    def visit(node: ast.AST, scope: int) -> None:
        # Statements sit only in lists of statements (bodies, else and finally blocks) and
        # in an except handler's or a match case's body: expressions hold none, so they are
        # not walked (a third of the time on a large file). Fields in their own order, so
        # the statements come out in the order a walk of every node gives.
        for field in node._fields:
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            for child in block:
                if isinstance(child, (ast.excepthandler, ast.match_case)):
                    visit(child, scope)
                elif isinstance(child, ast.stmt):
                    statement(child, scope)

    def statement(child: ast.stmt, scope: int) -> None:
        body = [c.lineno for c in ast.iter_child_nodes(child) if isinstance(c, ast.stmt)]
        # a compound statement (if, with, def...) is its header only: its body's
        # statements are statements of their own
        end = max(child.lineno, min(body) - 1) if body else (child.end_lineno or child.lineno)
        binds: frozenset[str] = frozenset()
        if isinstance(child, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = child.targets if isinstance(child, ast.Assign) else [child.target]
            binds = frozenset(n for t in targets for n in _names(t, ast.Store))
        out.append(_Stmt(start=child.lineno, end=end, scope=scope, assigns=binds,
                         loads=frozenset() if body else _names(child, ast.Load)))
        visit(child, id(child) if isinstance(child, _SCOPES) else scope)

    visit(tree, id(tree))
    return out
