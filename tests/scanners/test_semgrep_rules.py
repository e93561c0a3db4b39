"""semgrep's rule ids, read from rule files a repository-local policy may add from the
scanned tree: hostile files give no id and no crash (semgrep itself then refuses them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from posture_gate.scanners.semgrep import bundled_rules, rule_ids

HOSTILE = {
    "not-utf8.yml": b"rules:\n  - id: a\n\xff\xfe\n",
    "deep.yml": b"x: " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "laughs.yml": (b'a: &a ["x", "x"]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n'
                   b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                   b"rules: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"),
    "broken.yml": b"rules: [unclosed\n",
    "not-a-mapping.yml": b"- rules\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_rule_file_gives_no_id(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(HOSTILE[name])
    (tmp_path / "good.yaml").write_text("rules:\n  - id: planted-eval\n    pattern: eval(...)\n")
    assert rule_ids(tmp_path) == {"planted-eval"}
    assert rule_ids(tmp_path / name) == set()


def test_the_bundled_rules_are_read() -> None:
    assert "pg-eval-dynamic" in rule_ids(bundled_rules())
