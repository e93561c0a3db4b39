"""`posture-gate init`: a starter policy and the CI files that run it.

Never overwrites: an existing posture-gate.yml is kept and the CI files asked for are added
next to it; when a CI file it would write exists, nothing is written and the command exits 2
naming the file. Templates are package data (posture_gate/templates/).
"""

from __future__ import annotations

import datetime
import re
import subprocess
from importlib import resources

import click

from . import __version__

# Where posture-gate itself is published (pre-commit repo, GitHub action, GitLab template).
DEFAULT_REPO = "https://github.com/posture-gate/posture-gate"
DEFAULT_REV = f"v{__version__}"

POLICY = "posture-gate.yml"
GITHUB = ".github/workflows/posture-gate.yml"
GITLAB = ".gitlab-ci.yml"
PRE_COMMIT = ".pre-commit-config.yaml"
EXAMPLE_IGNORE_DAYS = 60


def template(name: str) -> str:
    return (resources.files("posture_gate") / "templates" / name).read_text(encoding="utf-8")


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    left = re.search(r"@@[A-Z_]+@@", text)
    if left:  # a template bug, never user input
        raise RuntimeError(f"template placeholder not filled: {left.group(0)}")
    return text


SHA = re.compile(r"^[0-9a-f]{40}$")


def resolve_rev(repo: str, rev: str) -> str | None:
    """The commit a tag or branch names, by `git ls-remote` (None when it cannot be had)."""
    if SHA.match(rev):
        return rev
    try:
        out = subprocess.run(["git", "ls-remote", "--", repo, rev, f"{rev}^{{}}"],
                             capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    refs: dict[str, str] = {}
    for line in out.stdout.splitlines():
        sha, _, name = line.partition("\t")
        refs[name.strip()] = sha.strip()
    for name in (f"refs/tags/{rev}^{{}}", f"refs/tags/{rev}", f"refs/heads/{rev}"):
        if SHA.match(refs.get(name, "")):
            return refs[name]
    return None


def action_ref(repo: str, rev: str, sha: str | None) -> str:
    """'https://github.com/o/n' -> 'o/n@<sha> # rev' (the `uses:` of the GitHub action)."""
    m = re.match(r"^(?:https://github\.com/)?([\w.-]+/[\w.-]+?)(?:\.git)?/?$", repo)
    if not m:
        raise click.UsageError(f"--repo: not a GitHub repository, pass --action: {repo}")
    if sha is None:
        return f"{m.group(1)}@{rev}"
    return f"{m.group(1)}@{sha}" + (f" # {rev}" if sha != rev else "")


def gitlab_include(value: str | None, repo: str, rev: str) -> str:
    if value is None:
        m = re.match(r"^https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?$", repo)
        value = (f"https://raw.githubusercontent.com/{m.group(1)}/{rev}/.gitlab-ci-template.yml"
                 if m else f"{repo.rstrip('/')}/-/raw/{rev}/.gitlab-ci-template.yml")
    kind = "remote" if re.match(r"^https?://", value) else "local"
    return f"{kind}: {_yaml_str(value)}"


def _yaml_str(value: str) -> str:
    """A double-quoted YAML scalar (JSON string syntax is valid YAML)."""
    import json

    return json.dumps(value)


def plan_files(*, github: bool, gitlab: bool, pre_commit: bool, repo: str, rev: str,
               sha: str | None, action: str | None, include: str | None,
               advisories: str | None, today: datetime.date | None = None) -> dict[str, str]:
    adv = f"advisories: {_yaml_str(advisories)}   # OSV records served to pip-audit\n" \
        if advisories else ""
    # the commented ignore example must validate when uncommented: max_ignore_days is 90
    expires = (today or datetime.date.today()) + datetime.timedelta(days=EXAMPLE_IGNORE_DAYS)
    files = {POLICY: _fill(template("posture-gate.yml"),
                           {"ADVISORIES": adv, "EXPIRES": expires.isoformat()})}
    if github:
        files[GITHUB] = _fill(template("github-workflow.yml"),
                              {"ACTION": action or action_ref(repo, rev, sha)})
    if gitlab:
        files[GITLAB] = _fill(template("gitlab-ci.yml"),
                              {"INCLUDE": gitlab_include(include, repo, rev)})
    if pre_commit:
        files[PRE_COMMIT] = _fill(template("pre-commit-config.yaml"),
                                  {"REPO": _yaml_str(repo), "REV": _yaml_str(rev)})
    return files
