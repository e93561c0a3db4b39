"""Documented response shapes (docs.github.com/rest, docs.gitlab.com/ee/api), trimmed to the
fields posture-gate reads plus a few neighbours, loaded into a FakeApi."""

from __future__ import annotations

from typing import Any

from .fakeapi import Answer, FakeApi

GH_TOKEN = "ghs_" + "Q2x8Vb7nZr4Kd1Lm9Pq3Ts6Wy0Ae5Fh2Jk7N"
GL_TOKEN = "glpat-" + "Zx81Kq7Rt2Mv9Lw4Np6B"
JOB_TOKEN = "64_" + "Hq9Lz2Wc7Rt5Vm3Xp8Ks"

REPO = "/repos/acme/web"


def gh_repo(*, admin: bool) -> dict[str, Any]:
    repo: dict[str, Any] = {
        "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "web",
        "full_name": "acme/web", "private": True, "default_branch": "main",
        "owner": {"login": "acme", "id": 1, "type": "Organization", "site_admin": False},
        "permissions": {"admin": admin, "maintain": admin, "push": True, "triage": True,
                        "pull": True},
    }
    if admin:  # left out (or null) unless the caller is an admin or security manager
        repo["security_and_analysis"] = {
            "advanced_security": {"status": "enabled"},
            "secret_scanning": {"status": "enabled"},
            "secret_scanning_push_protection": {"status": "disabled"},
        }
    return repo


def gh_org(*, owner: bool, two_factor: bool = False) -> dict[str, Any]:
    org: dict[str, Any] = {"login": "acme", "id": 1, "type": "Organization",
                           "public_repos": 2, "members_can_create_repositories": True}
    if owner:  # the field is only in an owner's view
        org["two_factor_requirement_enabled"] = two_factor
    return org


def github_owner(api: FakeApi, *, rules_force_push_blocked: bool = False) -> None:
    """An owner/admin token: org without required 2FA, 3 members without 2FA on two pages,
    rules on main (two pages) without non_fast_forward, no classic protection."""
    api.json(REPO, gh_repo(admin=True))
    api.json("/orgs/acme", gh_org(owner=True))
    page2 = "/orgs/acme/members?filter=2fa_disabled&per_page=100&page=2"
    api.json("/orgs/acme/members?filter=2fa_disabled&per_page=100",
             [{"login": "alice", "id": 2, "type": "User"}, {"login": "bob", "id": 3}],
             Link=f'<{{url}}{page2}>; rel="next", <{{url}}{page2}>; rel="last"')
    api.json(page2, [{"login": "carol", "id": 4, "type": "User"}])
    rules_page2 = f"{REPO}/rules/branches/main?per_page=100&page=2"
    first = [{"type": "pull_request", "ruleset_source_type": "Repository",
              "ruleset_source": "acme/web", "ruleset_id": 42,
              "parameters": {"required_approving_review_count": 1,
                             "dismiss_stale_reviews_on_push": True,
                             "require_code_owner_review": False,
                             "require_last_push_approval": False,
                             "required_review_thread_resolution": False}}]
    second: list[dict[str, Any]] = [{"type": "deletion", "ruleset_source_type": "Repository",
                                     "ruleset_source": "acme/web", "ruleset_id": 42}]
    if rules_force_push_blocked:
        second.append({"type": "non_fast_forward", "ruleset_source_type": "Repository",
                       "ruleset_source": "acme/web", "ruleset_id": 42})
    api.json(f"{REPO}/rules/branches/main?per_page=100", first,
             Link=f'<{{url}}{rules_page2}>; rel="next"')
    api.json(rules_page2, second)
    api.json(f"{REPO}/branches/main/protection",
             {"message": "Branch not protected",
              "documentation_url": "https://docs.github.com/rest/branches/branch-protection"},
             status=404)
    api.add(f"{REPO}/vulnerability-alerts", Answer(status=204))
    api.json(f"{REPO}/actions/permissions/workflow",
             {"default_workflow_permissions": "write", "can_approve_pull_request_reviews": True})


