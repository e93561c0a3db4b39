"""How many dependency findings no advisory record could rank: said in every report, since
a policy's `treat_unknown_as` decides how they count and teams ask what feeds would help."""

from __future__ import annotations

from collections.abc import Sequence

from ..model import Category, Finding, Severity

_DEPENDENCY = (Category.DEPENDENCY, Category.OS)


def unknown_dependencies(findings: Sequence[Finding]) -> tuple[int, int]:
    """(severity unknown, all) over the run's dependency and OS-package findings."""
    deps = [f for f in findings if f.category in _DEPENDENCY]
    return sum(1 for f in deps if f.severity is Severity.UNKNOWN), len(deps)


def unknown_line(findings: Sequence[Finding]) -> str | None:
    unknown, total = unknown_dependencies(findings)
    if not unknown:
        return None
    return (f"severity unknown for {unknown} of {total} dependency/OS package finding(s): no "
            "CVSS vector or GHSA severity in any of their aliases' advisory records")
