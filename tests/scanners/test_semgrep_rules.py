"""semgrep's rule ids, read from rule files a repository-local policy may add from the
scanned tree: hostile files give no id and no crash (semgrep itself then refuses them).
And how semgrep is started: the bundled pack as JSON, half the cores."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from posture_gate.scanners import semgrep
from posture_gate.scanners.base import ScanContext, ScannerSettings
from posture_gate.scanners.semgrep import Semgrep, bundled_as_json, bundled_rules, rule_ids

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


def test_semgrep_reads_the_json_rendering_as_it_reads_the_pack(tmp_path: Path) -> None:
    # semgrep's own YAML 1.2 reading of the pack; ours is PyYAML's 1.1 (`yes`, dates, ...
    # would differ): the rendering is only handed over while the two agree
    rule_lang = pytest.importorskip("semgrep.rule_lang")
    tree = rule_lang.parse_yaml_preserve_spans(bundled_rules().read_text(encoding="utf-8"),
                                               str(bundled_rules()))
    path, ids = bundled_as_json(tmp_path)
    assert json.loads(path.read_bytes()) == tree.unroll_dict()
    assert ids == rule_ids(bundled_rules()) and "pg-eval-dynamic" in ids
    assert path.suffix == ".json" and path.is_relative_to(tmp_path)


def test_the_rendering_is_named_by_its_content(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # the result cache keys argv, not files in the work dir: new rules, new name
    first, _ = bundled_as_json(tmp_path)
    assert bundled_as_json(tmp_path)[0] == first
    pack = tmp_path / "pack.yml"
    pack.write_text(bundled_rules().read_text(encoding="utf-8").replace(
        "pg-eval-dynamic", "pg-eval-renamed"), encoding="utf-8")
    monkeypatch.setattr(semgrep, "bundled_rules", lambda: pack)
    second, ids = bundled_as_json(tmp_path)
    assert second != first and "pg-eval-renamed" in ids


def _jobs_flags(tmp_path: Path, args: tuple[str, ...] = ()) -> list[str]:
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path / "work")
    (job,) = Semgrep().plan(ScannerSettings(name="semgrep", options={}, extra_args=args), ctx)
    return [a for i, a in enumerate(job.argv)
            if a.startswith(("-j", "--jobs")) or job.argv[i - 1] in ("-j", "--jobs")]


@pytest.mark.parametrize(("cores", "jobs"), [(1, "1"), (2, "1"), (3, "1"), (4, "2"), (16, "8")])
def test_semgrep_gets_half_the_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     cores: int, jobs: str) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)))
    assert _jobs_flags(tmp_path) == ["--jobs", jobs]


@pytest.mark.parametrize("args", [("-j", "3"), ("-j3",), ("--jobs", "3"), ("--jobs=3",)])
def test_a_trusted_policys_jobs_win(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert _jobs_flags(tmp_path, args) == list(args)


def _limit(tmp_path: Path, args: tuple[str, ...] = ()) -> list[str]:
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path / "work")
    (job,) = Semgrep().plan(ScannerSettings(name="semgrep", options={}, extra_args=args), ctx)
    return [a for i, a in enumerate(job.argv)
            if a.startswith("--max-target-bytes") or job.argv[i - 1] == "--max-target-bytes"]


def test_every_file_is_read_unless_a_trusted_policy_sets_a_limit(tmp_path: Path) -> None:
    # semgrep passes over a file above 1 MB with no error: the tree could hide code there
    assert _limit(tmp_path) == ["--max-target-bytes", "0"]
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path / "work")
    for args, reads_all in (((), True), (("--max-target-bytes", "5MB"), False)):
        (job,) = Semgrep().plan(ScannerSettings(name="semgrep", options={},
                                                extra_args=args), ctx)
        parsed = Semgrep().parse(b'{"results": [], "errors": []}', job, ctx, "1.185.0")
        # what coverage reads to tell a file over the size limit from one left unreported
        assert parsed.properties == ({"reads_every_file": True} if reads_all else {})
    assert _limit(tmp_path, ("--max-target-bytes", "5MB")) == ["--max-target-bytes", "5MB"]
    assert _limit(tmp_path, ("--max-target-bytes=5MB",)) == ["--max-target-bytes=5MB"]
