"""Where a code finding's statement begins and ends, from the file's Python syntax tree, so
dedup (merge.py) can tell two scanners flagged one statement: a call spread over lines
(bandit reports its first line, a semgrep rule the keyword argument's), or a query string
built in one statement and executed in a later one of the same function.

The file is the scanned tree's: read only inside the root, capped, parsed (never run); a
file that does not parse gives no statement and the findings are compared by lines only."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

MAX_SOURCE = 1 << 20
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)


@dataclass(frozen=True)
class _Stmt:
    start: int
    end: int
    scope: int  # id of the innermost function/class/module holding it
    assigns: frozenset[str]  # names it binds (x = ..., x += ...)
    loads: frozenset[str]  # names it reads


class StatementIndex:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._files: dict[str, list[_Stmt] | None] = {}

    def _load(self, rel: str) -> list[_Stmt] | None:
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
            tree = ast.parse(path.read_bytes())
        except (OSError, ValueError, SyntaxError, RecursionError, MemoryError):
            return None
        self._files[rel] = _statements(tree)
        return self._files[rel]

    def _at(self, rel: str, line: int) -> _Stmt | None:
        """The innermost statement spanning `line`."""
        found = [s for s in self._load(rel) or () if s.start <= line <= s.end]
        return min(found, key=lambda s: s.end - s.start) if found else None

    def same_statement(self, rel: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
        sa, sb = self._at(rel, a[0]), self._at(rel, b[0])
        if sa is None or sb is None:
            return False
        if sa.start <= sb.end and sb.start <= sa.end:
            return True
        first, then = (sa, sb) if sa.start < sb.start else (sb, sa)
        # built, then used: `q = "... %s" % x` and later `cur.execute(q)` in one function
        return first.scope == then.scope and bool(first.assigns & then.loads)


def _names(node: ast.AST, ctx: type[ast.expr_context]) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ctx))


def _statements(tree: ast.Module) -> list[_Stmt]:
    out: list[_Stmt] = []

    def visit(node: ast.AST, scope: int) -> None:
        for child in ast.iter_child_nodes(node):
            inner = id(child) if isinstance(child, _SCOPES) else scope
            if isinstance(child, ast.stmt):
                body = [c.lineno for c in ast.iter_child_nodes(child)
                        if isinstance(c, ast.stmt)]
                # a compound statement (if, with, def...) is its header only: its body's
                # statements are statements of their own
                end = max(child.lineno, min(body) - 1) if body else \
                    (child.end_lineno or child.lineno)
                binds: frozenset[str] = frozenset()
                if isinstance(child, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                    targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                    binds = frozenset(n for t in targets for n in _names(t, ast.Store))
                out.append(_Stmt(start=child.lineno, end=end, scope=scope, assigns=binds,
                                 loads=frozenset() if body else _names(child, ast.Load)))
            visit(child, inner)

    visit(tree, id(tree))
    return out
