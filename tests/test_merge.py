"""Dedup across scanners and target assignment."""

from __future__ import annotations

from posture_gate.merge import dedup
from posture_gate.model import Category, Finding, Location, Package, Severity
from posture_gate.targets import TargetRule, assign_targets


def dep(scanner: str, ids: tuple[str, ...], sev: Severity, name: str = "PyYAML",
        version: str = "5.1", fixes: tuple[str, ...] = ()) -> Finding:
    return Finding(fingerprint=(scanner[0] * 63) + ids[0][-1], scanner=scanner,
                   scanner_version="1", found_by=(scanner,), rule_id=ids[0],
                   category=Category.DEPENDENCY, severity=sev, title="t", message="m",
                   package=Package(ecosystem="PyPI", name=name, version=version,
                                   fixed_versions=fixes),
                   identifiers=ids, location=Location(path="requirements.txt", start_line=1))


def code(scanner: str, rule: str, lines: tuple[int, int], cwe: str, path: str = "a.py",
         sev: Severity = Severity.HIGH) -> Finding:
    return Finding(fingerprint=(scanner[0] * 60) + rule[-4:].rjust(4, "0"), scanner=scanner,
                   scanner_version="1", found_by=(scanner,), rule_id=rule,
                   category=Category.CODE, severity=sev, title="t", message="m",
                   location=Location(path=path, start_line=lines[0], end_line=lines[1]),
                   identifiers=(cwe,))


def test_pip_audit_and_trivy_same_package_overlapping_alias_merge() -> None:
    a = dep("pip-audit", ("PYSEC-2020-96", "CVE-2020-1747"), Severity.UNKNOWN, fixes=("5.3.1",))
    t = dep("trivy", ("CVE-2020-1747",), Severity.CRITICAL, name="pyyaml", fixes=("5.3.1", "6"))
    out, merges = dedup([a, t])
    assert len(out) == 1 and len(merges) == 1
    m = out[0]
    assert m.found_by == ("pip-audit", "trivy") and m.fingerprint == a.fingerprint
    assert m.severity is Severity.CRITICAL  # a known severity beats unknown
    assert m.merged_fingerprints == (t.fingerprint,)
    assert m.package is not None and m.package.fixed_versions == ("5.3.1", "6")


def test_no_merge_without_common_id_or_with_other_version() -> None:
    a = dep("pip-audit", ("PYSEC-1", "CVE-1"), Severity.HIGH)
    assert len(dedup([a, dep("trivy", ("CVE-2",), Severity.HIGH)])[0]) == 2
    assert len(dedup([a, dep("trivy", ("CVE-1",), Severity.HIGH, version="5.2")])[0]) == 2


def test_bandit_semgrep_overlap_with_common_cwe_merge_only_across_scanners() -> None:
    b = code("bandit", "B602", (12, 12), "CWE-78")
    s = code("semgrep", "pg-shell", (11, 13), "CWE-78", sev=Severity.CRITICAL)
    out, _ = dedup([b, s])
    assert len(out) == 1 and out[0].rule_id == "B602" and out[0].severity is Severity.CRITICAL
    assert len(dedup([b, code("semgrep", "x", (14, 15), "CWE-78")])[0]) == 2  # no overlap
    assert len(dedup([b, code("semgrep", "x", (12, 12), "CWE-89")])[0]) == 2  # other CWE
    assert len(dedup([b, code("bandit", "B605", (12, 12), "CWE-78")])[0]) == 2  # same scanner
    assert len(dedup([b, code("semgrep", "x", (12, 12), "CWE-78", path="b.py")])[0]) == 2


def test_targets_by_path_then_first_match() -> None:
    rules = [TargetRule(name="api", paths=("services/api",)),
             TargetRule(name="worker", paths=("services/*/jobs.py", "worker")),
             TargetRule(name="img", image="registry/app:1")]
    fs = [code("bandit", "B1", (1, 1), "CWE-1", path="services/api/views.py"),
          code("bandit", "B2", (1, 1), "CWE-1", path="services/api2/jobs.py"),
          code("bandit", "B3", (1, 1), "CWE-1", path="other.py"),
          dep("trivy", ("CVE-9",), Severity.LOW).with_(image="registry/app:1", location=None)]
    assert [f.target for f in assign_targets(fs, rules)] == ["api", "worker", None, "img"]
