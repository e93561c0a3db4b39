"""Trusted and repository-local policies: the code under review may only tighten its gate.

A policy the CI configuration names (a preset, a file outside the scanned tree, or a file read
from a git ref such as the merge target) is *trusted*. The scanned tree's own
`posture-gate.yml` is *repository-local*: with a trusted policy given it may only tighten it
(lower a limit, add a gate, a scanner or a target, raise a timeout). Anything that loosens,
and every key that reaches outside the scan (args, advisory sources, caches, notices, hosts,
environment variable names), is refused with `file:line: key: why` (the rules: tighten.py).
Without a trusted policy (a developer's machine) the repository-local policy applies as it
is.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import PolicyError, UsageError
from ..model import PolicyTrust
from ..textutil import one_line
from .model import Policy
from .schema import PRESETS, PolicyDoc, build, parse_text, read_doc
from .tighten import _option_default as _option_default  # re-exported: moved to tighten.py
from .tighten import _option_rules as _option_rules
from .tighten import merge

LOCAL_POLICY = "posture-gate.yml"


@dataclass(frozen=True, kw_only=True)
class Resolved:
    policy: Policy
    trust: PolicyTrust


def _load(reader: Callable[[], tuple[list[str], PolicyDoc | None]]) -> PolicyDoc:
    problems, doc = reader()
    if problems or doc is None:
        extra = f" (+{len(problems) - 1} more; run 'posture-gate policy validate')" \
            if len(problems) > 1 else ""
        raise PolicyError(problems[0] + extra)
    return doc


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              timeout=30, check=False, stdin=subprocess.DEVNULL,
                              env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"--policy-ref: cannot run git ({exc})") from None


def read_ref(spec: str, root: Path, *, today: datetime.date) -> PolicyDoc:
    """REF:PATH from the scanned repository's git history. A missing file at a real ref
    means the trusted policy is the default preset (the target branch has none yet)."""
    ref, sep, path = spec.partition(":")
    if not sep or not ref or not path or ref.startswith("-"):
        raise UsageError(f"--policy-ref: expected REF:PATH (e.g. origin/main:{LOCAL_POLICY}), "
                         f"got '{one_line(spec, 80)}'")
    found = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        detail = one_line(found.stderr.decode("utf-8", "replace"), 200)
        raise UsageError(f"--policy-ref: '{one_line(ref, 80)}' is not a commit in {root}"
                         + (f" ({detail})" if detail else ""),
                         "fetch it first, e.g. git fetch --depth=1 origin BRANCH")
    commit = found.stdout.decode().strip()
    blob = _git(root, "show", f"{commit}:{path}")
    if blob.returncode != 0:
        problems, doc = read_doc("default", today=today)
        assert doc is not None, problems  # noqa: S101 - the bundled preset is valid
        return PolicyDoc(source=f"preset:default ({spec}: no such file)", text=doc.text,
                         data=doc.data, lines=doc.lines, base_dir=None)
    if len(blob.stdout) > 1 << 20:
        raise PolicyError(f"{spec}: policy larger than 1 MiB")
    try:
        text = blob.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{spec}: not UTF-8 text") from None
    return _load(lambda: parse_text(spec, text, today=today, base_dir=None))


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _local_doc(path: Path, root: Path, *, today: datetime.date) -> PolicyDoc:
    if path.is_symlink():
        raise PolicyError(f"{path}: the repository-local policy is a symbolic link; refused")
    return _load(lambda: read_doc(str(path), today=today))


def resolve(policy: str | None, policy_ref: str | None, root: Path, *,
            today: datetime.date) -> Resolved:
    """The effective policy for a scan of `root` and who decided it.

    Trusted: `--policy-ref REF:PATH`, a preset, or a `--policy` file outside the tree.
    Repository-local: `--policy` naming a file inside the tree, else `root/posture-gate.yml`.
    """
    if policy and policy_ref:
        raise UsageError("give --policy or --policy-ref, not both")
    trusted: PolicyDoc | None = None
    local_path: Path | None = root / LOCAL_POLICY
    if policy_ref:
        trusted = read_ref(policy_ref, root, today=today)
    elif policy:
        is_preset = policy in PRESETS and not Path(policy).exists()
        if not is_preset and _inside(Path(policy), root):
            # In the tree: the code under review wrote it. Named, so it must exist.
            if not (Path(policy).is_file() or Path(policy).is_symlink()):
                raise PolicyError(f"{policy}: policy file not found",
                                  f"or use a preset: {', '.join(PRESETS)}")
            local_path = Path(policy)
        else:
            trusted = _load(lambda: read_doc(policy, today=today))
    local = _local_doc(local_path, root, today=today) \
        if local_path is not None and (local_path.is_file() or local_path.is_symlink()) \
        else None
    if trusted is None and local is None:
        trusted = _load(lambda: read_doc("default", today=today))
    if local is None:
        assert trusted is not None  # noqa: S101 - set just above
        return Resolved(policy=build(trusted), trust=PolicyTrust(trusted=trusted.source))
    if trusted is None:
        return Resolved(policy=build(local), trust=PolicyTrust(trusted=None, local=local.source))
    data, tightened = merge(trusted, local, today=today)
    digest = hashlib.sha256(f"{trusted.digest}\n{local.digest}".encode()).hexdigest()
    effective = PolicyDoc(source=trusted.source, text=trusted.text, data=data,
                          lines=trusted.lines, base_dir=trusted.base_dir)
    pol = build(effective, source=f"{trusted.source} + {local.source}", digest=digest)
    return Resolved(policy=pol, trust=PolicyTrust(trusted=trusted.source, local=local.source,
                                                  tightened=tuple(tightened)))
