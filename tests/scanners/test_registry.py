"""Every registered scanner against both schemas and every hook point: what one scanner module
declares must reach the policy schema, the trust rules, the presets, the pre-commit hook, the
finding schema, GitLab's report status, SARIF, the merge order and the freshness lines."""

from __future__ import annotations

import copy
import datetime
import json
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from posture_gate import repoconfig
from posture_gate.errors import PolicyError
from posture_gate.hooks import fast_policy
from posture_gate.merge import PRIORITY
from posture_gate.model import Category, RunStatus, ScannerRun
from posture_gate.policy import schema as policy_schema
from posture_gate.policy import trust
from posture_gate.reporters import base as reporters_base
from posture_gate.reporters import gitlab, sarif
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import TRUST_RULES, Scanner, forbidden_arg
from posture_gate.schemas import load_schema

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "reporters" / "golden" / "findings.json"
TODAY = datetime.date(2026, 1, 1)
GITLAB_REPORTS = {r.report_type for r in (
    gitlab.GitlabSastReporter, gitlab.GitlabSecretDetectionReporter,
    gitlab.GitlabDependencyScanningReporter, gitlab.GitlabContainerScanningReporter)}
COMMON = {"enabled", "required", "optional", "timeout", "args"}
NAMES = sorted(SCANNERS)


