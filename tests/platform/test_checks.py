"""Platform checks against a loopback API serving the documented shapes (library level)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator

import pytest

from posture_gate.model import Category, RunStatus, Severity
from posture_gate.platform import Outcome, PlatformSettings, check_platform
from posture_gate.platform.http import Client, check_api_url, next_link, retry_wait
from posture_gate.policy.evaluate import evaluate
from posture_gate.policy.model import Policy
from posture_gate.policy.schema import build, parse_text

from . import shapes
from .fakeapi import Answer, FakeApi, serve


@pytest.fixture
def api() -> Iterator[FakeApi]:
    yield from serve(FakeApi())


def _gh(api: FakeApi, token: str = shapes.GH_TOKEN, **kw: object) -> Outcome:
    env = {"GITHUB_API_URL": api.url, "GITHUB_REPOSITORY": "acme/web", "GITHUB_TOKEN": token}
    return check_platform(PlatformSettings(**kw), "github", env,  # type: ignore[arg-type]
                          sleep=lambda s: None)


def parse_policy(text: str, source: str) -> Policy:
    problems, doc = parse_text(source, text, today=datetime.date(2026, 12, 1))
    assert doc is not None, problems
    return build(doc)


def _by_rule(out: Outcome) -> dict[str, str]:
    return {c.rule.id: c.status.value for c in out.checks}


def _everything(out: Outcome) -> str:
    return json.dumps([out.run.to_dict(), *[f.to_dict() for f in out.findings]])


def test_github_owner_view(api: FakeApi) -> None:
    shapes.github_owner(api)
    out = _gh(api)
    assert out.run.status is RunStatus.OK, out.run.reason
    assert _by_rule(out) == {
        "github/org-2fa-required": "fail", "github/org-members-without-2fa": "fail",
        "github/default-branch-force-push": "fail", "github/default-branch-deletion": "pass",
        "github/default-branch-reviews": "pass", "github/default-branch-status-checks": "fail",
        "github/secret-scanning": "pass", "github/secret-push-protection": "fail",
        "github/dependabot-alerts": "pass", "github/workflow-token-read-only": "fail"}
    members = next(c for c in out.checks if c.rule.id == "github/org-members-without-2fa")
    assert members.value == "3 member(s)" and "carol" in members.detail  # both pages read
    sev = {f.rule_id: f.severity for f in out.findings}
    assert sev["github/org-2fa-required"] is Severity.HIGH
    assert sev["github/default-branch-force-push"] is Severity.HIGH
    assert all(f.category is Category.PLATFORM for f in out.findings)
    # the token went only in the Authorization header
    assert all(h.get("authorization") == f"Bearer {shapes.GH_TOKEN}" for _, h in api.seen)
    assert shapes.GH_TOKEN not in _everything(out)


def test_github_fixed_settings_pass_a_gate(api: FakeApi) -> None:
    shapes.github_owner(api, rules_force_push_blocked=True)
    out = _gh(api)
    assert _by_rule(out)["github/default-branch-force-push"] == "pass"


def test_gate_platform_high_fails_on_owner_view(api: FakeApi) -> None:
    shapes.github_owner(api)
    out = _gh(api)
    policy = parse_policy("version: 1\ngates:\n  platform: {max: {high: 0}}\n", "p.yml")
    verdict = evaluate(policy, out.findings, [out.run], today=datetime.date(2026, 12, 1))
    assert verdict.status == "fail"
    (gate,) = verdict.gates
    assert gate.name == "platform.max.high" and gate.count == 3  # 2FA, members, force push


def test_github_non_owner_is_unknown_naming_the_scope(api: FakeApi) -> None:
    shapes.github_member(api)
    out = _gh(api)
    assert out.run.status is RunStatus.OK
    checks = _by_rule(out)
    assert checks["github/org-2fa-required"] == "unknown"  # absent field: not "off"
    assert checks["github/default-branch-force-push"] == "pass"  # the ruleset says so
    assert checks["github/secret-scanning"] == "unknown"
    assert checks["github/dependabot-alerts"] == "unknown"
    f = next(f for f in out.findings if f.rule_id == "github/org-2fa-required")
    assert f.severity is Severity.UNKNOWN and "admin:org" in f.message
    policy = parse_policy("version: 1\ngates:\n  platform: {max: {high: 0}}\n", "p.yml")
    verdict = evaluate(policy, out.findings, [out.run], today=datetime.date(2026, 12, 1))
    assert verdict.status == "fail"  # unknown counts as high by default
    lenient = parse_policy("version: 1\ngates:\n  platform: {max: {high: 0}, "
                           "treat_unknown_as: low}\n", "p.yml")
    assert evaluate(lenient, out.findings, [out.run],
                    today=datetime.date(2026, 12, 1)).status == "pass"


def test_429_is_retried_per_retry_after(api: FakeApi) -> None:
    shapes.github_owner(api)
    api.add(shapes.REPO, Answer(status=429, body={"message": "rate limited"},
                                headers={"Retry-After": "7"}),
            Answer(body=shapes.gh_repo(admin=True)))
    waits: list[float] = []
    env = {"GITHUB_API_URL": api.url, "GITHUB_REPOSITORY": "acme/web",
           "GITHUB_TOKEN": shapes.GH_TOKEN}
    out = check_platform(PlatformSettings(), "github", env, sleep=waits.append)
    assert out.run.status is RunStatus.OK and waits == [7.0]
    assert out.run.properties["rate_limit_retries"] == 1 and api.hits(shapes.REPO + "") >= 2


def test_rate_limit_past_the_budget_fails_the_run(api: FakeApi) -> None:
    shapes.github_owner(api)
    api.json(shapes.REPO, {"message": "API rate limit exceeded"}, status=403,
             x_ratelimit_remaining="0", x_ratelimit_reset="9999999999")
    out = _gh(api, retry_budget=5)
    assert out.run.status is RunStatus.FAILED and "retry budget" in (out.run.reason or "")


def test_token_echoed_by_the_api_is_scrubbed(api: FakeApi) -> None:
    shapes.github_member(api)
    api.json(f"{shapes.REPO}/vulnerability-alerts",
             {"message": f"token {shapes.GH_TOKEN} lacks admin"}, status=403)
    out = _gh(api)
    assert shapes.GH_TOKEN not in _everything(out)
    assert "[redacted]" in _everything(out)


def test_unreadable_repository_fails_the_run_without_the_token(api: FakeApi) -> None:
    api.json(shapes.REPO, {"message": "Bad credentials"}, status=401)
    out = _gh(api)
    assert out.run.status is RunStatus.FAILED and "HTTP 401" in (out.run.reason or "")
    assert out.findings == () and shapes.GH_TOKEN not in _everything(out)


def test_redirect_and_foreign_links_are_not_followed(api: FakeApi) -> None:
    api.add(shapes.REPO, Answer(status=301, headers={"Location": "http://127.0.0.2:9/x"}))
    out = _gh(api)
    assert out.run.status is RunStatus.FAILED and "HTTP 301" in (out.run.reason or "")
    client = Client(base_url=api.url, auth_header=("Authorization", "Bearer x"))
    api.json("/list", [1], Link='<http://evil.example/list?page=2>; rel="next"')
    with pytest.raises(Exception, match="another host"):
        client.get_all("/list")


def test_a_slow_api_times_out_and_fails_the_run(api: FakeApi) -> None:
    shapes.github_owner(api)
    api.add(shapes.REPO, Answer(body=shapes.gh_repo(admin=True), delay=3.0))
    out = _gh(api, timeout=0.3)
    assert out.run.status is RunStatus.FAILED
    assert "timed out" in (out.run.reason or "") and shapes.GH_TOKEN not in _everything(out)


def test_gitlab_owner_view(api: FakeApi) -> None:
    shapes.gitlab_owner(api)
    env = {"CI_API_V4_URL": api.url, "CI_PROJECT_ID": "77", "GITLAB_TOKEN": shapes.GL_TOKEN,
           "CI_JOB_TOKEN": shapes.JOB_TOKEN}
    out = check_platform(PlatformSettings(), "gitlab", env)
    assert out.run.status is RunStatus.OK, out.run.reason
    assert _by_rule(out) == {
        "gitlab/group-2fa-required": "fail", "gitlab/default-branch-protected": "pass",
        "gitlab/default-branch-force-push": "fail", "gitlab/default-branch-push-access": "fail",
        "gitlab/approval-rules": "pass", "gitlab/secret-push-protection": "fail",
        "gitlab/pipeline-must-succeed": "pass"}
    assert all(h.get("private-token") == shapes.GL_TOKEN and "job-token" not in h
               for _, h in api.seen)
    text = _everything(out)
    assert shapes.GL_TOKEN not in text and shapes.JOB_TOKEN not in text


def test_gitlab_job_token_is_unknown_naming_the_scope(api: FakeApi) -> None:
    shapes.gitlab_job_token(api)
    env = {"CI_API_V4_URL": api.url, "CI_PROJECT_ID": "77", "CI_JOB_TOKEN": shapes.JOB_TOKEN}
    out = check_platform(PlatformSettings(), "gitlab", env)
    checks = _by_rule(out)
    assert checks["gitlab/group-2fa-required"] == "unknown"
    assert checks["gitlab/default-branch-force-push"] == "unknown"
    assert all(h.get("job-token") == shapes.JOB_TOKEN for _, h in api.seen)
    f = next(f for f in out.findings if f.rule_id == "gitlab/group-2fa-required")
    assert f.severity is Severity.UNKNOWN and "read_api" in f.message


def test_url_and_header_helpers() -> None:
    with pytest.raises(ValueError, match="https"):
        check_api_url("http://api.example.com")
    with pytest.raises(ValueError, match="credentials"):
        check_api_url("https://u:p@api.example.com")
    assert check_api_url("http://127.0.0.1:8080/api/v4/") == "http://127.0.0.1:8080/api/v4"
    assert next_link('<https://a/x?page=2>; rel="next", <https://a/x?page=5>; rel="last"') \
        == "https://a/x?page=2"
    assert next_link('<https://a/x?page=5>; rel="last"') is None
    assert retry_wait(429, {"retry-after": "3"}, 0) == 3
    assert retry_wait(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "100"}, 40) == 60
    assert retry_wait(403, {"x-ratelimit-remaining": "12"}, 0) is None
    assert retry_wait(200, {}, 0) is None
