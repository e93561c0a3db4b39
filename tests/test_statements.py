"""statements.py reads the scanned tree's Python files (the tree is the attacker): a link
leading out of the root, an oversized file, a FIFO, a nesting bomb or bytes that do not parse
give no statement (dedup falls back to lines) and never an exception or a read outside."""

from __future__ import annotations

import os
from pathlib import Path

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
