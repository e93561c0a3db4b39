"""`posture-gate scan --platform` end to end: the real CLI against the loopback API."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_env, run_cli
from tests.reporters.schemas import sarif_errors

from . import shapes
from .fakeapi import Answer, FakeApi, serve

FORMATS = "console,json,sarif,junit,markdown,html,gitlab-sast"
NO_SCANNERS = "".join(f"  {n}: {{enabled: false}}\n"
                      for n in ("bandit", "semgrep", "pip-audit", "trivy"))


@pytest.fixture
def api() -> Iterator[FakeApi]:
    yield from serve(FakeApi())


def _env(**extra: str) -> dict[str, str]:
    env = cli_env(**extra)
    for key in list(env):  # the loopback API is reached directly, never through a proxy
        if key.lower().endswith("_proxy") or key.startswith(("GITHUB_", "GITLAB_", "CI_")):
            env.pop(key)
    env.update(extra)
    return env


def _scan(tmp_path: Path, env: dict[str, str], *, policy_extra: str = "",
          args: tuple[str, ...] = ()) -> tuple[Any, dict[str, Any], str]:
    tree = tmp_path / "tree"
    tree.mkdir(exist_ok=True)
    (tree / "app.py").write_text("print('hello')\n")
    policy = tmp_path / "policy.yml"  # outside the tree: trusted
    policy.write_text("version: 1\nscanners:\n" + NO_SCANNERS + policy_extra +
                      "gates:\n  platform: {max: {high: 0}}\n")
    out = tmp_path / "out"
    proc = run_cli("scan", str(tree), "--policy", str(policy), "-o", str(out),
                   "-f", FORMATS, *args, env=env, timeout=120)
    doc = json.loads((out / "findings.json").read_text()) if (out / "findings.json").exists() \
        else {}
    written = "".join(p.read_text(errors="replace") for p in sorted(out.rglob("*"))
                      if p.is_file()) if out.exists() else ""
    return proc, doc, proc.stdout + proc.stderr + written


def _checks(doc: dict[str, Any]) -> dict[str, str]:
    run = next(s for s in doc["scanners"] if s["name"] == "platform")
    return {c["rule_id"]: c["status"] for c in run["properties"]["checks"]}


def test_github_org_without_2fa_and_force_push_fail_the_gate(api: FakeApi,
                                                              tmp_path: Path) -> None:
    shapes.github_owner(api)
    proc, doc, everything = _scan(tmp_path, _env(
        GITHUB_API_URL=api.url, GITHUB_REPOSITORY="acme/web", GITHUB_TOKEN=shapes.GH_TOKEN),
        args=("--platform", "github"))
    assert proc.returncode == 1, proc.stderr
    failed = {g["name"] for g in doc["verdict"]["gates"] if not g["passed"]}
    assert failed == {"platform.max.high"}
    rules = {f["rule_id"]: f["severity"] for f in doc["findings"] if f["category"] == "platform"}
    assert rules["github/org-2fa-required"] == "high"
    assert rules["github/default-branch-force-push"] == "high"
    assert doc["totals"]["platform"]["high"] == 3
    assert "platform" in proc.stdout  # the console totals row
    assert shapes.GH_TOKEN not in everything
    assert shapes.GH_TOKEN[4:] not in everything
    sarif = json.loads((tmp_path / "out" / "posture-gate.sarif").read_text())
    assert sarif_errors(sarif) == []
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"]}
    assert uris == {"platform-settings/github"}


def test_github_non_owner_token_gives_unknown_naming_the_scope(api: FakeApi,
                                                               tmp_path: Path) -> None:
    shapes.github_member(api)
    policy = f"platform:\n  provider: github\n  api_url: {api.url}\n  repository: acme/web\n"
    proc, doc, everything = _scan(tmp_path, _env(GITHUB_TOKEN=shapes.GH_TOKEN),
                                  policy_extra=policy)
    assert proc.returncode == 1, proc.stderr  # unknown counts as high by default
    assert _checks(doc)["github/org-2fa-required"] == "unknown"
    org = next(f for f in doc["findings"] if f["rule_id"] == "github/org-2fa-required")
    assert org["severity"] == "unknown" and "admin:org" in org["message"]
    assert shapes.GH_TOKEN not in everything


def test_github_429_is_retried_per_retry_after(api: FakeApi, tmp_path: Path) -> None:
    shapes.github_owner(api, rules_force_push_blocked=True)
    api.add(shapes.REPO, Answer(status=429, body={"message": "secondary rate limit"},
                                headers={"Retry-After": "1"}),
            Answer(body=shapes.gh_repo(admin=True)))
    proc, doc, _ = _scan(tmp_path, _env(
        GITHUB_API_URL=api.url, GITHUB_REPOSITORY="acme/web", GITHUB_TOKEN=shapes.GH_TOKEN),
        args=("--platform", "github"))
    run = next(s for s in doc["scanners"] if s["name"] == "platform")
    assert run["status"] == "ok" and run["properties"]["rate_limit_retries"] == 1
    assert [p for p, _ in api.seen].count(shapes.REPO) == 2
    assert _checks(doc)["github/default-branch-force-push"] == "pass"
    assert proc.returncode == 1  # the org still lacks 2FA


def test_gitlab_group_without_2fa_and_force_push_fail_the_gate(api: FakeApi,
                                                              tmp_path: Path) -> None:
    shapes.gitlab_owner(api)
    proc, doc, everything = _scan(tmp_path, _env(
        CI_API_V4_URL=api.url, CI_PROJECT_ID="77", GITLAB_TOKEN=shapes.GL_TOKEN,
        CI_JOB_TOKEN=shapes.JOB_TOKEN), args=("--platform", "gitlab"))
    assert proc.returncode == 1, proc.stderr
    rules = {f["rule_id"]: f["severity"] for f in doc["findings"]}
    assert rules["gitlab/group-2fa-required"] == "high"
    assert rules["gitlab/default-branch-force-push"] == "high"
    assert shapes.GL_TOKEN not in everything and shapes.JOB_TOKEN not in everything


def test_gitlab_429_is_retried_per_retry_after(api: FakeApi, tmp_path: Path) -> None:
    shapes.gitlab_owner(api)
    api.add("/groups/9", Answer(status=429, body={"message": "429 Too Many Requests"},
                                headers={"Retry-After": "1"}),
            Answer(body={"id": 9, "full_path": "acme", "two_factor_grace_period": 48,
                         "require_two_factor_authentication": True}))
    proc, doc, everything = _scan(tmp_path, _env(
        CI_API_V4_URL=api.url, CI_PROJECT_ID="77", GITLAB_TOKEN=shapes.GL_TOKEN),
        args=("--platform", "gitlab"))
    run = next(s for s in doc["scanners"] if s["name"] == "platform")
    assert run["status"] == "ok" and run["properties"]["rate_limit_retries"] == 1
    assert [p for p, _ in api.seen].count("/groups/9") == 2
    assert _checks(doc)["gitlab/group-2fa-required"] == "pass"  # the answer after the retry
    assert proc.returncode == 1  # force push is still allowed on main
    assert shapes.GL_TOKEN not in everything


def test_gitlab_job_token_gives_unknown_naming_the_scope(api: FakeApi, tmp_path: Path) -> None:
    shapes.gitlab_job_token(api)
    proc, doc, everything = _scan(tmp_path, _env(
        CI_API_V4_URL=api.url, CI_PROJECT_ID="77", CI_JOB_TOKEN=shapes.JOB_TOKEN),
        args=("--platform", "gitlab"))
    assert proc.returncode == 1, proc.stderr
    assert _checks(doc)["gitlab/group-2fa-required"] == "unknown"
    group = next(f for f in doc["findings"] if f["rule_id"] == "gitlab/group-2fa-required")
    assert group["severity"] == "unknown" and "read_api" in group["message"]
    assert shapes.JOB_TOKEN not in everything


def test_unreadable_repository_is_exit_2_without_the_token(api: FakeApi, tmp_path: Path) -> None:
    api.json(shapes.REPO, {"message": f"Bad credentials {shapes.GH_TOKEN}"}, status=401)
    proc, _, everything = _scan(tmp_path, _env(
        GITHUB_API_URL=api.url, GITHUB_REPOSITORY="acme/web", GITHUB_TOKEN=shapes.GH_TOKEN),
        args=("--platform", "github"))
    assert proc.returncode == 2 and "HTTP 401" in proc.stderr
    assert shapes.GH_TOKEN not in everything


def test_repository_local_policy_may_not_redirect_the_platform(api: FakeApi,
                                                              tmp_path: Path) -> None:
    shapes.github_owner(api)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "posture-gate.yml").write_text(
        "version: 1\nplatform:\n  api_url: http://127.0.0.1:9/\n  token_env: HOME\n")
    proc, _, _ = _scan(tmp_path, _env(
        GITHUB_API_URL=api.url, GITHUB_REPOSITORY="acme/web", GITHUB_TOKEN=shapes.GH_TOKEN),
        args=("--platform", "github"))
    assert proc.returncode == 2
    assert "platform.api_url" in proc.stderr and "trusted" in proc.stderr
    assert os.path.basename(str(tree)) and not api.seen  # nothing was asked
