"""GitLab checks (REST API v4, the shapes documented at docs.gitlab.com/ee/api).

As for GitHub: the project must be readable (else the run fails); a setting the token or
the tier cannot see (401/403/404) is *unknown* with the scope or tier it needs.
"""

from __future__ import annotations

import fnmatch
import urllib.parse
from collections.abc import Mapping
from typing import Any

from ..model import Severity
from .checks import Check, Rule, failed, passed, unknown
from .github import RepoUnreadable
from .http import Client, Response

DOCS = "https://docs.gitlab.com/ee/api"
READ_API = "a token with `read_api` (GITLAB_TOKEN; CI_JOB_TOKEN cannot read settings)"
MAINTAINER = 40  # access levels: 0 no one, 30 Developer, 40 Maintainer, 60 Admin
MAX_GRACE_HOURS = 168

GROUP_2FA = Rule(
    id="gitlab/group-2fa-required", title="Group requires two-factor authentication",
    severity=Severity.HIGH, scope=f"{READ_API}; group owner to see the setting",
    remediation="Group > Settings > General > Permissions: 'Require all users in this group "
                f"to set up two-factor authentication', grace period at most "
                f"{MAX_GRACE_HOURS} hours", reference=f"{DOCS}/groups.html")
PROTECTED = Rule(
    id="gitlab/default-branch-protected", title="Default branch is protected",
    severity=Severity.HIGH, scope=READ_API,
    remediation="Settings > Repository > Protected branches: protect the default branch",
    reference=f"{DOCS}/protected_branches.html")
FORCE_PUSH = Rule(
    id="gitlab/default-branch-force-push", title="Default branch blocks force pushes",
    severity=Severity.HIGH, scope=READ_API,
    remediation="Protected branches: turn off 'Allowed to force push' on the default branch",
    reference=f"{DOCS}/protected_branches.html")
PUSH_ACCESS = Rule(
    id="gitlab/default-branch-push-access",
    title="Only maintainers (or no one) may push to the default branch",
    severity=Severity.MEDIUM, scope=READ_API,
    remediation="Protected branches: 'Allowed to push and merge' = Maintainers or No one",
    reference=f"{DOCS}/protected_branches.html")
APPROVALS = Rule(
    id="gitlab/approval-rules", title="Merge requests need at least one approval",
    severity=Severity.HIGH, scope=f"{READ_API}; Premium tier",
    remediation="Settings > Merge requests > Approval rules: require at least 1 approval",
    reference=f"{DOCS}/merge_request_approvals.html")
PUSH_PROTECTION = Rule(
    id="gitlab/secret-push-protection", title="Secret push protection is enabled",
    severity=Severity.MEDIUM, scope=f"{READ_API}; Developer role; Ultimate tier",
    remediation="Secure > Security configuration: enable secret push protection",
    reference=f"{DOCS}/project_security_settings.html")
PIPELINE = Rule(
    id="gitlab/pipeline-must-succeed", title="Merge requires a successful pipeline",
    severity=Severity.LOW, scope=READ_API,
    remediation="Settings > Merge requests: 'Pipelines must succeed'",
    reference=f"{DOCS}/projects.html")
RULES = (GROUP_2FA, PROTECTED, FORCE_PUSH, PUSH_ACCESS, APPROVALS, PUSH_PROTECTION, PIPELINE)


def _hidden(resp: Response) -> str:
    return f"HTTP {resp.status}" + (f" ({resp.message()})" if resp.message() else "")


