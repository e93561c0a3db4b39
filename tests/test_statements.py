"""statements.py reads the scanned tree's Python files (the tree is the attacker): a link
leading out of the root, an oversized file, a FIFO, a nesting bomb or bytes that do not parse
give no statement (dedup falls back to lines) and never an exception or a read outside."""

from __future__ import annotations

import ast
import os
from pathlib import Path

from posture_gate import statements
from posture_gate.statements import FLOW, MAX_SOURCE, StatementIndex

SPLIT_QUERY = ("def f(cur, name):\n"
               "    q = 'SELECT %s' % name\n"
               "    cur.execute('SELECT 1')\n"
               "    cur.execute(q)\n")


def test_a_query_built_then_executed_is_one_statement(tmp_path: Path) -> None:
    (tmp_path / "db.py").write_text(SPLIT_QUERY)
    assert StatementIndex(tmp_path).relation("db.py", 2, 4) == FLOW
    assert StatementIndex(tmp_path).relation("db.py", 2, 3) is None


def test_hostile_files_give_no_statement(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside.py"
    outside.write_text(SPLIT_QUERY)  # would match if it were read
    (root / "link.py").symlink_to(outside)
    (root / "big.py").write_text(SPLIT_QUERY + "#" * MAX_SOURCE)
    os.mkfifo(root / "fifo.py")  # reading it would block forever
    (root / "deep.py").write_text("x = " + "(" * 100_000 + ")" * 100_000 + "\n")
    (root / "binary.py").write_bytes(b"\xff\xfe\x00garbage(")
    index = StatementIndex(root)
    for name in ("link.py", "big.py", "fifo.py", "deep.py", "binary.py", "missing.py",
                 "../outside.py"):
        assert index.relation(name, 2, 4) is None, name


BLOCKS = """\
import os
def outer(x):
    try:
        a = 1
    except ValueError:
        b = eval(x)
    else:
        c = 3
    finally:
        d = 4
    match x:
        case [1, *rest]:
            e = rest
        case _:
            f = os.system(x)
    async def inner():
        async with x as y:
            g = await y
    return lambda: x
class K:
    h = [n for n in range(3)]
"""


def test_statements_in_every_kind_of_block_are_found(tmp_path: Path) -> None:
    # handlers and match cases are not statements themselves: their bodies are walked
    # all the same, and each statement is its own (narrowest) span
    (tmp_path / "blocks.py").write_text(BLOCKS)
    index = StatementIndex(tmp_path)
    for line in (4, 6, 8, 10, 13, 15, 18, 19, 21):
        stmt = index.at("blocks.py", line)
        assert stmt is not None and (stmt.start, stmt.end) == (line, line), line
    # one function's statements share its scope; inner's and K's are their own
    scopes = {}
    for line in (4, 6, 15, 18, 21):
        stmt = index.at("blocks.py", line)
        assert stmt is not None
        scopes[line] = stmt.scope
    assert scopes[4] == scopes[6] == scopes[15]
    assert len({scopes[4], scopes[18], scopes[21]}) == 3


NAMES = """\
global g
x, (y, *z) = f(a)[b], {k: v for k, v in items if k}
w = [q for q in range(n) if (t := q)]
s = f"{u!r:>{width}}" + ("a", "b", 1, None)[i]
match cmd:
    case Point(x=px, y=0) | [px, *_]:
        h = lambda d=dflt: d + px
del m[o], p.attr
"""


def _walked(node: ast.AST, ctx: type[ast.expr_context]) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(node)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ctx))


def test_names_are_those_a_full_walk_finds() -> None:
    """_names skips ast.walk's generators and constants: the same names, on every statement
    of a snippet of odd shapes and of posture-gate's own package."""
    sources = [NAMES] + [p.read_text() for p in Path(statements.__file__).parent.rglob("*.py")]
    checked = 0
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.stmt):
                for ctx in (ast.Load, ast.Store, ast.Del):
                    assert statements._names(node, ctx) == _walked(node, ctx), ast.dump(node)
                checked += 1
    assert checked > 10_000
