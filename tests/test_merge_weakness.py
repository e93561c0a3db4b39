"""Dedup by weakness and statement: bandit and semgrep naming one weakness with two CWEs,
or flagging two lines of one statement, make one finding; two weaknesses stay two."""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
from pathlib import Path

import pytest

from posture_gate import codepairs
from posture_gate.merge import Merge, dedup
from posture_gate.model import Category, Finding, Location, ScanResult, Severity
from posture_gate.policy import schema
from posture_gate.scan import ScanOptions, scan
from posture_gate.weakness import same_weakness, weaknesses

from .conftest import TEST_CACHE, bin_dir

DATA = Path(__file__).parent / "data" / "dedup"


@pytest.mark.parametrize(("a", "b"), [
    (("B324", "CWE-327"), ("tb-weak-hash", "CWE-328")),
    (("B506", "CWE-20"), ("tb-yaml-load", "CWE-502")),
    (("B307", "CWE-78"), ("tb-eval", "CWE-95")),
    (("B201", "CWE-94"), ("tb-flask-debug", "CWE-489")),
    (("B608", "CWE-89"), ("tb-sql-executed", "CWE-89")),
])
def test_the_table_names_each_pair_one_weakness(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert same_weakness((a[0],), (a[1],), (b[0],), (b[1],))


@pytest.mark.parametrize(("a", "b"), [
    (("B313", "CWE-20"), ("tb-yaml-load", "CWE-502")),  # XML parse vs YAML load
    (("B506", "CWE-20"), ("x", "CWE-611")),  # YAML load vs XXE
    (("B602", "CWE-78"), ("tb-eval", "CWE-95")),  # shell command vs eval
    (("B304", "CWE-327"), ("tb-weak-hash", "CWE-328")),  # weak cipher vs weak hash
])
def test_generic_numbers_do_not_join_distinct_weaknesses(a: tuple[str, str],
                                                         b: tuple[str, str]) -> None:
    assert not same_weakness((a[0],), (a[1],), (b[0],), (b[1],))
    assert weaknesses((a[0],), (a[1],)) >= {a[1]}


def _f(scanner: str, rule: str, cwe: str, line: int, end: int | None = None) -> Finding:
    return Finding(fingerprint=hashlib.sha256(f"{scanner}{rule}{line}".encode()).hexdigest(),
                   scanner=scanner, scanner_version="1", found_by=(scanner,), rule_id=rule,
                   category=Category.CODE, severity=Severity.HIGH, title=rule, message="m",
                   location=Location(path="app/pairs.py", start_line=line,
                                     end_line=end or line), identifiers=(cwe,))


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(DATA / "app", root / "app")
    return root


def test_statement_matching_needs_the_source(tmp_path: Path) -> None:
    sql = [_f("bandit", "B608", "CWE-89", 26), _f("semgrep", "tb-sql-executed", "CWE-89", 28)]
    debug = [_f("bandit", "B201", "CWE-94", 40, 41),
             _f("semgrep", "tb-flask-debug", "CWE-489", 37)]
    assert len(dedup(sql + debug)[0]) == 4  # lines alone: no overlap
    out, merges = dedup(sql + debug, root=_root(tmp_path))
    assert len(out) == 2 and len(merges) == 2
    assert all(f.found_by == ("bandit", "semgrep") for f in out)


def test_a_variable_used_in_another_function_is_not_the_same_statement(
        tmp_path: Path) -> None:
    root = _root(tmp_path)
    # line 12 (digest) and line 28 (lookup): different functions, no shared variable
    pair = [_f("bandit", "B608", "CWE-89", 12), _f("semgrep", "tb-sql-executed", "CWE-89", 28)]
    assert len(dedup(pair, root=root)[0]) == 2


def test_a_file_outside_the_tree_or_unparsable_gives_no_statement(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "pairs.py").symlink_to(DATA / "app" / "pairs.py")
    sql = [_f("bandit", "B608", "CWE-89", 26), _f("semgrep", "tb-sql-executed", "CWE-89", 28)]
    assert len(dedup(sql, root=root)[0]) == 2  # the link leads out of the tree: not read
    (root / "app" / "pairs.py").unlink()
    (root / "app" / "pairs.py").write_text("def f(:\n")
    assert len(dedup(sql, root=root)[0]) == 2


def _real_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ScanResult, list[Merge]]:
    """bandit and the textbook-CWE semgrep rules on the dedup fixture."""
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}")
    p = tmp_path / "policy.yml"
    p.write_text("version: 1\nscanners:\n  bandit: {}\n"
                 f"  semgrep: {{config: ['{DATA / 'textbook-cwe.yml'}']}}\n")
    policy = schema.load_policy(str(p), today=datetime.date(2026, 12, 1))
    return scan(policy, ScanOptions(root=_root(tmp_path), output_dir=tmp_path / "out",
                                    cache_dir=Path(TEST_CACHE)))


@pytest.mark.slow
def test_real_bandit_and_semgrep_one_finding_per_weakness(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    run, _ = _real_scan(tmp_path, monkeypatch)
    code = sorted((f.location.start_line if f.location else 0, f.rule_id, f.found_by)
                  for f in run.findings if f.category is Category.CODE)
    both = ("bandit", "semgrep")
    assert code == [
        (12, "B324", both),  # weak hash: CWE-327 vs CWE-328
        (16, "B506", both),  # unsafe YAML: CWE-20 vs CWE-502
        (20, "B307", both),  # eval: CWE-78 vs CWE-95
        (26, "B608", both),  # SQL built on 26, executed on 28
        (33, "B307", both),  # two weaknesses on one line stay two
        (33, "B506", both),
        (40, "B201", both),  # Flask debug: CWE-94 vs CWE-489, lines 37 and 40 of one call
    ]


@pytest.mark.slow
def test_a_scan_whose_dedup_ran_out_says_so_on_its_code_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codepairs, "MAX_PAIRS", 2)  # the tree has seven pairs to join
    run, merges = _real_scan(tmp_path, monkeypatch)
    said = "dedup looked at 2 pairs of code findings and no more"
    assert {r.name for r in run.scanners if any(said in w for w in r.warnings)} == \
        {"bandit", "semgrep"}
    # fewer joined than the seven of the full run: the rest counted twice, none lost
    assert len(merges) < 7
    code = [f for f in run.findings if f.category is Category.CODE]
    assert len(code) + sum(len(f.merged_fingerprints) for f in code) == 14