def check(client: Client, project: str) -> list[Check]:
    base = f"/projects/{urllib.parse.quote(project, safe='')}"
    proj = client.get(base)
    if not proj.ok or not isinstance(proj.body, dict):
        raise RepoUnreadable(f"cannot read project {project}: {_hidden(proj)}")
    info: Mapping[str, Any] = proj.body
    branch = str(info.get("default_branch") or "")
    out = [_group(client, info)]
    out += _protection(client, base, branch)
    out.append(_approvals(client, base))
    sec = client.get(f"{base}/security_settings")
    flag = None
    if sec.ok and isinstance(sec.body, dict):
        flag = sec.body.get("secret_push_protection_enabled",
                            sec.body.get("pre_receive_secret_detection_enabled"))
    out.append(passed(PUSH_PROTECTION, True) if flag is True else
               failed(PUSH_PROTECTION, False, "secret push protection is off") if flag is False
               else unknown(PUSH_PROTECTION, _hidden(sec) if not sec.ok else "absent"))
    pipe = info.get("only_allow_merge_if_pipeline_succeeds")
    out.append(passed(PIPELINE, True) if pipe is True else
               failed(PIPELINE, False, "merge requests can merge with a failed pipeline")
               if pipe is False else unknown(PIPELINE, "absent"))
    return out


def _group(client: Client, project: Mapping[str, Any]) -> Check:
    raw = project.get("namespace")
    ns: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    if ns.get("kind") != "group" or not isinstance(ns.get("id"), int):
        return unknown(GROUP_2FA, ns.get("kind") or "absent",
                       "the project belongs to a user namespace: no group 2FA policy applies")
    resp = client.get(f"/groups/{ns['id']}")
    body = resp.body if resp.ok and isinstance(resp.body, dict) else {}
    flag, grace = body.get("require_two_factor_authentication"), body.get("two_factor_grace_period")
    if flag is False:
        return failed(GROUP_2FA, False, f"group {ns.get('full_path')} does not require 2FA")
    if flag is not True:
        return unknown(GROUP_2FA, _hidden(resp) if not resp.ok else "absent")
    if isinstance(grace, int) and grace > MAX_GRACE_HOURS:
        return failed(GROUP_2FA, f"required, grace period {grace} h",
                      f"2FA is required but may be put off for {grace} hours")
    return passed(GROUP_2FA, f"required, grace period {grace} h")


def _protection(client: Client, base: str, branch: str) -> list[Check]:
    resp, items = client.get_all(f"{base}/protected_branches?per_page=100")
    if not resp.ok:
        return [unknown(r, _hidden(resp)) for r in (PROTECTED, FORCE_PUSH, PUSH_ACCESS)]
    match = [b for b in items if isinstance(b, dict) and branch and
             fnmatch.fnmatchcase(branch, str(b.get("name") or ""))]
    if not match:
        note = f"{branch or 'the default branch'} is not protected"
        return [failed(PROTECTED, "unprotected", note), failed(FORCE_PUSH, "allowed", note),
                failed(PUSH_ACCESS, "anyone with write access", note)]
    out = [passed(PROTECTED, f"protected ({len(match)} rule(s))")]
    if any(b.get("allow_force_push") is True for b in match):
        out.append(failed(FORCE_PUSH, True, f"force pushes to {branch} are allowed"))
    else:
        out.append(passed(FORCE_PUSH, False))
    levels = [lvl.get("access_level") for b in match for lvl in b.get("push_access_levels") or []
              if isinstance(lvl, dict)]
    low = [n for n in levels if isinstance(n, int) and 0 < n < MAINTAINER]
    out.append(failed(PUSH_ACCESS, f"access levels {levels}",
                      f"access level {min(low)} (Developer) may push to {branch}")
               if low else passed(PUSH_ACCESS, f"access levels {levels}"))
    return out


def _approvals(client: Client, base: str) -> Check:
    resp, rules = client.get_all(f"{base}/approval_rules?per_page=100")
    if not resp.ok:
        return unknown(APPROVALS, _hidden(resp))
    need = max((int(r.get("approvals_required") or 0) for r in rules if isinstance(r, dict)),
               default=0)
    return passed(APPROVALS, f"{need} approval(s)") if need >= 1 else \
        failed(APPROVALS, f"{need} approvals", "merge requests merge without approval")