def github_member(api: FakeApi) -> None:
    """A repository-scoped GITHUB_TOKEN: no owner fields, no admin endpoints; the rules
    (readable with Metadata: read) block force pushes."""
    api.json(REPO, gh_repo(admin=False))
    api.json("/orgs/acme", gh_org(owner=False))
    api.json("/orgs/acme/members?filter=2fa_disabled&per_page=100",
             {"message": "Only owners can use this filter.",
              "documentation_url": "https://docs.github.com/rest/orgs/members"}, status=422)
    api.json(f"{REPO}/rules/branches/main?per_page=100",
             [{"type": "non_fast_forward", "ruleset_source_type": "Organization",
               "ruleset_source": "acme", "ruleset_id": 7}])
    denied = {"message": "Resource not accessible by integration",
              "documentation_url": "https://docs.github.com/rest"}
    api.json(f"{REPO}/branches/main/protection", denied, status=403)
    api.json(f"{REPO}/vulnerability-alerts", denied, status=403)
    api.json(f"{REPO}/actions/permissions/workflow", denied, status=403)


PROJECT = "/projects/77"


def gl_project(*, group: bool = True) -> dict[str, Any]:
    return {"id": 77, "name": "web", "path_with_namespace": "acme/web",
            "default_branch": "main", "visibility": "private",
            "namespace": {"id": 9, "name": "acme", "path": "acme", "full_path": "acme",
                          "kind": "group" if group else "user"},
            "only_allow_merge_if_pipeline_succeeds": True,
            "only_allow_merge_if_all_discussions_are_resolved": False}


def gitlab_owner(api: FakeApi) -> None:
    """A maintainer's read_api token on Ultimate: group without 2FA, main protected (second
    page) with force push allowed and Developer push, one approval rule, push protection off."""
    api.json(PROJECT, gl_project())
    api.json("/groups/9", {"id": 9, "name": "acme", "path": "acme", "full_path": "acme",
                           "require_two_factor_authentication": False,
                           "two_factor_grace_period": 48, "default_branch_protection": 2})
    page2 = f"{PROJECT}/protected_branches?per_page=100&page=2"
    api.json(f"{PROJECT}/protected_branches?per_page=100",
             [{"id": 1, "name": "release/*", "allow_force_push": False,
               "push_access_levels": [{"access_level": 40,
                                       "access_level_description": "Maintainers"}],
               "merge_access_levels": [{"access_level": 40}]}],
             Link=f'<{{url}}{page2}>; rel="next"', X_Next_Page="2", X_Page="1")
    api.json(page2, [{"id": 2, "name": "main", "allow_force_push": True,
                      "code_owner_approval_required": False,
                      "push_access_levels": [{"id": 5, "access_level": 30,
                                              "access_level_description": "Developers + "
                                                                          "Maintainers"}],
                      "merge_access_levels": [{"access_level": 30}]}])
    api.json(f"{PROJECT}/approval_rules?per_page=100",
             [{"id": 1, "name": "All Members", "rule_type": "any_approver",
               "approvals_required": 1, "eligible_approvers": []}])
    api.json(f"{PROJECT}/security_settings",
             {"secret_push_protection_enabled": False,
              "container_scanning_for_registry_enabled": False})


def gitlab_job_token(api: FakeApi) -> None:
    """CI_JOB_TOKEN: the project is readable, settings endpoints are 403/404."""
    api.json(PROJECT, gl_project())
    api.json("/groups/9", {"message": "403 Forbidden"}, status=403)
    api.json(f"{PROJECT}/protected_branches?per_page=100", {"message": "403 Forbidden"},
             status=403)
    api.json(f"{PROJECT}/approval_rules?per_page=100", {"message": "404 Not found"}, status=404)
    api.json(f"{PROJECT}/security_settings", {"message": "403 Forbidden"}, status=403)
