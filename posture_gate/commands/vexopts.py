"""--vex FILE (repeatable) and the policy's `vex:` list -> the statements a scan applies.

VEX files are trusted input, the CI owner's: a file inside the scanned tree could be edited
by the change under review to suppress its own findings, so a --vex naming one is refused
unless the policy names the same file (`vex:` is trusted-only, policy/trust.py)."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..policy.model import Policy
from ..vex import apply
from ..vex.data import Statement
from .threatopts import inside


def vex_statements(policy: Policy, root: Path, given: tuple[Path, ...]
                   ) -> tuple[Statement, ...]:
    base = Path(policy.base_dir) if policy.base_dir else root
    named = [base / p for p in policy.vex]
    trusted = {p.resolve() for p in named}
    for path in given:
        if inside(path, root) and path.resolve() not in trusted:
            raise UsageError(f"--vex: {path} is inside the scanned tree, which may edit it; "
                             "refused unless the trusted policy names it (vex:)",
                             "keep VEX documents outside the repository")
    paths = list(dict.fromkeys([*named, *given]))  # later files win at equal times
    return apply.load(paths) if paths else ()
