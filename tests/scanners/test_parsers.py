"""Each adapter's parser on the real tool outputs kept in tests/data/samples."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from posture_gate.errors import ScannerError, ScannerOutputError
from posture_gate.model import Category, Confidence, Severity
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import Job, Parsed, ScanContext
from tests.conftest import SAMPLES

TOKEN = "ghp_R8sK2mQ7vX4zL9nT3wY6bH1cJ5dF0gA2eP8u"  # the fake token in the samples


def ctx(tmp_path: Path) -> ScanContext:
    return ScanContext(root=tmp_path, work_dir=tmp_path)


def job(name: str, **meta: object) -> Job:
    return Job(name=name, scanner=name, argv=(name,), meta=meta)


# the exit code each sample was produced with (tests/data/samples/SOURCE.md)
SAMPLE_EXIT = {"bandit.json": 1, "pip-audit.json": 1, "pip-audit-skip.json": 1}


def parse(name: str, sample: str, tmp_path: Path, **meta: object) -> Parsed:
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


def test_semgrep_a_file_it_could_not_analyse_fails_unless_allowed(tmp_path: Path) -> None:
    # the sample: a file with a merge conflict marker, parsed only in part
    with pytest.raises(ScannerOutputError, match=r"could not analyse 1 file\(s\): Syntax "
                       r"error at line pgbad2/bad.py:3: `<<<<<<<` was unexpected") as caught:
        parse("semgrep", "semgrep-errors.json", tmp_path)
    assert "semgrep.allow_analysis_errors: true" in (caught.value.hint or "")
    parsed = parse("semgrep", "semgrep-errors.json", tmp_path, allow_analysis_errors=True)
    assert parsed.warnings == ("not analysed: Syntax error at line pgbad2/bad.py:3: "
                               "`<<<<<<<` was unexpected",)
    # a warning about no file (a rule, the run) stays a warning
    doc = json.loads((SAMPLES / "semgrep-errors.json").read_text())
    del doc["errors"][0]["path"]
    unfiled = SCANNERS["semgrep"].parse(json.dumps(doc).encode(), job("semgrep"),
                                        ctx(tmp_path), "1")
    assert unfiled.warnings and unfiled.warnings[0].startswith("Syntax error")


def test_semgrep_error_level_fails(tmp_path: Path) -> None:
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
    # zizmor's output is an array: its errors say so
    (b"[1, 2]", r"expected an object|\[0\] is int"),
    (b'{"unexpected": true}', "unexpected|expected an array"),
])
def test_bad_output_is_a_scanner_error(name: str, data: bytes, reason: str,
                                       tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match=reason):
        SCANNERS[name].parse(data, job(name), ctx(tmp_path), "1")


# --- strict shapes (issue 11): every structure checked, the field named ------------------

def _mutated(sample: str, change: Callable[[Any], object]) -> bytes:
    doc = json.loads((SAMPLES / sample).read_text())
    change(doc)
    return json.dumps(doc).encode()


def _parse_doc(name: str, data: bytes, tmp_path: Path, exit_code: int = 0,
               argv: tuple[str, ...] | None = None, **meta: object) -> Parsed:
    j = Job(name=name, scanner=name, argv=argv or (name,), meta=meta)
    return SCANNERS[name].parse(data, j, ctx(tmp_path), "1", exit_code=exit_code)


def _first(doc: Any, cls: str) -> Any:
    return next(r for r in doc["Results"] if r["Class"] == cls)


def _set_in(path: str, value: object) -> Callable[[Any], None]:
    """Set doc[a][b]... where path is 'a.b.0.c' or 'a/b/0/c' (digits index lists)."""
    def change(doc: Any) -> None:
        keys: list[Any] = [int(k) if k.isdigit() else k
                           for k in path.split("/" if "/" in path else ".")]
        for k in keys[:-1]:
            doc = doc[k]
        doc[keys[-1]] = value
    return change


TRIVY_VULN = "trivy-pip.json.golden"
TRIVY_FS = "trivy-fs-misconfig-secret.json"


@pytest.mark.parametrize("results", [{}, "", 0, None, {"Target": "x"}])
def test_trivy_results_not_a_list_is_an_error(results: object, tmp_path: Path) -> None:
    data = _mutated(TRIVY_FS, _set_in("Results", results))
    with pytest.raises(ScannerOutputError, match=r"trivy: unexpected output shape: Results is "):
        _parse_doc("trivy", data, tmp_path)


def test_trivy_no_results_at_all_is_a_clean_scan(tmp_path: Path) -> None:
    """trivy omits Results when nothing was found (verified with trivy 0.76 on a clean dir)."""
    parsed = _parse_doc("trivy", b'{"SchemaVersion": 2, "ArtifactName": "."}', tmp_path)
    assert parsed.findings == () and parsed.raw_count == 0


@pytest.mark.parametrize("cls, reason", [
    ("Secret", "Results[2].Class is 'Secret', expected one of config, lang-pkgs, license"),
    ("SECRET", "Results[2].Class is 'SECRET'"),
    ("custom", "Results[2].Class is 'custom'"),
    (None, "Results[2].Class is null"),
    (7, "Results[2].Class is int"),
])
def test_trivy_unknown_class_holding_a_secret_is_an_error(cls: object, reason: str,
                                                          tmp_path: Path) -> None:
    def change(doc: Any) -> None:
        assert doc["Results"][2]["Class"] == "secret"
        doc["Results"][2]["Class"] = cls
    with pytest.raises(ScannerOutputError, match=re.escape(reason)):
        _parse_doc("trivy", _mutated(TRIVY_FS, change), tmp_path)


def test_trivy_missing_class_on_a_result_with_findings_is_an_error(tmp_path: Path) -> None:
    data = _mutated(TRIVY_FS, lambda d: d["Results"][2].pop("Class"))
    with pytest.raises(ScannerOutputError, match=r"Results\[2\]\.Class is missing on a result "
                                                 "with Secrets"):
        _parse_doc("trivy", data, tmp_path)


def test_trivy_license_results_are_known_and_skipped(tmp_path: Path) -> None:
    def change(doc: Any) -> None:
        doc["Results"] += [{"Target": "OS Packages", "Class": "license", "Licenses": []},
                           {"Target": "LICENSE", "Class": "license-file", "Licenses": []}]
    parsed = _parse_doc("trivy", _mutated(TRIVY_FS, change), tmp_path)
    assert len(parsed.findings) == 4


def test_trivy_findings_in_a_result_of_another_class_are_an_error(tmp_path: Path) -> None:
    def change(doc: Any) -> None:
        _first(doc, "lang-pkgs")["Secrets"] = _first(doc, "secret")["Secrets"]
    with pytest.raises(ScannerOutputError, match=r"Results\[0\]\.Secrets in a lang-pkgs result"):
        _parse_doc("trivy", _mutated(TRIVY_FS, change), tmp_path)


@pytest.mark.parametrize("path, value, field", [
    ("Results.0.Vulnerabilities", {}, "Results[0].Vulnerabilities is dict"),
    ("Results.0.Vulnerabilities", "none", "Results[0].Vulnerabilities is str"),
    ("Results.0.Vulnerabilities.0", "CVE-1", "Results[0].Vulnerabilities[0] is str"),
    ("Results.0.Vulnerabilities.1.PkgIdentifier", "pkg:pypi/x", "Results[0].Vulnerabilities[1]"
     ".PkgIdentifier is str"),
    ("Results.0.Vulnerabilities.0.PkgIdentifier.PURL", 3, "PkgIdentifier.PURL is int"),
    ("Results.0.Vulnerabilities.0.CweIDs", "CWE-1", "Results[0].Vulnerabilities[0].CweIDs is str"),
    ("Results.0.Vulnerabilities.0.CweIDs", [331], "Vulnerabilities[0].CweIDs[0] is int"),
    ("Results.0.Vulnerabilities.0.VendorIDs", [None], "Vulnerabilities[0].VendorIDs[0] is null"),
    ("Results.0.Vulnerabilities.0.CVSS.nvd.V3Score", "7.5", "CVSS.nvd.V3Score is str"),
    ("Results.0.Vulnerabilities.0.CVSS.nvd.V3Score", 75, "CVSS.nvd.V3Score is 75, not a CVSS"),
    ("Results.0.Vulnerabilities.0.CVSS.nvd", [], "Vulnerabilities[0].CVSS.nvd is list"),
    ("Results.0.Vulnerabilities.0.CVSS", "high", "Vulnerabilities[0].CVSS is str"),
    ("Results.0.Vulnerabilities.0.Severity", "SEVERE", "Vulnerabilities[0].Severity is 'SEVERE'"),
    ("Results.0.Vulnerabilities.0.Severity", None, "Vulnerabilities[0].Severity is null"),
    ("Results.0.Vulnerabilities.0.FixedVersion", 1.0, "Vulnerabilities[0].FixedVersion is float"),
    ("Results.0.Vulnerabilities.0.InstalledVersion", True, "InstalledVersion is bool"),
    ("Results.0.Vulnerabilities.0.Layer", "sha256:x", "Vulnerabilities[0].Layer is str"),
    ("Results.0.Vulnerabilities.0.VulnerabilityID", 5, "Vulnerabilities[0].VulnerabilityID is int"),
    ("Results.0.Packages", {"Name": "x"}, "Results[0].Packages is dict"),
    ("Results.0.Packages.0", "Flask", "Results[0].Packages[0] is str"),
    ("Results.0.Packages.0.Locations", "1", "Results[0].Packages[0].Locations is str"),
    ("Results.0.Packages.0.Locations.0.StartLine", "2", "Locations[0].StartLine is str"),
    ("Results.0.Packages.0.Locations.0.StartLine", -1, "Locations[0].StartLine is -1, not a"),
    ("Results.0.Type", ["pip"], "Results[0].Type is list"),
    ("Results.0.Target", None, "Results[0].Target is null"),
    ("Results.0.Target", "a\x00b", "Results[0].Target is not a file path"),
    ("SchemaVersion", "2", "SchemaVersion is str"),
])
def test_trivy_vulnerability_fields_of_the_wrong_type_are_named(path: str, value: object,
                                                               field: str, tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match=re.escape(field)):
        _parse_doc("trivy", _mutated(TRIVY_VULN, _set_in(path, value)), tmp_path)


@pytest.mark.parametrize("path, value, field", [
    ("Results.1.Misconfigurations", "x", "Results[1].Misconfigurations is str"),
    ("Results.1.Misconfigurations.0", 1, "Results[1].Misconfigurations[0] is int"),
    ("Results.1.Misconfigurations.0.CauseMetadata", "Dockerfile", "Misconfigurations[0]"
     ".CauseMetadata is str"),
    ("Results.1.Misconfigurations.1.CauseMetadata.StartLine", "2",
     "CauseMetadata.StartLine is str"),
    ("Results.1.Misconfigurations.0.Status", "fail", "Misconfigurations[0].Status is 'fail'"),
    ("Results.1.Misconfigurations.0.ID", None, "Misconfigurations[0].ID is null"),
    ("Results.1.MisconfSummary", [], "Results[1].MisconfSummary is list"),
    ("Results.1.MisconfSummary.Failures", 2, "MisconfSummary.Failures is 2 but 3"),
    ("Results.2.Secrets", {"RuleID": "x"}, "Results[2].Secrets is dict"),
    ("Results.2.Secrets.0", "github-pat", "Results[2].Secrets[0] is str"),
    ("Results.2.Secrets.0.StartLine", 1.5, "Secrets[0].StartLine is float"),
    ("Results.2.Secrets.0.Severity", "Critical", "Secrets[0].Severity is 'Critical'"),
    ("Results.2.Secrets.0.Match", 0, "Secrets[0].Match is int"),
])
def test_trivy_misconfig_and_secret_fields_of_the_wrong_type_are_named(
        path: str, value: object, field: str, tmp_path: Path) -> None:
    doc = json.loads((SAMPLES / TRIVY_FS).read_text())
    assert [r["Class"] for r in doc["Results"]] == ["lang-pkgs", "config", "secret"]
    with pytest.raises(ScannerOutputError, match=re.escape(field)):
        _parse_doc("trivy", _mutated(TRIVY_FS, _set_in(path, value)), tmp_path)


def test_trivy_summary_must_agree_with_the_failures_listed(tmp_path: Path) -> None:
    data = _mutated(TRIVY_FS, lambda d: d["Results"][1].pop("Misconfigurations"))
    with pytest.raises(ScannerOutputError, match=r"MisconfSummary.Failures is 3 but 0 "):
        _parse_doc("trivy", data, tmp_path)


def test_trivy_passed_checks_are_not_findings(tmp_path: Path) -> None:
    def change(doc: Any) -> None:
        doc["Results"][1]["Misconfigurations"][0]["Status"] = "PASS"
        doc["Results"][1]["MisconfSummary"]["Failures"] = 2
    parsed = _parse_doc("trivy", _mutated(TRIVY_FS, change), tmp_path)
    assert sorted(f.rule_id for f in parsed.findings) == ["DS-0005", "DS-0026", "github-pat"]


def test_trivy_nonzero_exit_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match="exited with code 1"):
        _parse_doc("trivy", (SAMPLES / TRIVY_FS).read_bytes(), tmp_path, exit_code=1)


BANDIT_ARGV = ("bandit", "-r", ".", "-f", "json", "-q", "--ignore-nosec")


def _no_results(doc: Any) -> None:
    doc["results"] = []
    for key in doc["metrics"]["_totals"]:
        if key.startswith(("SEVERITY.", "CONFIDENCE.")):
            doc["metrics"]["_totals"][key] = 0


def test_bandit_exit_1_with_no_results_is_an_error(tmp_path: Path) -> None:
    """bandit exits 1 exactly when it lists results (verified on bandit 1.9.4)."""
    data = _mutated("bandit.json", _no_results)
    with pytest.raises(ScannerOutputError, match=r"exited 1 \(issues found\) but reported no"):
        _parse_doc("bandit", data, tmp_path, exit_code=1, argv=BANDIT_ARGV)
    assert _parse_doc("bandit", data, tmp_path, exit_code=0, argv=BANDIT_ARGV).findings == ()


def test_bandit_exit_0_with_results_is_an_error_unless_exit_zero(tmp_path: Path) -> None:
    data = (SAMPLES / "bandit.json").read_bytes()
    with pytest.raises(ScannerOutputError, match=r"exited 0 \(no issues\) but reported 10"):
        _parse_doc("bandit", data, tmp_path, exit_code=0, argv=BANDIT_ARGV)
    parsed = _parse_doc("bandit", data, tmp_path, exit_code=0,
                        argv=(*BANDIT_ARGV, "--exit-zero"))
    assert len(parsed.findings) == 10


def test_bandit_totals_must_agree_with_the_results(tmp_path: Path) -> None:
    """metrics._totals counts every issue found (real bandit 1.9.4: 5 issues, -lll lists
    none and still counts 5); without a level filter the counts equal the results."""
    data = _mutated("bandit.json", lambda d: d.update(results=d["results"][:3]))
    with pytest.raises(ScannerOutputError, match=r"metrics._totals counts 10 issue\(s\) but 3 "):
        _parse_doc("bandit", data, tmp_path, exit_code=1, argv=BANDIT_ARGV)
    # with a severity filter, fewer results than counted issues is what bandit prints
    parsed = _parse_doc("bandit", data, tmp_path, exit_code=1, argv=(*BANDIT_ARGV, "-lll"))
    assert len(parsed.findings) == 3
    more = _mutated("bandit.json", _set_in("metrics/_totals/SEVERITY.HIGH", 1))
    with pytest.raises(ScannerOutputError, match=r"SEVERITY.HIGH is 1 but 3 result"):
        _parse_doc("bandit", more, tmp_path, exit_code=1, argv=(*BANDIT_ARGV, "-lll"))


@pytest.mark.parametrize("path, value, field", [
    ("errors", [], None),  # the control: accepted
    ("errors", ["bad.py: syntax error"], "errors[0] is str"),
    ("errors", [{"filename": "a.py"}], "no errors[0].reason"),
    ("errors", {"a.py": "x"}, "errors is dict"),
    ("results.0.line_range", [-1], "results[0].line_range[0] is -1, not a line number"),
    ("results.0.line_range", ["x"], "results[0].line_range[0] is str"),
    ("results.0.line_range", 3, "results[0].line_range is int"),
    ("results.0.line_number", 0, "results[0].line_number is 0, not a line number"),
    ("results.0.line_number", True, "results[0].line_number is bool"),
    ("results.0.issue_severity", "CRITICAL", "results[0].issue_severity is 'CRITICAL'"),
    ("results.0.issue_confidence", None, "results[0].issue_confidence is null"),
    ("results.0.issue_cwe", 259, "results[0].issue_cwe is int"),
    ("results.0.issue_cwe.id", "259", "results[0].issue_cwe.id is str"),
    ("results.0.filename", ["a"], "results[0].filename is list"),
    ("results.0.test_name", None, "results[0].test_name is null"),
    ("results.0", "B105", "results[0] is str"),
    ("metrics", None, "metrics is null"),
    ("metrics._totals", [], "metrics._totals is list"),
    ("metrics/_totals/SEVERITY.LOW", "4", "metrics._totals.SEVERITY.LOW is str"),
])
def test_bandit_fields_of_the_wrong_type_are_named(path: str, value: object, field: str | None,
                                                   tmp_path: Path) -> None:
    data = _mutated("bandit.json", _set_in(path, value))
    if field is None:
        assert _parse_doc("bandit", data, tmp_path, exit_code=1, argv=BANDIT_ARGV).findings
        return
    with pytest.raises(ScannerOutputError, match=re.escape(field)):
        _parse_doc("bandit", data, tmp_path, exit_code=1, argv=BANDIT_ARGV)


@pytest.mark.parametrize("path, value, field", [
    ("errors", ["boom"], "errors[0] is str"),
    ("errors", [{"message": "x", "level": "fatal"}], "errors[0].level is 'fatal'"),
    ("results.0.start.line", "12", "results[0].start.line is str"),
    ("results.0.end", [12], "results[0].end is list"),
    ("results.0.extra.severity", "error", "results[0].extra.severity is 'error'"),
    ("results.0.extra.message", None, "results[0].extra.message is null"),
    ("results.0.extra.metadata", "x", "results[0].extra.metadata is str"),
    ("results.0.extra.metadata.cwe", 78, "results[0].extra.metadata.cwe is int"),
    ("results.0.extra.metadata.owasp", [1], "results[0].extra.metadata.owasp[0] is int"),
    ("results.0.extra.is_ignored", "false", "results[0].extra.is_ignored is str"),
])
def test_semgrep_fields_of_the_wrong_type_are_named(path: str, value: object, field: str,
                                                    tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match=re.escape(field)):
        _parse_doc("semgrep", _mutated("semgrep.json", _set_in(path, value)), tmp_path)


def test_semgrep_nonzero_exit_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match="exited with code 1"):
        _parse_doc("semgrep", (SAMPLES / "semgrep.json").read_bytes(), tmp_path, exit_code=1)


@pytest.mark.parametrize("name", ["bandit", "semgrep", "trivy"])
@pytest.mark.parametrize("data, reason", [
    (b'{"results": "\xff"}', "output is not UTF-8 (byte 13)"),
    (b"\xef\xbb\xbf{}", "not valid JSON"),
    (b'{"results": NaN}', "NaN is not JSON"),
    (b'{"results": 1e999}', "number 1e999 is out of range"),
    (b'{"results": ' + b"9" * 5000 + b"}", "not valid JSON"),
    (b'{"a": ' + b"[" * 100 + b"]" * 100 + b"}", "nested deeper than 64 levels"),
    (b"[" * 100000, "nested deeper than 64 levels"),
    (b'{"results": "\\udc80"}', "lone surrogate"),
    (b" \n\t ", "produced no output"),
])
def test_malformed_json_is_a_one_line_scanner_error(name: str, data: bytes, reason: str,
                                                    tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match=re.escape(reason)) as err:
        _parse_doc(name, data, tmp_path)
    assert "\n" not in err.value.one_line()
