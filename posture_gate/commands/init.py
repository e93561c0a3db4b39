"""`init`: a starter policy and the CI files that run it (posture_gate/init.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import init
from ..fsutil import write_atomic


@click.command("init")
@click.option("--github", is_flag=True, help=f"Also write {init.GITHUB}.")
@click.option("--gitlab", is_flag=True, help=f"Also write {init.GITLAB}.")
@click.option("--pre-commit", "pre_commit", is_flag=True, help=f"Also write {init.PRE_COMMIT}.")
@click.option("--dir", "directory", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Project root.")
@click.option("--repo", default=init.DEFAULT_REPO, show_default=True,
              help="Where posture-gate is published (pre-commit repo, action, template).")
@click.option("--rev", default=init.DEFAULT_REV, show_default=True,
              help="Tag or commit of --repo to use (a commit SHA pins it).")
@click.option("--action", help="`uses:` for the GitHub action (default: from --repo, --rev).")
@click.option("--gitlab-include", "include",
              help="URL (remote) or project path (local) of .gitlab-ci-template.yml.")
@click.option("--advisories", help="Directory of OSV records, written into the policy.")
def init_cmd(github: bool, gitlab: bool, pre_commit: bool, directory: Path, repo: str,
             rev: str, action: str | None, include: str | None,
             advisories: str | None) -> None:
    """Write a starter posture-gate.yml and, per flag, the CI files that run it."""
    optional = ((init.GITHUB, github), (init.GITLAB, gitlab), (init.PRE_COMMIT, pre_commit))
    wanted = [n for n, on in optional if on]
    # An existing policy is kept, and the CI files are added next to it (`init` then
    # `init --github`); an existing CI file is never overwritten: then nothing is written.
    policy_path = directory / init.POLICY
    keep_policy = policy_path.exists() or policy_path.is_symlink()
    if keep_policy and not wanted:
        click.echo(f"posture-gate: error: {policy_path} exists; not overwriting it (add "
                   "--github, --gitlab or --pre-commit to write the CI files next to it)",
                   err=True)
        sys.exit(2)
    for name in wanted:
        if (directory / name).exists() or (directory / name).is_symlink():
            click.echo(f"posture-gate: error: {directory / name} exists; not overwriting it",
                       err=True)
            sys.exit(2)
    # GitHub actions are pinned to a commit; a tag is looked up once, here.
    sha = init.resolve_rev(repo, rev) if github and action is None else None
    if github and action is None and sha is None:
        click.echo(f"posture-gate: warning: could not resolve {rev} in {repo} to a commit; "
                   f"pin the action's `uses:` to a commit SHA", err=True)
    files = init.plan_files(github=github, gitlab=gitlab, pre_commit=pre_commit, repo=repo,
                            rev=rev, sha=sha, action=action, include=include,
                            advisories=advisories)
    for name, text in files.items():
        if name == init.POLICY and keep_policy:
            click.echo(f"kept {policy_path} (exists)")
            continue
        write_atomic(directory / name, text)
        click.echo(f"wrote {directory / name}")


COMMANDS = (init_cmd,)
