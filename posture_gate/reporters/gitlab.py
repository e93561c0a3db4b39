"""GitLab security reports (docs/formats.md section 2): SAST, dependency scanning, container
scanning and secret detection.

Every report declares schema version 15.0.7 (accepted by the widest range of GitLab
versions) and is kept valid against both 15.0.7 and 15.2.1: dependency scanning always
carries `dependency_files`, no `code_flows`, lines >= 1, identifier urls only http(s).

Which findings go where:
* gitlab-sast: `code` and `architecture` findings (GitLab's IaC scanning uses the SAST
  report type for misconfigurations too);
* gitlab-dependency-scanning: `dependency` findings from the source tree (no image);
* gitlab-container-scanning: `os` findings and `dependency` findings found in an image;
* gitlab-secret-detection: `secret` findings.
Suppressed findings are left out (GitLab would raise them as vulnerabilities); each report
says how many in `scan.messages`.

Text: every untrusted string goes through `textutil` once, then JSON escaping. `description`
and `solution` keep their newlines (`clean`: advisory text is paragraphs, and the JSON
escapes them); names, identifiers, files, packages, versions and messages are one line
(`one_line`); a link the cleaner would change is dropped.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from .. import jsonout
from ..fsutil import Chunks
from ..model import Category, Finding, RunStatus, ScannerRun, ScanResult, Severity, sort_findings
from ..policy.evaluate import Verdict
from ..scanners import SCANNERS
from ..textutil import clean, one_line
from .threatinfo import finding_note, source_lines

SCHEMA_VERSION = "15.0.7"
SCHEMA_BASE = ("https://gitlab.com/gitlab-org/security-products/security-report-schemas/"
               "-/raw/v15.0.7/dist/")
ANALYZER_URL = "https://pypi.org/project/posture-gate/"
NO_COMMIT = "0000000"
# Vulnerability ids: UUID5 of the fingerprint in this namespace (stable across runs).
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://pypi.org/project/posture-gate/finding")
_NAMESPACE = ID_NAMESPACE.bytes

SEVERITY = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
    Severity.INFO: "Info",
    Severity.UNKNOWN: "Unknown",
}
PACKAGE_MANAGER = {"pypi": "pip", "pip": "pip", "pipenv": "pipenv", "poetry": "poetry",
                   "npm": "npm", "yarn": "yarn", "gomod": "go", "cargo": "cargo"}
# The two vector patterns of the schemas' cvss_vectors (CVSS v2 and CVSS:3.0/3.1 only).
_CVSS2 = re.compile(
    r"^((AV:[NAL]|AC:[LMH]|Au:[MSN]|[CIA]:[NPC]|E:(U|POC|F|H|ND)|RL:(OF|TF|W|U|ND)"
    r"|RC:(UC|UR|C|ND)|CDP:(N|L|LM|MH|H|ND)|TD:(N|L|M|H|ND)|[CIA]R:(L|M|H|ND))/)*"
    r"(AV:[NAL]|AC:[LMH]|Au:[MSN]|[CIA]:[NPC]|E:(U|POC|F|H|ND)|RL:(OF|TF|W|U|ND)"
    r"|RC:(UC|UR|C|ND)|CDP:(N|L|LM|MH|H|ND)|TD:(N|L|M|H|ND)|[CIA]R:(L|M|H|ND))$")
_CVSS3 = re.compile(
    r"^CVSS:3[.][01]/((AV:[NALP]|AC:[LH]|PR:[NLH]|UI:[NR]|S:[UC]|[CIA]:[NLH]|E:[XUPFH]"
    r"|RL:[XOTWU]|RC:[XURC]|[CIA]R:[XLMH]|MAV:[XNALP]|MAC:[XLH]|MPR:[XNLH]|MUI:[XNR]"
    r"|MS:[XUC]|M[CIA]:[XNLH])/)*(AV:[NALP]|AC:[LH]|PR:[NLH]|UI:[NR]|S:[UC]|[CIA]:[NLH]"
    r"|E:[XUPFH]|RL:[XOTWU]|RC:[XURC]|[CIA]R:[XLMH]|MAV:[XNALP]|MAC:[XLH]|MPR:[XNLH]"
    r"|MUI:[XNR]|MS:[XUC]|M[CIA]:[XNLH])$")
_HTTP = re.compile(r"^https?://\S+$")


def gitlab_time(value: str) -> str:
    """`YYYY-MM-DDTHH:MM:SS` in UTC (the schemas' pattern); the epoch if unparseable."""
    try:
        t = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if t.tzinfo is not None:  # year 1 with a positive offset is year 0 in UTC
            t = t.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        t = datetime.datetime(1970, 1, 1)
    return t.isoformat(timespec="seconds")  # four-digit years; strftime's %Y pads none


def vulnerability_id(f: Finding) -> str:
    """str(uuid.uuid5(ID_NAMESPACE, fingerprint)), without building a UUID object (a third
    of the time; 100k findings a report). A lone surrogate (a read-back findings.json can
    hold one) cannot be UTF-8 encoded: it is written as its backslash escape."""
    digest = bytearray(hashlib.sha1(  # UUIDv5 is defined over SHA-1: an id, not a secret
        _NAMESPACE + f.fingerprint.encode("utf-8", "backslashreplace"),
        usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _identifier(value: str, scanner: str) -> dict[str, str] | None:
    v = one_line(value, 255)
    if not v:
        return None
    upper = v.upper()
    if upper.startswith("CVE-"):
        return {"type": "cve", "name": upper, "value": upper,
                "url": f"https://nvd.nist.gov/vuln/detail/{upper}"}
    if upper.startswith("CWE-") and upper[4:].isdigit():
        return {"type": "cwe", "name": upper, "value": upper[4:],
                "url": f"https://cwe.mitre.org/data/definitions/{upper[4:]}.html"}
    if upper.startswith("GHSA-"):
        return {"type": "ghsa", "name": v, "value": v,
                "url": f"https://github.com/advisories/{v}"}
    if upper.startswith(("PYSEC-", "OSV-")):
        return {"type": upper.split("-", 1)[0].lower(), "name": v, "value": v,
                "url": f"https://osv.dev/vulnerability/{v}"}
    if upper.startswith("OWASP-"):
        return {"type": "owasp", "name": v, "value": v[6:] or v}
    kind = re.sub(r"[^a-z0-9_]+", "_", scanner.lower()).strip("_") or "posture_gate"
    return {"type": f"{kind}_rule", "name": v, "value": v}


def identifiers(f: Finding) -> list[dict[str, str]]:
    """Primary first: the rule / advisory id; then the other ids, CVE/CWE typed."""
    out: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for value in (f.rule_id, *f.identifiers):
        ident = _identifier(value, f.scanner)
        if ident is None:
            continue
        key = (ident["type"], ident["value"])
        if key not in seen:
            seen.add(key)
            if "url" in ident and not _HTTP.match(ident["url"]):
                del ident["url"]
            out.append(ident)
    fp = one_line(f.fingerprint, 255) or "unknown"
    return out or [{"type": "posture_gate", "name": fp[:12], "value": fp}]


def _common(f: Finding) -> dict[str, Any]:
    v: dict[str, Any] = {
        "id": vulnerability_id(f),
        "name": one_line(f.title, 255) or one_line(f.rule_id, 255) or "finding",
        "description": clean(f.message, 20000) or one_line(f.title, 255)
        or one_line(f.rule_id, 255) or "finding",
        "severity": SEVERITY[f.severity],
        "identifiers": identifiers(f),
    }
    if f.package is not None and f.package.fixed_versions:
        fixes = ", ".join(one_line(x, 100) for x in f.package.fixed_versions)
        v["solution"] = clean(f"Upgrade {one_line(f.package.name, 200)} to {fixes}.", 7000)
    # A link the cleaner would change is dropped, not rewritten: it would lead elsewhere.
    links = [{"url": r} for r in dict.fromkeys(f.references)
             if _HTTP.match(r) and len(r) <= 2000 and one_line(r, 2000) == r]
    if links:
        v["links"] = links
    if f.cvss is not None and (_CVSS3.match(f.cvss.vector) or _CVSS2.match(f.cvss.vector)) \
            and 16 <= len(f.cvss.vector) <= 128:
        v["cvss_vectors"] = [{"vendor": one_line(f.severity_source, 100) or "unknown",
                              "vector": f.cvss.vector}]
    v["details"] = {
        "fingerprint": {"name": "posture-gate fingerprint", "type": "text",
                        "value": one_line(f.fingerprint, 255)},
        "found_by": {"name": "Found by", "type": "text",
                     "value": one_line(", ".join(f.found_by or (f.scanner,)), 255)},
    }
    threat = finding_note(f)
    if threat:  # KEV listing and EPSS score, as the other reports show them
        v["details"]["threat"] = {"name": "Exploitation", "type": "text",
                                  "value": one_line(threat, 255)}
    return v


def _lines(f: Finding) -> dict[str, Any]:
    loc: dict[str, Any] = {}
    if f.location is not None:
        if f.location.path:
            loc["file"] = one_line(f.location.path, 1000)
        if f.location.start_line and f.location.start_line >= 1:
            loc["start_line"] = f.location.start_line
            end = f.location.end_line or f.location.start_line
            loc["end_line"] = max(end, f.location.start_line)
    return loc


def _dependency(f: Finding) -> dict[str, Any]:
    pkg = f.package
    return {"package": {"name": one_line(pkg.name if pkg else f.rule_id, 255) or "unknown"},
            "version": one_line(pkg.version if pkg else "", 255) or "unknown"}


def _manifest(f: Finding) -> str:
    if f.location is not None and f.location.path:
        return one_line(f.location.path, 1000) or "requirements.txt"
    return one_line(f.target, 1000) or "requirements.txt"


def _package_manager(f: Finding) -> str:
    eco = one_line(f.package.ecosystem if f.package else "", 100).lower()
    return PACKAGE_MANAGER.get(eco, eco or "unknown")


# Which scanner jobs feed which report type (a failed job marks that report "failure").
def _feeds(s: ScannerRun, report_type: str) -> bool:
    """Whether the run decides this report's status (each scanner declares its report
    types); a run of a scanner this version does not know counts for every report."""
    scanner = SCANNERS.get(s.scanner)
    return scanner is None or report_type in scanner.gitlab_feeds(s)


class _GitlabReporter:
    name: str
    filename: str
    report_type: str

    def select(self, f: Finding) -> bool:
        raise NotImplementedError

    def location(self, f: Finding, run: ScanResult, os_name: str) -> dict[str, Any]:
        raise NotImplementedError

    def top_level(self, findings: list[Finding]) -> dict[str, Any]:
        return {}

    def render(self, run: ScanResult, verdict: Verdict) -> str:
        return b"".join(self.chunks(run, verdict)).decode("utf-8")

    def stream(self, run: ScanResult, verdict: Verdict) -> Iterator[tuple[str, Chunks]]:
        yield self.filename, self.chunks(run, verdict)

    def chunks(self, run: ScanResult, verdict: Verdict) -> Iterator[bytes]:
        """The report's UTF-8 text, its vulnerabilities made and written a thousand at a
        time (100k findings: never one string, nor 100k dicts at once)."""
        chosen = [f for f in sort_findings(verdict.findings) if self.select(f)]
        findings = [f for f in chosen if f.suppression is None]
        messages: list[dict[str, str]] = []
        status = "success"
        for s in run.scanners:
            if s.status is RunStatus.OK or not _feeds(s, self.report_type):
                continue
            if s.required:
                status = "failure"
            text = one_line(f"{s.name} {'failed' if s.required else 'skipped (optional)'}: "
                         f"{s.reason or s.status.value}", 2000)
            messages.append({"level": "fatal" if s.required else "warn", "value": text})
        suppressed = len(chosen) - len(findings)
        if suppressed:
            messages.append({"level": "info", "value": f"{suppressed} suppressed finding(s) "
                             "not reported (see posture-gate findings.json)"})
        messages += [{"level": "info", "value": one_line(f"threat data: {line}", 2000)}
                     for line in source_lines(run)]
        os_name = next((one_line(f.package.ecosystem, 100) for f in findings
                        if f.category is Category.OS and f.package and f.package.ecosystem),
                       "unknown")

        def vulns() -> Iterator[dict[str, Any]]:
            for f in findings:
                v = _common(f)
                v["location"] = self.location(f, run, os_name)
                yield v

        version = one_line(run.tool_version, 100) or "unknown"
        vendor = {"name": "posture-gate"}
        scanners = sorted({s.scanner for s in run.scanners if _feeds(s, self.report_type)})
        scan: dict[str, Any] = {
            "analyzer": {"id": "posture-gate", "name": "posture-gate", "version": version,
                         "vendor": vendor, "url": ANALYZER_URL},
            "scanner": {"id": "posture-gate", "name": one_line(
                "posture-gate" + (f" ({', '.join(scanners)})" if scanners else ""), 255),
                "version": version, "vendor": vendor},
            "type": self.report_type,
            "status": status,
            "start_time": gitlab_time(run.started_at),
            "end_time": gitlab_time(run.finished_at),
        }
        if messages:
            scan["messages"] = messages
        doc: dict[str, Any] = {
            "version": SCHEMA_VERSION,
            "schema": SCHEMA_BASE + self.filename_schema,
            "scan": scan,
            "vulnerabilities": [],
            **self.top_level(findings),
        }
        yield from jsonout.list_chunks(doc, "vulnerabilities", vulns(), escape=False)
        yield b"\n"

    @property
    def filename_schema(self) -> str:
        return self.report_type.replace("_", "-") + "-report-format.json"


class GitlabSastReporter(_GitlabReporter):
    name = "gitlab-sast"
    filename = "gl-sast-report.json"
    report_type = "sast"

    def select(self, f: Finding) -> bool:
        return f.category in (Category.CODE, Category.ARCHITECTURE)

    def location(self, f: Finding, run: ScanResult, os_name: str) -> dict[str, Any]:
        return _lines(f)


class GitlabSecretDetectionReporter(_GitlabReporter):
    name = "gitlab-secret-detection"
    filename = "gl-secret-detection-report.json"
    report_type = "secret_detection"

    def select(self, f: Finding) -> bool:
        return f.category is Category.SECRET

    def location(self, f: Finding, run: ScanResult, os_name: str) -> dict[str, Any]:
        loc = _lines(f)
        if "file" not in loc and f.image:
            loc["file"] = one_line(f.image, 1000)
        loc["commit"] = {"sha": one_line(run.commit, 64) or NO_COMMIT}
        return loc


class GitlabDependencyScanningReporter(_GitlabReporter):
    name = "gitlab-dependency-scanning"
    filename = "gl-dependency-scanning-report.json"
    report_type = "dependency_scanning"

    def select(self, f: Finding) -> bool:
        return f.category is Category.DEPENDENCY and not f.image

    def location(self, f: Finding, run: ScanResult, os_name: str) -> dict[str, Any]:
        return {"file": _manifest(f), "dependency": _dependency(f)}

    def top_level(self, findings: list[Finding]) -> dict[str, Any]:
        # Required by 15.0.x: the manifests and the vulnerable dependencies in each.
        files: dict[str, dict[str, Any]] = {}
        seen: set[tuple[str, str, str]] = set()
        for f in findings:
            path = _manifest(f)
            entry = files.setdefault(path, {"path": path,
                                            "package_manager": _package_manager(f),
                                            "dependencies": []})
            dep = _dependency(f)
            key = (path, dep["package"]["name"], dep["version"])
            if key not in seen:
                seen.add(key)
                entry["dependencies"].append(dep)
        return {"dependency_files": [files[p] for p in sorted(files)]}


class GitlabContainerScanningReporter(_GitlabReporter):
    name = "gitlab-container-scanning"
    filename = "gl-container-scanning-report.json"
    report_type = "container_scanning"

    def select(self, f: Finding) -> bool:
        return f.category is Category.OS or (f.category is Category.DEPENDENCY
                                             and bool(f.image))

    def location(self, f: Finding, run: ScanResult, os_name: str) -> dict[str, Any]:
        image = one_line(f.image or run.image, 1000) or "unknown"
        return {"dependency": _dependency(f), "operating_system": os_name, "image": image}


GITLAB_REPORTERS: tuple[Callable[[], _GitlabReporter], ...] = (
    GitlabSastReporter, GitlabDependencyScanningReporter, GitlabContainerScanningReporter,
    GitlabSecretDetectionReporter)
