"""GitHub checks (REST API v3, the shapes documented at docs.github.com/rest).

The repository itself must be readable: that is configuration, and failing to read it
fails the platform run. Each setting behind it that the token cannot see (403, a 404 that
hides a resource, a field left out for non-owners) is *unknown*, never "off".
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from ..model import Severity
from .checks import Check, Rule, failed, passed, unknown
from .http import ApiError, Client, Response

DOCS = "https://docs.github.com/rest"
ADMIN = "repository admin (classic PAT `repo`, or fine-grained Administration: read)"

ORG_2FA = Rule(
    id="github/org-2fa-required", title="Organisation requires two-factor authentication",
    severity=Severity.HIGH, scope="organisation owner (classic PAT `admin:org`)",
    remediation="Organisation settings > Authentication security > Require two-factor "
                "authentication", reference=f"{DOCS}/orgs/orgs#get-an-organization")
MEMBERS_2FA = Rule(
    id="github/org-members-without-2fa", title="No organisation member lacks 2FA",
    severity=Severity.HIGH, scope="organisation owner (fine-grained Members: read)",
    remediation="Require 2FA for the organisation, or remove the members listed",
    reference=f"{DOCS}/orgs/members#list-organization-members")
FORCE_PUSH = Rule(
    id="github/default-branch-force-push", title="Default branch blocks force pushes",
    severity=Severity.HIGH, scope=ADMIN,
    remediation="Add a ruleset on the default branch with 'Block force pushes' "
                "(non_fast_forward), or uncheck 'Allow force pushes' in branch protection",
    reference=f"{DOCS}/repos/rules#get-rules-for-a-branch")
DELETION = Rule(
    id="github/default-branch-deletion", title="Default branch cannot be deleted",
    severity=Severity.MEDIUM, scope=ADMIN,
    remediation="Add a ruleset on the default branch with 'Restrict deletions'",
    reference=f"{DOCS}/repos/rules#get-rules-for-a-branch")
REVIEWS = Rule(
    id="github/default-branch-reviews", title="Default branch requires an approving review",
    severity=Severity.HIGH, scope=ADMIN,
    remediation="Require a pull request with at least one approval before merging "
                "(ruleset 'Require a pull request before merging')",
    reference=f"{DOCS}/repos/rules#get-rules-for-a-branch")
STATUS_CHECKS = Rule(
    id="github/default-branch-status-checks", title="Default branch requires status checks",
    severity=Severity.MEDIUM, scope=ADMIN,
    remediation="Require status checks (this gate among them) to pass before merging",
    reference=f"{DOCS}/repos/rules#get-rules-for-a-branch")
SECRET_SCANNING = Rule(
    id="github/secret-scanning", title="Secret scanning is enabled", severity=Severity.HIGH,
    scope="repository admin, organisation owner or security manager",
    remediation="Settings > Code security > Secret scanning: enable",
    reference=f"{DOCS}/repos/repos#get-a-repository")
PUSH_PROTECTION = Rule(
    id="github/secret-push-protection", title="Secret scanning push protection is enabled",
    severity=Severity.MEDIUM, scope="repository admin, organisation owner or security manager",
    remediation="Settings > Code security > Push protection: enable",
    reference=f"{DOCS}/repos/repos#get-a-repository")
DEPENDABOT = Rule(
    id="github/dependabot-alerts", title="Dependabot alerts are enabled",
    severity=Severity.MEDIUM, scope=ADMIN,
    remediation="Settings > Code security > Dependabot alerts: enable",
    reference=f"{DOCS}/repos/repos#check-if-vulnerability-alerts-are-enabled-for-a-repository")
WORKFLOW_TOKEN = Rule(
    id="github/workflow-token-read-only", title="Default workflow token is read-only",
    severity=Severity.MEDIUM, scope=ADMIN,
    remediation="Settings > Actions > General > Workflow permissions: 'Read repository "
                "contents and packages permissions'",
    reference=f"{DOCS}/actions/permissions#get-default-workflow-permissions-for-a-repository")
RULES = (ORG_2FA, MEMBERS_2FA, FORCE_PUSH, DELETION, REVIEWS, STATUS_CHECKS, SECRET_SCANNING,
         PUSH_PROTECTION, DEPENDABOT, WORKFLOW_TOKEN)


class RepoUnreadable(ApiError):
    """The repository named by the configuration cannot be read at all."""


def _hidden(resp: Response) -> str:
    return f"HTTP {resp.status}" + (f" ({resp.message()})" if resp.message() else "")


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def check(client: Client, repository: str) -> list[Check]:
    owner, _, name = repository.partition("/")
    base = f"/repos/{_q(owner)}/{_q(name)}"
    repo = client.get(base)
    if not repo.ok or not isinstance(repo.body, dict):
        raise RepoUnreadable(f"cannot read repository {repository}: {_hidden(repo)}")
    info: Mapping[str, Any] = repo.body
    branch = str(info.get("default_branch") or "")
    if not branch:
        raise RepoUnreadable(f"repository {repository} has no default branch")
    out = _org(client, info, owner)
    out += _branch(client, base, branch)
    out += _security(info)
    alerts = client.get(f"{base}/vulnerability-alerts")
    out.append(passed(DEPENDABOT, "enabled") if alerts.status == 204
               else failed(DEPENDABOT, "disabled", "Dependabot alerts are off")
               if alerts.status == 404 else unknown(DEPENDABOT, _hidden(alerts)))
    wf = client.get(f"{base}/actions/permissions/workflow")
    perm = wf.body.get("default_workflow_permissions") if wf.ok and \
        isinstance(wf.body, dict) else None
    out.append(passed(WORKFLOW_TOKEN, perm) if perm == "read"
               else failed(WORKFLOW_TOKEN, perm, "workflows get a read-write token by default")
               if perm == "write" else unknown(WORKFLOW_TOKEN, _hidden(wf) if not wf.ok
                                               else perm))
    return out


def _org(client: Client, repo: Mapping[str, Any], owner: str) -> list[Check]:
    kind = (repo.get("owner") or {}).get("type") if isinstance(repo.get("owner"), dict) else None
    if kind != "Organization":
        note = "the repository belongs to a user account: no organisation 2FA policy applies"
        return [unknown(ORG_2FA, kind or "absent", note), unknown(MEMBERS_2FA, kind, note)]
    org = client.get(f"/orgs/{_q(owner)}")
    out: list[Check] = []
    flag = org.body.get("two_factor_requirement_enabled") if org.ok and \
        isinstance(org.body, dict) else None
    if flag is True:
        out.append(passed(ORG_2FA, True))
    elif flag is False:
        out.append(failed(ORG_2FA, False, f"organisation {owner} does not require 2FA"))
    else:  # left out for anyone but an owner: unknown, not off
        out.append(unknown(ORG_2FA, "absent" if org.ok else _hidden(org)))
    resp, members = client.get_all(f"/orgs/{_q(owner)}/members?filter=2fa_disabled&per_page=100")
    if not resp.ok:
        out.append(unknown(MEMBERS_2FA, _hidden(resp)))
    elif members:
        logins = [str(m.get("login")) for m in members if isinstance(m, dict)][:10]
        out.append(failed(MEMBERS_2FA, f"{len(members)} member(s)",
                          f"members without 2FA: {', '.join(logins)}"))
    else:
        out.append(passed(MEMBERS_2FA, "0 members"))
    return out


def _branch(client: Client, base: str, branch: str) -> list[Check]:
    rules_resp, rules = client.get_all(f"{base}/rules/branches/{_q(branch)}?per_page=100")
    types = {str(r.get("type")): r for r in rules if isinstance(r, dict)}
    prot = client.get(f"{base}/branches/{_q(branch)}/protection")
    classic: Mapping[str, Any] | None = prot.body if prot.ok and isinstance(prot.body, dict) \
        else None
    # 404 "Branch not protected" is an answer (no classic protection); other 404s hide it
    none_classic = prot.status == 404 and "not protected" in prot.message().lower()
    readable = rules_resp.ok and (classic is not None or none_classic)
    why = _hidden(rules_resp) if not rules_resp.ok else _hidden(prot)

    def enabled(key: str) -> bool:
        value = (classic or {}).get(key)
        return bool(value.get("enabled")) if isinstance(value, dict) else False

    def reviewers() -> int:
        n = int(((types.get("pull_request") or {}).get("parameters") or {})
                .get("required_approving_review_count") or 0) if "pull_request" in types else 0
        prr = (classic or {}).get("required_pull_request_reviews")
        if isinstance(prr, dict):
            n = max(n, int(prr.get("required_approving_review_count") or 0))
        return n

    out: list[Check] = []
    for rule, key, classic_key, what in (
            (FORCE_PUSH, "non_fast_forward", "allow_force_pushes", "force pushes to"),
            (DELETION, "deletion", "allow_deletions", "deleting")):
        if key in types or (classic is not None and not enabled(classic_key)):
            out.append(passed(rule, f"blocked on {branch}"))
        elif readable:
            out.append(failed(rule, "allowed", f"{what} {branch} allowed (no rule blocks it)"))
        else:
            out.append(unknown(rule, why))
    n = reviewers()
    out.append(passed(REVIEWS, f"{n} approval(s)") if n >= 1 else
               failed(REVIEWS, f"{n} approvals", f"{branch} can be changed without review")
               if readable else unknown(REVIEWS, why))
    has_checks = "required_status_checks" in types or \
        isinstance((classic or {}).get("required_status_checks"), dict)
    out.append(passed(STATUS_CHECKS, "required") if has_checks else
               failed(STATUS_CHECKS, "none", f"{branch} merges without status checks")
               if readable else unknown(STATUS_CHECKS, why))
    return out


def _security(repo: Mapping[str, Any]) -> list[Check]:
    sa = repo.get("security_and_analysis")
    out = []
    for rule, key in ((SECRET_SCANNING, "secret_scanning"),
                      (PUSH_PROTECTION, "secret_scanning_push_protection")):
        status = (sa.get(key) or {}).get("status") if isinstance(sa, dict) and \
            isinstance(sa.get(key), dict) else None
        out.append(passed(rule, status) if status == "enabled" else
                   failed(rule, status, f"{key.replace('_', ' ')} is {status}")
                   if status == "disabled" else
                   unknown(rule, "absent", "security_and_analysis is left out for this token; "
                                           f"needs {rule.scope}"))
    return out