def _policy(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "policy.yml"
    path.write_text("version: 1\n" + body, encoding="utf-8")
    return path


def test_the_registry_is_keyed_by_name_and_every_entry_is_a_scanner() -> None:
    assert NAMES and len(set(NAMES)) == len(SCANNERS)
    for name, s in SCANNERS.items():
        assert isinstance(s, Scanner) and s.name == name
        assert re.fullmatch(r"[a-z][a-z0-9-]*", name)


def test_the_schema_files_name_no_scanner() -> None:
    for name in ("policy-v1", "finding-v1"):
        text = (REPO / "posture_gate" / "schemas" / f"{name}.schema.json").read_text()
        assert not [n for n in SCANNERS if f'"{n}"' in text], name


@pytest.mark.parametrize("name", NAMES)
def test_declarations(name: str) -> None:
    s = SCANNERS[name]
    assert s.executable and s.version_argv()[0] == s.executable
    assert s.tested_versions and s.ok_exit_codes
    assert s.categories and set(s.categories) <= set(Category)
    assert set(s.job_categories(None)) == set(s.categories)
    assert s.information_uri.startswith("https://")
    assert isinstance(s.required_by_default, bool)
    for flag in s.forbidden_args:
        assert flag.startswith("-") and forbidden_arg([flag], s.forbidden_args) == flag


def test_pins_are_the_scanners_extra_and_a_tested_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extra = set(project["optional-dependencies"]["scanners"])
    assert extra == {s.pin for s in SCANNERS.values()}
    for s in SCANNERS.values():
        version = s.pin.split("==", 1)[1]
        # trivy's wheel carries a fourth number for its own packaging
        assert any(version == v or version.startswith(v + ".") for v in s.tested_versions)


@pytest.mark.parametrize("name", NAMES)
def test_policy_schema_block(name: str, tmp_path: Path) -> None:
    s = SCANNERS[name]
    block = load_schema("policy-v1")["properties"]["scanners"]["properties"][name]
    assert set(block["properties"]) == COMMON | set(s.options)
    assert block["additionalProperties"] is False
    for key, option in s.options.items():
        assert set(option.schema) - {"description"}, key  # a real constraint
        if option.default is not None:
            jsonschema.validate(option.default, dict(option.schema))
    written = "".join(f"    {k}: {json.dumps(o.default)}\n" for k, o in s.options.items()
                      if o.default is not None)
    ok = _policy(tmp_path, f"scanners:\n  {name}:\n{written or '    enabled: true'}\n")
    problems, policy = policy_schema.check(str(ok), today=TODAY)
    assert problems == [] and policy is not None and name in policy.scanners
    bad = _policy(tmp_path, f"scanners:\n  {name}: {{no_such_option: 1}}\n")
    problems, _ = policy_schema.check(str(bad), today=TODAY)
    assert len(problems) == 1 and f"scanners.{name}.no_such_option: unknown key" in problems[0]


def test_an_unregistered_scanner_is_refused_by_the_policy_schema(tmp_path: Path) -> None:
    problems, _ = policy_schema.check(str(_policy(tmp_path, "scanners:\n  nosuch: {}\n")),
                                      today=TODAY)
    assert problems and "scanners.nosuch: unknown key" in problems[0]


def _finding_doc(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(GOLDEN.read_text())
    doc["findings"] = [{**doc["findings"][0], "scanner": name, "found_by": [name]}]
    doc["scanners"] = [{**doc["scanners"][0], "name": name, "scanner": name}]
    return doc


@pytest.mark.parametrize("name", NAMES)
def test_finding_schema_knows_the_scanner(name: str) -> None:
    schema = load_schema("finding-v1")
    # the registry's names first; a run may also carry non-scanner sources (platform checks)
    assert schema["$defs"]["scanner_name"]["enum"][:len(SCANNERS)] == list(SCANNERS)
    jsonschema.Draft202012Validator(schema).validate(_finding_doc(name))


def test_finding_schema_refuses_an_unregistered_scanner() -> None:
    schema = load_schema("finding-v1")
    for field in ("scanner", "found_by"):
        doc = _finding_doc(NAMES[0])
        doc["findings"][0][field] = "nosuch" if field == "scanner" else ["nosuch"]
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(schema).validate(doc)


@pytest.mark.parametrize("name", NAMES)
def test_trust_rules(name: str, tmp_path: Path) -> None:
    s = SCANNERS[name]
    rules = trust._option_rules(name)
    for key, option in s.options.items():
        assert option.trust in TRUST_RULES
        assert rules[key] == option.trust
        assert trust._option_default(name, key) == option.default
    # a trusted-only option written by the repository is refused, naming it
    only = next((k for k, o in s.options.items() if o.trust == "equal"), None)
    if only is None:
        return
    value = s.options[only].default
    value = value if value is not None else _sample(s.options[only].schema)
    trusted = _policy(tmp_path, f"scanners:\n  {name}: {{}}\n")
    local = tmp_path / "repo"
    local.mkdir()
    (local / "posture-gate.yml").write_text(
        f"version: 1\nscanners:\n  {name}: {{{only}: {json.dumps(_other(value))}}}\n")
    with pytest.raises(PolicyError, match=rf"scanners\.{re.escape(name)}\.{only}: only the "
                       "trusted policy"):
        trust.resolve(str(trusted), None, local, today=TODAY)


def _sample(schema: Any) -> Any:
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    return {"boolean": False, "string": "x", "integer": 1, "array": []}.get(kind, "x")


def _other(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, list):
        return [*value, "other"]
    if isinstance(value, int):
        return value + 1
    return f"{value}-other"


@pytest.mark.parametrize("name", NAMES)
def test_presets(name: str) -> None:
    s = SCANNERS[name]
    assert set(s.presets) <= set(policy_schema.PRESETS)
    for preset in policy_schema.PRESETS:
        policy = policy_schema.load_policy(preset, today=TODAY)
        if preset not in s.presets:
            assert name not in policy.scanners
            continue
        block = copy.deepcopy(dict(s.presets[preset]))
        got = policy.scanners[name]
        assert got.required == policy_schema.required_of(block, name)
        assert {k: v for k, v in got.options.items()} == \
            {k: v for k, v in block.items() if k not in COMMON}


@pytest.mark.parametrize("name", NAMES)
def test_pre_commit_hook(name: str) -> None:
    s = SCANNERS[name]
    policy = policy_schema.load_policy("default", today=TODAY)
    settings = policy.scanner_settings()
    for files in ([], ["a.py"]):
        fast = fast_policy(policy, files)
        if name not in settings:
            assert name not in fast.scanners
            continue
        narrowed = s.precommit(settings[name], files)
        assert (name in fast.scanners) == (narrowed is not None)
        if narrowed is not None:
            assert fast.scanners[name] == narrowed


@pytest.mark.parametrize("name", NAMES)
def test_gitlab_reports(name: str) -> None:
    s = SCANNERS[name]
    run = ScannerRun(name=name, scanner=name, status=RunStatus.FAILED)
    feeds = s.gitlab_feeds(run)
    assert feeds and feeds <= GITLAB_REPORTS
    # a failed run marks exactly the reports it feeds as failed, never all four
    assert {t for t in GITLAB_REPORTS if gitlab._feeds(run, t)} == feeds


def test_sarif_information_uri_and_merge_rank() -> None:
    assert {n: s.information_uri for n, s in SCANNERS.items()} == sarif.INFORMATION_URI
    ranks = [s.merge_rank for s in SCANNERS.values()]
    assert len(set(ranks)) == len(ranks)
    assert tuple(sorted(SCANNERS, key=lambda n: SCANNERS[n].merge_rank)) == PRIORITY


def test_config_files_reach_the_tree_walk_and_the_policy_schema(tmp_path: Path) -> None:
    names = [n for s in SCANNERS.values() for n in s.config_files]
    assert len(names) == len(set(names))  # one owner per file name
    assert {n: s.name for s in SCANNERS.values()
                                     for n in s.config_files} == repoconfig.SCANNER_OF
    enum = load_schema("policy-v1")["$defs"]["repo_config_name"]["enum"]
    assert set(enum) == {n for s in SCANNERS.values() for n in s.honourable}
    for s in SCANNERS.values():
        assert s.honourable <= s.config_files
        for name in sorted(s.config_files - s.honourable):  # never honourable
            path = _policy(tmp_path, f"honor_repo_config: [{name}]\n")
            problems, _ = policy_schema.check(str(path), today=TODAY)
            assert problems and "honor_repo_config[0]" in problems[0], name


def test_freshness_labels() -> None:
    declared = {k for s in SCANNERS.values() for k in s.freshness}
    assert set(reporters_base.DATA_FRESHNESS_KEYS) == declared
