"""A fixed synthetic run for the reporter tests: every category, a merged finding, a
suppressed one, a rule with two severities, an OS finding with no file, a failed required
scanner, a skipped optional one, failed and passed gates, a baseline."""

from __future__ import annotations

import pytest

from posture_gate.model import (
    Category,
    Confidence,
    Cvss,
    Finding,
    Location,
    Package,
    RunStatus,
    ScannerRun,
    ScanResult,
    Severity,
    Suppression,
)
from posture_gate.policy.evaluate import GateResult, Verdict
from posture_gate.policy.model import GateKind, VerdictStatus

IMAGE = "registry.example.com/team/app:1.2@sha256:" + "ab" * 32


def fp(n: int) -> str:
    return f"{n:02d}" * 32


def findings() -> tuple[Finding, ...]:
    return (
        Finding(fingerprint=fp(1), scanner="bandit", scanner_version="1.9.4",
                found_by=("bandit", "semgrep"), merged_fingerprints=(fp(21),),
                rule_id="B602", category=Category.CODE, severity=Severity.HIGH,
                confidence=Confidence.HIGH, title="subprocess_popen_with_shell_equals_true",
                message="subprocess call with shell=True identified, security issue.",
                location=Location(path="app/jobs.py", start_line=22, end_line=23),
                identifiers=("CWE-78", "OWASP-A03:2021"),
                references=("https://bandit.readthedocs.io/en/1.9.4/plugins/b602.html",
                            "https://cwe.mitre.org/data/definitions/78.html")),
        Finding(fingerprint=fp(2), scanner="bandit", scanner_version="1.9.4",
                found_by=("bandit",), rule_id="B602", category=Category.CODE,
                severity=Severity.MEDIUM, confidence=Confidence.LOW,
                title="subprocess_popen_with_shell_equals_true",
                message="subprocess call with shell=True seems safe, but may be changed.",
                location=Location(path="app/views.py", start_line=55, end_line=55),
                identifiers=("CWE-78",)),
        Finding(fingerprint=fp(3), scanner="bandit", scanner_version="1.9.4",
                found_by=("bandit",), rule_id="B311", category=Category.CODE,
                severity=Severity.LOW, confidence=Confidence.HIGH, title="blacklist",
                message="Standard pseudo-random generators are not suitable for security.",
                location=Location(path="app/util.py", start_line=4, end_line=4),
                identifiers=("CWE-330",),
                suppression=Suppression(kind="ignore", reason="not used for security",
                                        owner="team-a", expires="2027-01-31")),
        Finding(fingerprint=fp(4), scanner="trivy", scanner_version="0.76.0",
                found_by=("trivy",), rule_id="DS-0002", category=Category.ARCHITECTURE,
                severity=Severity.HIGH, title="Image user should not be 'root'",
                message="Specify at least 1 USER command in Dockerfile with non-root user "
                        "as argument",
                location=Location(path="Dockerfile"),
                references=("https://avd.aquasec.com/misconfig/ds-0002",)),
        Finding(fingerprint=fp(5), scanner="trivy", scanner_version="0.76.0",
                found_by=("trivy",), rule_id="github-pat", category=Category.SECRET,
                severity=Severity.CRITICAL, title="GitHub Personal Access Token",
                message="GitHub Personal Access Token found in app/settings.py "
                        "(value not shown)",
                location=Location(path="app/settings.py", start_line=15, end_line=15),
                identifiers=("CWE-798",)),
        Finding(fingerprint=fp(6), scanner="pip-audit", scanner_version="2.10.1",
                found_by=("pip-audit", "trivy"), merged_fingerprints=(fp(26),),
                rule_id="PYSEC-2023-221", category=Category.DEPENDENCY,
                severity=Severity.HIGH, severity_source="PYSEC-2023-221 CVSS 3.1",
                title="werkzeug 0.15.3: PYSEC-2023-221",
                message="Werkzeug multipart parsing denial of service.",
                location=Location(path="requirements.txt", start_line=2, end_line=2),
                package=Package(ecosystem="PyPI", name="werkzeug", version="0.15.3",
                                fixed_versions=("2.3.8", "3.0.1"),
                                purl="pkg:pypi/werkzeug@0.15.3"),
                identifiers=("PYSEC-2023-221", "CVE-2023-46136", "GHSA-hrfv-mqp8-q5rw"),
                references=("https://osv.dev/vulnerability/PYSEC-2023-221",),
                cvss=Cvss(version="3.1", vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
                          score=7.5)),
        Finding(fingerprint=fp(7), scanner="pip-audit", scanner_version="2.10.1",
                found_by=("pip-audit",), rule_id="PYSEC-2018-66", category=Category.DEPENDENCY,
                severity=Severity.UNKNOWN, title="flask 0.12.2: PYSEC-2018-66",
                message="Flask before 0.12.3 allows denial of service via crafted JSON.",
                location=Location(path="requirements.txt"),
                package=Package(ecosystem="PyPI", name="flask", version="0.12.2",
                                fixed_versions=("0.12.3",)),
                identifiers=("PYSEC-2018-66", "CVE-2018-1000656"),
                references=("https://osv.dev/vulnerability/PYSEC-2018-66",
                            "ftp://example.invalid/not-a-web-link")),
        Finding(fingerprint=fp(8), scanner="trivy", scanner_version="0.76.0",
                found_by=("trivy",), rule_id="CVE-2024-0001", category=Category.OS,
                severity=Severity.MEDIUM, title="openssl 3.0.11-1: CVE-2024-0001",
                message="OpenSSL example vulnerability.",
                package=Package(ecosystem="debian", name="openssl", version="3.0.11-1",
                                fixed_versions=()),
                identifiers=("CVE-2024-0001", "CWE-400"),
                references=("https://avd.aquasec.com/nvd/cve-2024-0001",),
                cvss=Cvss(version="4.0", vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/"
                          "VI:N/VA:N/SC:N/SI:N/SA:N", score=8.7),
                image=IMAGE, layer="sha256:" + "cd" * 32),
        Finding(fingerprint=fp(9), scanner="trivy", scanner_version="0.76.0",
                found_by=("trivy",), rule_id="CVE-2023-30861", category=Category.DEPENDENCY,
                severity=Severity.HIGH, title="flask 2.2.0: CVE-2023-30861",
                message="Flask session cookie disclosure.",
                location=Location(path="usr/local/lib/python3.11/site-packages/"
                                       "Flask-2.2.0.dist-info/METADATA"),
                package=Package(ecosystem="PyPI", name="flask", version="2.2.0",
                                fixed_versions=("2.2.5", "2.3.2")),
                identifiers=("CVE-2023-30861", "GHSA-m2qf-hxjv-5gpq", "CWE-539"),
                image=IMAGE),
        Finding(fingerprint=fp(10), scanner="semgrep", scanner_version="1.185.0",
                found_by=("semgrep",), rule_id="pg-flask-debug", category=Category.CODE,
                severity=Severity.INFO, confidence=Confidence.MEDIUM, title="pg-flask-debug",
                message="Flask debug mode is on.",
                location=Location(path="run.py", start_line=10, end_line=10),
                identifiers=("CWE-489",), suppression=Suppression(kind="inline")),
    )


