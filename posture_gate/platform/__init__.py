"""Platform posture: the hosting platform's settings (2FA, branch rules, secret scanning)
read through its API and reported as findings of category `platform`.

Where to ask comes from the CI job's standard variables (GITHUB_API_URL, GITHUB_REPOSITORY,
GITHUB_TOKEN; CI_API_V4_URL, CI_PROJECT_ID, GITLAB_TOKEN or CI_JOB_TOKEN), overridable by
the trusted policy's `platform:` block; nothing in the scanned tree can point it elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from ..model import Category, Finding, RunStatus, ScannerRun
from . import github, gitlab
from .checks import SCANNER, Check, to_finding
from .http import ApiError, Client

PROVIDERS = ("github", "gitlab")


@dataclass(frozen=True, kw_only=True)
class PlatformSettings:
    """The policy's `platform:` block (trusted policy only)."""

    provider: str | None = None  # github | gitlab; None: not run unless --platform
    api_url: str | None = None
    repository: str | None = None  # GitHub owner/name
    project: str | None = None  # GitLab project id or full path
    token_env: str | None = None  # the environment variable holding the token
    required: bool = True
    timeout: float = 10.0  # per request
    retry_budget: float = 30.0  # seconds we agree to wait for rate limits


def settings_from_policy(raw: Mapping[str, object] | None) -> PlatformSettings | None:
    """The validated `platform:` block (policy-v1 schema) as settings; None when absent."""
    if raw is None:
        return None

    def text(key: str) -> str | None:
        value = raw.get(key)
        return str(value) if value is not None else None

    def number(key: str, default: float) -> float:
        value = raw.get(key)
        return float(value) if isinstance(value, (int, float)) else default

    return PlatformSettings(provider=text("provider"), api_url=text("api_url"),
                            repository=text("repository"), project=text("project"),
                            token_env=text("token_env"), required=raw.get("required") is not False,
                            timeout=number("timeout", 10.0),
                            retry_budget=number("retry_budget", 30.0))


def provider_for(settings: PlatformSettings | None, override: str | None) -> str | None:
    """`scan --platform` wins over the policy's provider; None: no platform checks."""
    return override or (settings.provider if settings else None)


@dataclass(frozen=True, kw_only=True)
class Outcome:
    run: ScannerRun
    findings: tuple[Finding, ...]
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True, kw_only=True)
class _Where:
    provider: str
    api_url: str
    subject: str
    auth: tuple[str, str] | None
    token_source: str  # the variable it came from, never the value


def _where(settings: PlatformSettings, provider: str, env: Mapping[str, str]) -> _Where:
    if provider == "github":
        api = settings.api_url or env.get("GITHUB_API_URL") or "https://api.github.com"
        subject = settings.repository or env.get("GITHUB_REPOSITORY") or ""
        if subject.count("/") != 1 or not all(subject.split("/")):
            raise ValueError("no GitHub repository (owner/name): set GITHUB_REPOSITORY or "
                             "platform.repository")
        var = settings.token_env or "GITHUB_TOKEN"
        token = env.get(var)
        return _Where(provider=provider, api_url=api, subject=subject,
                      auth=("Authorization", f"Bearer {token}") if token else None,
                      token_source=var if token else "none")
    api = settings.api_url or env.get("CI_API_V4_URL") or "https://gitlab.com/api/v4"
    subject = settings.project or env.get("CI_PROJECT_ID") or ""
    if not subject:
        raise ValueError("no GitLab project: set CI_PROJECT_ID or platform.project")
    candidates: tuple[tuple[str | None, str], ...] = (
        (settings.token_env, "PRIVATE-TOKEN"), ("GITLAB_TOKEN", "PRIVATE-TOKEN"),
        ("CI_JOB_TOKEN", "JOB-TOKEN"))
    for name, header in candidates:
        if name and env.get(name):
            return _Where(provider=provider, api_url=api, subject=subject,
                          auth=(header, env[name]), token_source=name)
        if name and name == settings.token_env:
            break  # the policy named a variable: never fall back to another token
    return _Where(provider=provider, api_url=api, subject=subject, auth=None,
                  token_source="none")  # noqa: S106 - says no token was found


def check_platform(settings: PlatformSettings, provider: str, env: Mapping[str, str], *,
                   sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Every check for one repository/project. Never raises for API trouble: a repository
    that cannot be read, or an API that cannot be reached, is a failed run."""
    started = time.monotonic()
    base = ScannerRun(name=SCANNER, scanner=SCANNER, status=RunStatus.FAILED,
                      required=settings.required, categories=(Category.PLATFORM.value,),
                      version=f"{provider}-rest")
    try:
        where = _where(settings, provider, env)
        client = Client(base_url=where.api_url, auth_header=where.auth,
                        timeout=settings.timeout, retry_budget=settings.retry_budget,
                        sleep=sleep)
    except ValueError as exc:
        return Outcome(run=_with(base, reason=str(exc)), findings=())
    props = {"provider": provider, "api_url": client.base_url, "subject": where.subject,
             "token_from": where.token_source}
    try:
        checks = (github.check if provider == "github" else gitlab.check)(client, where.subject)
    except ApiError as exc:
        return Outcome(run=_with(base, reason=client.scrub(str(exc)), properties={
            **props, "requests": client.requests, "rate_limit_retries": client.retries},
            duration_s=time.monotonic() - started), findings=())
    checks = [Check(rule=c.rule, status=c.status, value=client.scrub(c.value),
                    detail=client.scrub(c.detail)) for c in checks]
    findings = tuple(f for c in checks if (f := to_finding(
        c, provider=provider, subject=where.subject, version=base.version or "")) is not None)
    run = _with(base, status=RunStatus.OK, raw_count=len(findings),
                duration_s=time.monotonic() - started,
                properties={**props, "requests": client.requests,
                            "rate_limit_retries": client.retries,
                            "checks": [c.to_dict() for c in checks]})
    return Outcome(run=run, findings=findings, checks=tuple(checks))


def _with(run: ScannerRun, **changes: object) -> ScannerRun:
    return replace(run, **changes)  # type: ignore[arg-type]
