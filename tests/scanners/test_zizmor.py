"""zizmor (GitHub Actions) adapter: inputs, argv, strict parsing; and (slow) the real zizmor
end to end, its findings in every report format."""

from __future__ import annotations

import datetime
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from posture_gate.errors import ScannerOutputError
from posture_gate.model import Category, Confidence, Severity
from posture_gate.policy import schema
from posture_gate.repoconfig import inspect_tree
from posture_gate.reporters import REPORTERS
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import Job, ScanContext, ScannerSettings, forbidden_arg
from tests.conftest import SAMPLES, run_cli

Z = SCANNERS["zizmor"]
SAMPLE_EXIT = 14  # tests/data/samples/SOURCE.md
TODAY = datetime.date(2026, 1, 1)
# The tree tests/data/samples/zizmor.json was made from.
SAMPLE_TREE = {
    ".github/workflows/greet.yml": (
        "name: greet\non: pull_request\npermissions: {}\njobs:\n  greet:\n"
        "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/setup-python@v5\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'),
    ".github/workflows/release.yaml": (
        "name: release\non: push\npermissions: {}\njobs:\n  release:\n"
        "    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/setup-node@v4 # zizmor: ignore[unpinned-uses]\n"),
    "actions/hello/action.yml": (
        "name: hello\ndescription: says hello\ninputs:\n  who:\n    description: who\n"
        "runs:\n  using: composite\n  steps:\n"
        '    - run: echo "hello ${{ github.event.issue.title }}"\n      shell: bash\n'),
}
INJECTION = "code injection via template expansion"
UNPINNED = "unpinned action reference"


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def ctx(root: Path, **kw: Any) -> ScanContext:
    return ScanContext(root=root, work_dir=root / ".work", **kw)


def job() -> Job:
    return Job(name="zizmor", scanner="zizmor", argv=("zizmor",))


def parse(data: bytes, root: Path, exit_code: int = SAMPLE_EXIT):  # type: ignore[no-untyped-def]
    return Z.parse(data, job(), ctx(root), "1.32.0", exit_code=exit_code)


def sample() -> list[Any]:
    doc: list[Any] = json.loads((SAMPLES / "zizmor.json").read_text())
    return doc


# -- plan: what zizmor is given, and what it may not read --------------------------------

def test_plan_lists_workflows_and_actions_and_nothing_else(tmp_path: Path) -> None:
    tree(tmp_path, {**SAMPLE_TREE, ".github/workflows/notes.txt": "x",
                    ".github/workflows/sub/deep.yml": "x", "ci/.github/workflows/x.yml": "x",
                    ".venv/lib/action.yml": "x", "report/action.yml": "x",
                    "zizmor.yml": "rules:\n  template-injection:\n    disable: true\n",
                    ".github/zizmor.yml": "rules: {}\n"})
    (jobs,) = Z.plan(ScannerSettings(name="zizmor"), ctx(tmp_path, exclude_dirs=("report",)))
    inputs = list(jobs.argv[jobs.argv.index("--") + 1:])
    assert inputs == [".github/workflows/greet.yml", ".github/workflows/release.yaml",
                      "actions/hello/action.yml"]
    head = jobs.argv[:jobs.argv.index("--")]
    for flag in ("--offline", "--no-config", "--no-ignores", "--strict-collection"):
        assert flag in head
    assert "--config" not in head and "-c" not in head and "--collect" not in head
    assert jobs.argv[head.index("--format") + 1] == "json"


def test_optional_unless_a_policy_requires_it(tmp_path: Path) -> None:
    for preset in ("default", "strict", "nightly"):
        assert not schema.load_policy(preset, today=TODAY).scanners["zizmor"].required
    path = tmp_path / "p.yml"
    path.write_text("version: 1\nscanners:\n  zizmor: {}\n  bandit: {}\n")
    policy = schema.load_policy(str(path), today=TODAY)
    assert not policy.scanners["zizmor"].required and policy.scanners["bandit"].required
    path.write_text("version: 1\nscanners:\n  zizmor: {required: true}\n")
    assert schema.load_policy(str(path), today=TODAY).scanners["zizmor"].required


def test_plan_skips_a_link_leading_outside(tmp_path: Path) -> None:
    outside = tree(tmp_path / "outside", {"w.yml": "name: x\n"})
    root = tree(tmp_path / "root", SAMPLE_TREE)
    (root / ".github/workflows/leak.yml").symlink_to(outside / "w.yml")
    (jobs,) = Z.plan(ScannerSettings(name="zizmor"),
                     ctx(root, outside_links=(".github/workflows/leak.yml",)))
    assert ".github/workflows/leak.yml" not in jobs.argv


def test_its_config_files_are_listed_and_never_honoured(tmp_path: Path) -> None:
    tree(tmp_path, {**SAMPLE_TREE, "zizmor.yml": "rules: {}\n",
                    ".github/zizmor.yml": "rules:\n  unpinned-uses:\n    disable: true\n"})
    facts = inspect_tree(tmp_path)
    listed = {(f.path, f.scanner, f.honoured) for f in facts.config_files}
    assert listed == {("zizmor.yml", "zizmor", False), (".github/zizmor.yml", "zizmor", False)}
    problems, _ = schema.check(str(tree(tmp_path, {"p.yml": "version: 1\nhonor_repo_config: "
                                                   "[zizmor.yml]\n"}) / "p.yml"), today=TODAY)
    assert problems and "honor_repo_config[0]" in problems[0]


def test_no_workflow_no_job(tmp_path: Path) -> None:
    tree(tmp_path, {"app.py": "print(1)\n", "zizmor.yml": "rules: {}\n"})
    assert Z.plan(ScannerSettings(name="zizmor"), ctx(tmp_path)) == []


def test_forbidden_args() -> None:
    for bad in (["--config", "z.yml"], ["-c", "z.yml"], ["--fix=all"], ["--gh-token", "t"],
                ["--format", "sarif"], ["--no-exit-codes"], ["--collect=all"]):
        assert forbidden_arg(bad, Z.forbidden_args) is not None, bad
    assert forbidden_arg(["--persona", "pedantic", "--min-severity", "low"],
                         Z.forbidden_args) is None


# -- parse: the real sample, and everything that is not zizmor's JSON ---------------------

def test_sample(tmp_path: Path) -> None:
    parsed = parse((SAMPLES / "zizmor.json").read_bytes(), tmp_path)
    got = [(f.rule_id, f.severity, f.confidence, f.location.path, f.location.start_line,
            f.suppression is not None) for f in parsed.findings if f.location]
    assert got == [
        ("template-injection", Severity.HIGH, Confidence.HIGH, ".github/workflows/greet.yml",
         9, False),
        ("unpinned-uses", Severity.HIGH, Confidence.HIGH, ".github/workflows/greet.yml", 8,
         False),
        ("unpinned-uses", Severity.HIGH, Confidence.HIGH, ".github/workflows/release.yaml", 8,
         True),
        ("template-injection", Severity.HIGH, Confidence.HIGH, "actions/hello/action.yml", 9,
         False)]
    assert parsed.raw_count == 4
    assert all(f.category is Category.ARCHITECTURE and f.scanner == "zizmor"
               for f in parsed.findings)
    assert parsed.findings[0].message == f"{INJECTION}: may expand into attacker-controllable " \
        "code"
    assert parsed.findings[0].references == ("https://docs.zizmor.sh/audits/#template-injection",)
    # the fingerprint follows the flagged step, not its line
    assert len({f.fingerprint for f in parsed.findings}) == 4


def test_no_findings(tmp_path: Path) -> None:
    assert parse(b"[]\n", tmp_path, exit_code=0).findings == ()


@pytest.mark.parametrize("code", [0, 13, 10])
def test_exit_code_must_match_the_worst_finding(code: int, tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match=rf"exited {code} but reported 4 finding"):
        parse((SAMPLES / "zizmor.json").read_bytes(), tmp_path, exit_code=code)
    with pytest.raises(ScannerOutputError, match="exited 14 but reported 0"):
        parse(b"[]", tmp_path, exit_code=14)


def _broken(change: Any) -> bytes:
    doc = sample()
    change(doc)
    return json.dumps(doc).encode()


@pytest.mark.parametrize("change, field", [
    (lambda d: d[0].pop("ident"), r"no \[0\]\.ident"),
    (lambda d: d[1].update(ignored="no"), r"\[1\]\.ignored is str"),
    (lambda d: d[0]["determinations"].update(severity="Critical"),
     r"\[0\]\.determinations\.severity is 'Critical', expected one of"),
    (lambda d: d[0]["determinations"].pop("confidence"), r"no \[0\]\.determinations\.confidence"),
    (lambda d: d[0].update(locations=[]), r"\[0\]\.locations has no Primary location"),
    (lambda d: d[0]["locations"][0]["symbolic"]["key"].update(Local=None),
     r"\[0\]\.locations\[0\]\.symbolic\.key\.Local is null"),
    (lambda d: d[0]["locations"][1]["concrete"]["location"]["start_point"].update(row=-1),
     r"start_point\.row is 0, not a line number"),
    (lambda d: d[0]["locations"][1]["symbolic"].update(kind="Secret"),
     r"\[0\]\.locations\[1\]\.symbolic\.kind is 'Secret'"),
    (lambda d: d[0]["locations"][1]["symbolic"]["route"].update(route=[["jobs"]]),
     r"route\.route\[0\] is list"),
])
def test_every_field_is_checked_and_named(change: Any, field: str, tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match=field):
        parse(_broken(change), tmp_path)


@pytest.mark.parametrize("data, reason", [
    (b"", "produced no output"), (b"fatal: no audit was performed", "not valid JSON"),
    (b'{"results": []}', "output is JSON dict, expected an array"), (b"[1]", r"\[0\] is int"),
])
def test_not_zizmors_json(data: bytes, reason: str, tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match=reason):
        parse(data, tmp_path, exit_code=0)


def test_redact_drops_the_quoted_workflow_text() -> None:
    text = json.dumps(Z.redact(sample()))
    assert "github.event.pull_request.title" not in text and '"feature"' not in text


# -- the real zizmor, end to end, in every report format ---------------------------------

WORKFLOW = SAMPLE_TREE[".github/workflows/greet.yml"]
EXPECTED = [("template-injection", ".github/workflows/greet.yml", 9),
            ("unpinned-uses", ".github/workflows/greet.yml", 8)]
FORMATS = ",".join(sorted(REPORTERS))


@pytest.mark.slow
def test_real_zizmor_in_every_report(tmp_path: Path) -> None:
    root = tree(tmp_path / "repo", {".github/workflows/greet.yml": WORKFLOW,
                                    # the tree's own config would disable both audits
                                    "zizmor.yml": "rules:\n  template-injection:\n    disable: "
                                    "true\n  unpinned-uses:\n    disable: true\n"})
    policy = tmp_path / "policy.yml"
    policy.write_text("version: 1\nscanners:\n  zizmor: {}\n"
                      "gates:\n  architecture: {max: {high: 0}}\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = run_cli("scan", str(root), "--policy", str(policy), "-o", str(out), "-f", FORMATS)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the gate blocks: two highs
    doc = json.loads((out / "findings.json").read_text())
    (run,) = doc["scanners"]
    assert (run["scanner"], run["status"], run["version"], run["categories"]) == \
        ("zizmor", "ok", "1.32.0", ["architecture"])
    got = [(f["rule_id"], f["location"]["path"], f["location"]["start_line"]) for f in
           sorted(doc["findings"], key=lambda f: f["rule_id"])]
    assert got == EXPECTED
    assert {(f["category"], f["severity"], f["confidence"]) for f in doc["findings"]} == \
        {("architecture", "high", "high")}
    assert doc["totals"]["architecture"]["high"] == 2
    assert "github.event.pull_request.title" not in (out / "raw" / "zizmor.json").read_text()
    _sarif(out)
    _gitlab(out)
    for rule, path, line in EXPECTED:
        # console (stdout), markdown, junit and html name each finding where it is
        assert re.search(rf"^ +{re.escape(path)}:{line} +high +{rule} ", proc.stdout, re.M), rule
        assert re.search(rf"^\| high \| architecture \| {rule} \| .* \| "
                         rf"{re.escape(path)}:{line} \|", (out / "summary.md").read_text(),
                         re.M), rule
        junit = (out / "junit.xml").read_text()
        ET.fromstring(junit.encode("utf-8"))  # noqa: S314 - our own output
        assert re.search(rf"\[HIGH\] [^\n]* - rule {rule} - {re.escape(path)}:{line} ", junit)
        html = (out / "report.html").read_text()
        assert rule in html and f"{path}:{line}" in html, rule
    assert "zizmor" not in (out / "bom.cdx.json").read_text()  # an SBOM lists packages


def _sarif(out: Path) -> None:
    doc = json.loads((out / "posture-gate.sarif").read_text())
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["informationUri"] == "https://docs.zizmor.sh/"
    got = sorted((r["ruleId"], r["level"],
                  r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                  r["locations"][0]["physicalLocation"]["region"]["startLine"])
                 for r in run["results"])
    assert got == [(rule, "error", path, line) for rule, path, line in EXPECTED]
    rules = {r["id"]: r for r in driver["rules"]}
    assert {rules[rule]["properties"]["security-severity"] for rule, _, _ in EXPECTED} == {"8.0"}


def _gitlab(out: Path) -> None:
    doc = json.loads((out / "gl-sast-report.json").read_text())
    got = sorted((v["location"]["file"], v["location"]["start_line"], v["severity"])
                 for v in doc["vulnerabilities"])
    assert got == sorted((path, line, "High") for _, path, line in EXPECTED)
    assert doc["scan"]["status"] == "success"
    for other in ("gl-dependency-scanning-report.json", "gl-secret-detection-report.json",
                  "gl-container-scanning-report.json"):
        assert json.loads((out / other).read_text())["vulnerabilities"] == []
