"""Which code findings dedup compares (codepairs.py) and how it joins them (merge.py): every
pair that is one problem is found without looking at all pairs, a finding joins at most one
finding of each other scanner, and a file planted with pairs meets the budget."""

from __future__ import annotations

import ast
import hashlib
import itertools
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posture_gate import codepairs, merge
from posture_gate.merge import dedup
from posture_gate.model import Category, Finding, Location, Severity
from posture_gate.statements import StatementIndex, _statements

# statements of every shape the index knows: flows within and across functions, a `;`, a
# one-line if, a call over lines, a match around its cases, a nested def, a class
SOURCE = """\
import os


def lookup(cur, name):
    q = "SELECT %s" % name; cur.execute("SELECT 1")
    if name: x = eval(name)
    cur.execute(
        q,
    )
    match name:
        case "a":
            y = eval(q)
        case _:
            y = q
    return eval(y)


def other(q):
    def inner():
        return eval(q)
    os.system(q)


class Box:
    z = eval("1")
"""
RULES = [("bandit", "B307", "CWE-78"), ("semgrep", "tb-eval", "CWE-95"),
         ("bandit", "B608", "CWE-89"), ("semgrep", "tb-sql-executed", "CWE-89"),
         ("semgrep", "other", "CWE-1")]
LINES = len(SOURCE.splitlines()) + 2  # and a line past the end


def _f(scanner: str, rule: str, cwe: str, start: int, end: int, path: str = "a.py") -> Finding:
    key = f"{scanner}{rule}{start}{end}{path}"
    return Finding(fingerprint=hashlib.sha256(key.encode()).hexdigest(), scanner=scanner,
                   scanner_version="1", found_by=(scanner,), rule_id=rule,
                   category=Category.CODE, severity=Severity.HIGH, title=rule, message="m",
                   location=Location(path=path, start_line=start, end_line=end),
                   identifiers=(cwe,))


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src")
    (path / "a.py").write_text(SOURCE)
    return path


FINDINGS = st.lists(st.tuples(st.sampled_from(RULES), st.integers(0, LINES),
                              st.integers(0, 3)), min_size=2, max_size=14, unique=True)


@settings(max_examples=300, deadline=None)
@given(FINDINGS)
def test_every_pair_that_is_one_problem_is_among_the_pairs(
        root: Path, drawn: list[tuple[tuple[str, str, str], int, int]]) -> None:
    findings = list(dict.fromkeys(_f(*rule, start, start + extra)
                                  for rule, start, extra in drawn))
    spans = StatementIndex(root)
    idx = list(range(len(findings)))
    found = set(codepairs.pairs(findings, idx, spans, codepairs.Budget()))
    assert all(i < j for i, j in found)
    for i, j in itertools.combinations(idx, 2):
        if merge._code_tier(findings[i], findings[j], spans) is not None:
            assert (i, j) in found, (findings[i].rule_id, findings[j].rule_id)


def _innermost(source: str, line: int) -> tuple[int, int] | None:
    """The index's answer worked out the slow way: every statement spanning the line, the
    narrowest, the first of equals (what it answered before it kept runs)."""
    spanning = [s for s in _statements(ast.parse(source)) if s.start <= line <= s.end]
    best = min(spanning, key=lambda s: s.end - s.start) if spanning else None
    return (best.start, best.end) if best else None


def test_the_innermost_statement_of_each_line(root: Path) -> None:
    index = StatementIndex(root)
    for line in range(-1, LINES + 3):
        got = index.at("a.py", line)
        assert (None if got is None else (got.start, got.end)) == _innermost(SOURCE, line)
    at_five = index.at("a.py", 5)
    assert at_five is not None and at_five.assigns == {"q"}
    assert index.at("missing.py", 5) is None


def test_a_finding_joins_one_of_each_other_scanner(tmp_path: Path) -> None:
    # each eval line is flagged by both; q flows from each line to the next, which before
    # joined all twenty findings into one
    (tmp_path / "a.py").write_text("def f(q):\n" + "    q = eval(q)\n" * 10)
    findings = [_f(s, r, c, line, line) for line in range(2, 12)
                for s, r, c in (RULES[0], RULES[1])]
    out, merges = dedup(findings, root=tmp_path)
    assert len(out) == 10 and len(merges) == 10
    # each bandit finding is joined with the semgrep finding of its own line
    assert all(f.found_by == ("bandit", "semgrep") for f in out)
    assert sorted(f.location.start_line or 0 for f in out if f.location) == list(range(2, 12))
    shuffled = findings[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(f.fingerprint for f in dedup(shuffled, root=tmp_path)[0]) == \
        sorted(f.fingerprint for f in out)


def test_the_closest_pair_wins(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        'def f(cur, name):\n    q = "SELECT %s" % name\n    cur.execute(q)\n')
    built, run = _f(*RULES[2], 2, 2), _f(*RULES[3], 3, 3)
    # bandit flags the built string; semgrep its execution (a flow) and, wrongly or not,
    # the same line as bandit: the overlap is closer, the flow is left
    same_line = _f(*RULES[3], 2, 2)
    out, _ = dedup([run, built, same_line], root=tmp_path)
    assert sorted((f.location.start_line, f.found_by) for f in out if f.location) == \
        [(2, ("bandit", "semgrep")), (3, ("semgrep",))]


def test_pairs_grow_with_the_pairs_there_are(tmp_path: Path) -> None:
    # 2,000 lines both scanners flag, no name flowing between them: each line's pair is
    # looked at twice (its lines meet, its statements meet), nothing else
    n = 2_000
    (tmp_path / "a.py").write_text("def f(x):\n" + "".join(f"    y{i} = eval(x)\n"
                                                            for i in range(n)))
    findings = [_f(s, r, c, line, line) for line in range(2, n + 2)
                for s, r, c in (RULES[0], RULES[1])]
    budget = codepairs.Budget()
    found = list(codepairs.pairs(findings, range(len(findings)), StatementIndex(tmp_path),
                                 budget))
    assert len(found) == n and codepairs.MAX_PAIRS - budget.left == 2 * n
    assert len(dedup(findings, root=tmp_path)[0]) == n


def test_a_file_planted_with_pairs_meets_the_budget(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # 300 findings of each scanner on one line: 90,000 pairs, past a budget of 1,000
    monkeypatch.setattr(codepairs, "MAX_PAIRS", 1_000)
    (tmp_path / "a.py").write_text("x = os.system(a) + os.system(b)\n")
    findings = [_f(scanner, f"{rule}-{n}", "CWE-78", 1, 1) for n in range(300)
                for scanner, rule in (("bandit", "B605"), ("semgrep", "shell"))]
    budget = codepairs.Budget()
    out, merges = dedup(findings, root=tmp_path, budget=budget)
    # what was compared is joined, the rest is counted apart, and none is lost
    assert 0 < len(merges) <= 1_000 and len(out) + len(merges) == len(findings)
    assert budget.exhausted and budget.warning() == (
        "dedup looked at 1,000 pairs of code findings and no more: duplicates past them "
        "are counted twice (none is hidden)")
    monkeypatch.setattr(codepairs, "MAX_PAIRS", 1_000_000)
    budget = codepairs.Budget()
    assert len(dedup(findings, root=tmp_path, budget=budget)[0]) == 300
    assert budget.warning() is None