def scan_result(fs: tuple[Finding, ...] | None = None,
                scanners: tuple[ScannerRun, ...] | None = None) -> ScanResult:
    return ScanResult(
        tool_version="0.1.0",
        started_at="2026-11-26T19:03:14Z",
        finished_at="2026-11-26T19:03:26Z",
        root="/ci/builds/webapp",
        policy="posture-gate.yml",
        policy_digest="d" * 64,
        commit="6db0d111a7c68769f9a1e44cc2c26f248661313d",
        branch="main",
        image=IMAGE,
        scanners=scanners if scanners is not None else (
            ScannerRun(name="pip-audit", scanner="pip-audit", status=RunStatus.OK,
                       version="2.10.1", tested_version=True, duration_s=3.5, exit_code=1,
                       raw_count=2, raw_output="raw/pip-audit.json"),
            ScannerRun(name="bandit", scanner="bandit", status=RunStatus.OK, version="1.9.4",
                       tested_version=True, duration_s=1.5, exit_code=1, raw_count=3,
                       raw_output="raw/bandit.json",
                       warnings=("app/broken.py: syntax error, file skipped",)),
            ScannerRun(name="semgrep", scanner="semgrep", status=RunStatus.FAILED,
                       reason="exit 7: invalid configuration", version="1.185.0",
                       duration_s=0.8, exit_code=7),
            ScannerRun(name="trivy", scanner="trivy", status=RunStatus.OK, version="0.76.0",
                       duration_s=2.8, exit_code=0, raw_count=3, properties={"mode": "fs"}),
            ScannerRun(name="trivy-image", scanner="trivy", status=RunStatus.OK,
                       version="0.76.0", duration_s=4.1, exit_code=0, raw_count=2,
                       properties={"mode": "image", "image": IMAGE}),
            ScannerRun(name="trivy-image-2", scanner="trivy", status=RunStatus.TIMEOUT,
                       required=False, reason="timed out after 300s", version="0.76.0",
                       duration_s=300.0),
        ),
        findings=fs if fs is not None else findings(),
    )


def verdict_for(run: ScanResult, gates: tuple[GateResult, ...] | None = None) -> Verdict:
    errors = tuple(f"{s.name}: {s.reason or s.status.value}" for s in run.scanners
                   if s.blocks_evaluation)
    if gates is None:
        gates = (
            GateResult(name="code.max.high", kind=GateKind.CATEGORY, severity="high", limit=0,
                       count=1, passed=False, baseline_count=0, fingerprints=(fp(1),)),
            GateResult(name="code.max.medium", kind=GateKind.CATEGORY, severity="medium",
                       limit=10, count=2, passed=True, baseline_count=2),
            GateResult(name="dependency.max.high", kind=GateKind.CATEGORY, severity="high",
                       limit=0, count=3, passed=False, baseline_count=1,
                       fingerprints=(fp(6), fp(9), fp(7)), unknown=1),
            GateResult(name="secret.max.any", kind=GateKind.CATEGORY, severity="any", limit=0,
                       count=1, passed=False, baseline_count=1, fingerprints=(fp(5),)),
            GateResult(name="os.max.critical", kind=GateKind.CATEGORY, severity="critical",
                       limit=0, count=0, passed=True, target="prod", baseline_count=0),
        )
    status = VerdictStatus.ERROR if errors else (
        VerdictStatus.FAIL if any(not g.passed for g in gates) else VerdictStatus.PASS)
    return Verdict(status=status, gates=gates, findings=run.findings,
                   new_fingerprints=frozenset({fp(1), fp(6), fp(9)}), errors=errors,
                   warnings=("trivy-image-2 skipped (optional): timed out after 300s",
                             "posture-gate.yml:12: ignore of B311 expires in 3 day(s) "
                             "(2027-01-31, owner team-a)"),
                   baseline="baseline.json")


@pytest.fixture
def synthetic() -> tuple[ScanResult, Verdict]:
    run = scan_result()
    return run, verdict_for(run)
