"""Review coverage: per language present vs reviewed, each skip with its reason; floors."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from posture_gate.coverage import (
    Coverage,
    from_dict,
    iac_kind,
    images_named,
    is_manifest,
    survey,
)
from posture_gate.coverage_gate import console_lines, gates, markdown
from posture_gate.coverage_measure import measure
from posture_gate.model import RunStatus, ScannerRun
from posture_gate.policy.model import CoveragePolicy

from .conftest import ADVISORIES, copy_webapp, run_cli


def _tree(tmp: Path) -> Path:
    root = tmp / "tree"
    for rel, text in {"app/a.py": "x = 1\n", "app/big.py": "y = 2\n", "broken.py": "def f(:\n",
                      "tests/test_a.py": "assert True\n", "vendor/lib.py": "z = 3\n",
                      "web/app.js": "eval(x)\n", "Dockerfile": "FROM python:3.12 AS b\n"
                      "FROM b\nFROM scratch\n", "requirements.txt": "flask==0.12.2\n",
                      "deploy/k8s.yaml": "apiVersion: v1\nkind: Pod\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _runs(out: Path) -> list[ScannerRun]:
    raw = out / "raw"
    raw.mkdir(parents=True)
    (raw / "bandit.json").write_text(json.dumps({
        "errors": [{"filename": "./broken.py", "reason": "syntax error while parsing AST"}],
        "metrics": {"_totals": {}, "./app/a.py": {}, "./app/big.py": {}, "./broken.py": {}},
        "results": []}))
    (raw / "semgrep.json").write_text(json.dumps({
        "errors": [], "results": [], "paths": {
            "scanned": ["app/a.py", "broken.py"],
            "skipped": [{"path": "app/big.py", "reason": "exceeded_size_limit"}]}}))
    (raw / "trivy.json").write_text(json.dumps({"Results": [
        {"Target": "Dockerfile", "Class": "config", "Type": "dockerfile"}]}))

    def run(name: str) -> ScannerRun:
        return ScannerRun(name=name, scanner=name, status=RunStatus.OK,
                          raw_output=f"raw/{name}.json")
    return [run("bandit"), run("semgrep"), run("trivy"),
            ScannerRun(name="pip-audit", scanner="pip-audit", status=RunStatus.OK,
                       properties={"inputs": {"requirements.txt": 1}})]


def _reasons(cov: Coverage, lang: str) -> dict[tuple[str, str], str]:
    found = cov.language(lang)
    assert found is not None
    return {(s.path, s.scanner): s.reason for s in found.skipped}


def test_each_skip_has_its_reason(tmp_path: Path) -> None:
    root, out = _tree(tmp_path), tmp_path / "out"
    cov = measure(survey(root), root, _runs(out), out, excludes={"bandit": ["vendor"]})
    py = cov.language("python")
    # app/a.py, app/big.py (bandit) and broken.py (semgrep parsed it without an error)
    assert py is not None and (py.present, py.covered) == (5, 3)
    assert _reasons(cov, "python") == {
        ("broken.py", "bandit"): "parse error",
        ("tests/test_a.py", "bandit"): "ignored by the tool's defaults",
        ("tests/test_a.py", "semgrep"): "ignored by the tool's defaults",
        ("vendor/lib.py", "bandit"): "excluded by policy",
        ("vendor/lib.py", "semgrep"): "ignored by the tool's defaults",
        ("app/big.py", "semgrep"): "too large",
    }
    assert _reasons(cov, "javascript") == {("web/app.js", "-"): "no scanner for this language"}
    groups = {g.kind: (g.present, g.covered) for g in cov.groups}
    assert groups["iac"] == (("Dockerfile", "deploy/k8s.yaml"), ("Dockerfile",))
    assert groups["manifests"] == (("requirements.txt",), ("requirements.txt",))
    assert groups["images"] == (("python:3.12",), ())  # stage b and scratch are not images
    assert from_dict(json.loads(json.dumps(cov.to_dict()))) == cov
    lines = console_lines(cov)
    assert any(line.startswith("  python: 3/5 files reviewed (60%") for line in lines)
    assert "| javascript | 1 | 0 | 0% | none | 1 no scanner for this language |" in \
        "\n".join(markdown(cov))


def test_a_failed_scanner_leaves_its_files_unreviewed(tmp_path: Path) -> None:
    root, out = _tree(tmp_path), tmp_path / "out"
    runs = _runs(out)
    runs[1] = ScannerRun(name="semgrep", scanner="semgrep", status=RunStatus.TIMEOUT)
    cov = measure(survey(root), root, runs, out)
    assert _reasons(cov, "python")[("app/a.py", "semgrep")] == "timeout"


def test_floors(tmp_path: Path) -> None:
    root, out = _tree(tmp_path), tmp_path / "out"
    cov = measure(survey(root), root, _runs(out), out)
    results, errors = gates(CoveragePolicy(min_ratio={"python": 0.6, "iac": 1.0},
                                           unscanned_languages="fail"), cov)
    assert errors == []
    by = {g.name: (g.count, g.limit, g.passed) for g in results}
    assert by == {"coverage.min_ratio.iac": (1, 0, False),
                  "coverage.min_ratio.python": (2, 2, True),  # 60% of 5: 3 must be reviewed
                  "coverage.unscanned_languages": (1, 0, False)}
    assert gates(CoveragePolicy(min_ratio={"python": 0.61}), cov)[0][0].passed is False
    assert gates(CoveragePolicy(min_ratio={"python": 1.0}), None)[1]  # unmeasured: error


def test_images_named_skip_stages_args_and_scratch(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE=x\nFROM --platform=linux/amd64 node:20 AS build\nFROM $BASE\n"
        "FROM build\nFROM gcr.io/distroless/python3\n")
    assert images_named(tmp_path, ["Dockerfile"]) == ("node:20", "gcr.io/distroless/python3")


@pytest.mark.slow
def test_examples_with_js_a_syntax_error_and_tests_dir(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    (root / "web").mkdir()
    (root / "web" / "app.js").write_text("function f(x) { return eval(x); }\n")
    (root / "broken.py").write_text("def broken(:\n    pass\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("import subprocess\n"
                                              "subprocess.call('ls', shell=True)\n")
    policy = tmp_path / "policy.yml"
    policy.write_text("version: 1\nextends: default\nscanners:\n"
                      "  bandit: {allow_parse_errors: true}\n"
                      "coverage:\n  min_ratio: {python: 1.0}\n  unscanned_languages: fail\n")
    out = tmp_path / "out"
    proc = run_cli("scan", str(root), "--policy", str(policy), "--advisories", str(ADVISORIES),
                   "-o", str(out), "-f", "console,json,markdown,html")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads((out / "findings.json").read_text())
    cov = from_dict(doc["coverage"])
    py = _reasons(cov, "python")
    assert py[("broken.py", "bandit")] == "parse error"
    assert py[("tests/test_x.py", "bandit")] == "ignored by the tool's defaults"
    assert py[("tests/test_x.py", "semgrep")] == "ignored by the tool's defaults"
    assert _reasons(cov, "javascript") == {("web/app.js", "-"): "no scanner for this language"}
    failed = {g["name"] for g in doc["verdict"]["gates"] if not g["passed"]}
    assert {"coverage.min_ratio.python", "coverage.unscanned_languages"} <= failed
    assert "  javascript: 0/1 files reviewed (0%; no scanner)" in proc.stdout
    assert "### Review coverage" in (out / "summary.md").read_text()
    assert "<h2>Review coverage</h2>" in (out / "report.html").read_text()
    # without the floors the same run passes those gates: the floor is what fails it
    policy.write_text("version: 1\nextends: default\nscanners:\n"
                      "  bandit: {allow_parse_errors: true}\n")
    shutil.rmtree(out)
    proc = run_cli("scan", str(root), "--policy", str(policy), "--advisories", str(ADVISORIES),
                   "-o", str(out), "-f", "json")
    doc = json.loads((out / "findings.json").read_text())
    assert not [g for g in doc["verdict"]["gates"] if g["name"].startswith("coverage.")]


def test_too_large_only_under_a_size_limit(tmp_path: Path) -> None:
    # osemgrep lists no skipped file: a big file it did not report is "too large" only
    # when semgrep ran with its size limit, not when the plan had it read every file
    root, out = _tree(tmp_path), tmp_path / "out"
    (root / "app" / "huge.py").write_text("x = 1\n" * 200_000)  # 1.2 MB
    runs = _runs(out)
    for limited, expected in ((True, "too large"), (False, "not reported by the scanner")):
        runs[1] = replace(runs[1], properties={} if limited else {"reads_every_file": True})
        cov = measure(survey(root), root, runs, out)
        assert _reasons(cov, "python")[("app/huge.py", "semgrep")] == expected


def test_the_survey_reads_no_link_fifo_or_excluded_dir(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "k8s").mkdir(parents=True)
    (root / "k8s" / "deploy.yaml").write_text("apiVersion: v1\nkind: Pod\n")
    (root / "requirements").mkdir()
    (root / "requirements" / "base.txt").write_text("flask==2.0.0\n")
    (root / "out").mkdir()
    (root / "out" / "Dockerfile").write_text("FROM python:3.12\n")
    outside = tmp_path / "outside.yaml"
    outside.write_text("apiVersion: v1\nkind: Secret\n")
    (root / "k8s" / "linked.yaml").symlink_to(outside)  # never read through
    os.mkfifo(root / "k8s" / "pipe.yaml")  # would block an open() for reading
    tree = survey(root, ["out"])
    assert sorted(tree.files) == ["k8s/deploy.yaml", "requirements/base.txt"]
    assert tree.iac == ("k8s/deploy.yaml",) and tree.manifests == ("requirements/base.txt",)
    # a FIFO or a link swapped in after the inventory is not read either
    assert iac_kind("k8s/pipe.yaml", root) is None
    assert iac_kind("k8s/linked.yaml", root) is None
    assert is_manifest("a/b/poetry.lock") and is_manifest("requirements-dev.txt")
    assert not is_manifest("a/requirements/x.txt") and not is_manifest("poetry.lock.bak")
