"""--kev / --epss (and the trusted policy's `threat:` block) -> the ThreatData a scan uses.

The files are read before any scanner runs, so a bad or stale file is exit 2 at once. A file
inside the scanned tree is the code under review's to edit (drop a KEV entry, lower a
score): a flag naming one is refused unless the policy names the same file (`threat.*` is
trusted-only, policy/trust.py)."""

from __future__ import annotations

import datetime
from pathlib import Path

from ..errors import UsageError
from ..policy.model import Policy
from ..threat import feeds


def inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _pick(flag: str, given: Path | None, named: str | None, policy: Policy,
          root: Path) -> Path | None:
    base = Path(policy.base_dir) if policy.base_dir else root
    from_policy = base / named if named else None
    if given is None:
        return from_policy
    if inside(given, root) and not (from_policy and from_policy.resolve() == given.resolve()):
        raise UsageError(f"{flag}: {given} is inside the scanned tree, which may edit it; "
                         "refused unless the trusted policy names it (threat.kev/threat.epss)",
                         "keep threat data outside the repository")
    return given


def threat_data(policy: Policy, root: Path, *, kev: Path | None, epss: Path | None,
                today: datetime.date) -> feeds.ThreatData | None:
    """None when neither the flags nor the policy name a file."""
    kev_path = _pick("--kev", kev, policy.threat.kev, policy, root)
    epss_path = _pick("--epss", epss, policy.threat.epss, policy, root)
    if kev_path is None and epss_path is None:
        return None
    return feeds.load(kev=kev_path, epss=epss_path, today=today,
                      max_age_days=policy.threat.max_age_days)
