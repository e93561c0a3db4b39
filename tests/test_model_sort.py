"""sort_findings remembers the last tuple it sorted (every report sorts the same verdict);
a different tuple, or a list, is sorted afresh."""

from __future__ import annotations

from posture_gate.model import Category, Finding, Location, Severity, sort_findings


def finding(n: int, severity: Severity) -> Finding:
    return Finding(fingerprint=f"{n:064x}", scanner="bandit", scanner_version="1",
                   rule_id=f"B{n}", category=Category.CODE, severity=severity,
                   title="t", message="m", location=Location(path=f"a{n % 3}.py"))


def test_sorted_once_per_tuple_and_fresh_for_others() -> None:
    fs = tuple(finding(n, (Severity.LOW, Severity.HIGH, Severity.CRITICAL)[n % 3])
               for n in range(9))
    first = sort_findings(fs)
    assert [f.severity for f in first[:3]] == [Severity.CRITICAL] * 3
    assert sort_findings(fs) is first
    other = tuple(reversed(fs))
    assert sort_findings(other) == first and sort_findings(other) is not first
    assert sort_findings(list(fs)) == first
    assert sort_findings(fs[:2]) == tuple(sorted(fs[:2], key=lambda f: -f.severity.rank))
    assert sort_findings(()) == ()
