"""Each adapter's parser on the real tool outputs kept in tests/data/samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posture_gate.errors import ScannerError, ScannerOutputError
from posture_gate.model import Category, Confidence, Severity
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import Job, ScanContext
from tests.conftest import SAMPLES

TOKEN = "ghp_R8sK2mQ7vX4zL9nT3wY6bH1cJ5dF0gA2eP8u"  # the fake token in the samples


def ctx(tmp_path: Path) -> ScanContext:
    return ScanContext(root=tmp_path, work_dir=tmp_path)


def job(name: str, **meta: object) -> Job:
    return Job(name=name, scanner=name, argv=(name,), meta=meta)


# the exit code each sample was produced with (tests/data/samples/SOURCE.md)
SAMPLE_EXIT = {"bandit.json": 1, "pip-audit.json": 1, "pip-audit-skip.json": 1}


def parse(name: str, sample: str, tmp_path: Path, **meta: object):  # type: ignore[no-untyped-def]
    data = (SAMPLES / sample).read_bytes()
    return SCANNERS[name].parse(data, job(name, **meta), ctx(tmp_path), "1.0",
                                exit_code=SAMPLE_EXIT.get(sample, 0))


def test_every_registered_scanner_has_the_interface() -> None:
    for name, s in SCANNERS.items():
        assert s.name == name
        assert s.ok_exit_codes and s.tested_versions
        assert s.version_argv()[0] == s.executable


def test_bandit_sample(tmp_path: Path) -> None:
    parsed = parse("bandit", "bandit.json", tmp_path)
    assert parsed.raw_count == len(parsed.findings) == 10
    by_rule = {(f.rule_id, f.location.start_line): f for f in parsed.findings if f.location}
    b602 = by_rule[("B602", 12)]
    assert b602.severity is Severity.HIGH and b602.confidence is Confidence.HIGH
    assert b602.category is Category.CODE and "CWE-78" in b602.identifiers
    assert b602.location is not None and b602.location.path == "app/views.py"
    # bandit quotes the literal in B105: never copied
    assert all(TOKEN not in f.message for f in parsed.findings)


def test_bandit_parse_errors_fail_closed_unless_allowed(tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match="could not analyse 1 file"):
        parse("bandit", "bandit-errors.json", tmp_path)
    parsed = parse("bandit", "bandit-errors.json", tmp_path, allow_parse_errors=True)
    assert parsed.warnings and "pgbad/bad.py" in parsed.warnings[0]


def test_bandit_redacts_kept_output() -> None:
    doc = json.loads((SAMPLES / "bandit.json").read_text())
    text = json.dumps(SCANNERS["bandit"].redact(doc))
    assert TOKEN not in text and '"code"' not in text


def test_semgrep_sample_maps_both_severity_scales(tmp_path: Path) -> None:
    parsed = parse("semgrep", "semgrep.json", tmp_path,
                   rule_ids=["subprocess-shell-true", "pickle-loads-new-sev",
                             "yaml-load-critical", "insecure-hash-md5", "requests-verify-false"])
    sev = {f.rule_id: f.severity for f in parsed.findings}
    assert sev == {
        "subprocess-shell-true": Severity.HIGH,  # ERROR
        "pickle-loads-new-sev": Severity.HIGH,  # HIGH
        "yaml-load-critical": Severity.CRITICAL,
        "insecure-hash-md5": Severity.MEDIUM,  # WARNING
        "requests-verify-false": Severity.INFO,
    }


def test_semgrep_strips_config_path_prefix(tmp_path: Path) -> None:
    doc = json.loads((SAMPLES / "semgrep.json").read_text())
    doc["results"][0]["check_id"] = "work.main.policies.semgrep.subprocess-shell-true"
    data = json.dumps(doc).encode()
    parsed = SCANNERS["semgrep"].parse(data, job("semgrep", rule_ids=["subprocess-shell-true"]),
                                       ctx(tmp_path), "1")
    assert parsed.findings[0].rule_id == "subprocess-shell-true"


def test_semgrep_warn_errors_are_warnings_error_level_fails(tmp_path: Path) -> None:
    parsed = parse("semgrep", "semgrep-errors.json", tmp_path)
    assert parsed.warnings and "Syntax error" in parsed.warnings[0]
    doc = json.loads((SAMPLES / "semgrep-errors.json").read_text())
    doc["errors"][0]["level"] = "error"
    with pytest.raises(ScannerOutputError, match="reported an error"):
        SCANNERS["semgrep"].parse(json.dumps(doc).encode(), job("semgrep"), ctx(tmp_path), "1")


def test_pip_audit_sample(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("pyyaml==5.1\nrequests==2.19.0\n")
    parsed = parse("pip-audit", "pip-audit.json", tmp_path, requirements=["requirements.txt"])
    assert parsed.raw_count == len(parsed.findings) == 5
    f = next(f for f in parsed.findings if f.rule_id == "PYSEC-2020-96")
    assert f.category is Category.DEPENDENCY
    assert f.package is not None and f.package.fixed_versions == ("5.3.1",)
    assert {"CVE-2020-1747", "GHSA-6757-jp84-gxfx"} <= set(f.identifiers)
    assert f.location is not None and (f.location.path, f.location.start_line) == \
        ("requirements.txt", 1)
    assert f.severity is Severity.UNKNOWN  # no advisory records given: honest unknown


def test_pip_audit_skipped_dependency_fails_unless_accepted(tmp_path: Path) -> None:
    # A package pip-audit could not audit is a scanner error (issue 11), unless the policy
    # accepts it by name; then it is a warning.
    with pytest.raises(ScannerError, match=r"1 package\(s\) could not be audited: foo \(URL"):
        parse("pip-audit", "pip-audit-skip.json", tmp_path, requirements=[])
    parsed = parse("pip-audit", "pip-audit-skip.json", tmp_path, requirements=[],
                   allow_unaudited=["foo"])
    assert any("not audited, accepted by allow_unaudited: foo" in w for w in parsed.warnings)


def test_trivy_misconfig_and_secret_sample(tmp_path: Path) -> None:
    parsed = parse("trivy", "trivy-fs-misconfig-secret.json", tmp_path)
    cats = sorted((f.category.value, f.rule_id) for f in parsed.findings)
    assert cats == [("architecture", "DS-0002"), ("architecture", "DS-0005"),
                    ("architecture", "DS-0026"), ("secret", "github-pat")]
    secret = next(f for f in parsed.findings if f.category is Category.SECRET)
    assert secret.severity is Severity.CRITICAL
    assert "****" not in secret.message and "GITHUB_TOKEN" not in secret.message
    whole_file = next(f for f in parsed.findings if f.rule_id == "DS-0002")
    assert whole_file.location is not None and whole_file.location.start_line is None


def test_trivy_vulnerabilities_golden(tmp_path: Path) -> None:
    parsed = parse("trivy", "trivy-pip.json.golden", tmp_path)
    got = {(f.rule_id, f.package.name, f.package.fixed_versions, f.severity)
           for f in parsed.findings if f.package}
    assert got == {("CVE-2019-14806", "Werkzeug", ("0.15.3",), Severity.HIGH),
                   ("CVE-2020-28724", "Werkzeug", ("0.11.6",), Severity.MEDIUM)}
    assert all(f.category is Category.DEPENDENCY for f in parsed.findings)


@pytest.mark.parametrize("name", sorted(SCANNERS))
@pytest.mark.parametrize("data, reason", [
    (b"", "produced no output"),
    (b"Traceback (most recent call last):\n  boom", "not valid JSON"),
    (b'{"results": [', "not valid JSON"),
    (b"[1, 2]", "expected an object"),
    (b'{"unexpected": true}', "unexpected"),
])
def test_bad_output_is_a_scanner_error(name: str, data: bytes, reason: str,
                                       tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match=reason):
        SCANNERS[name].parse(data, job(name), ctx(tmp_path), "1")
