"""CycloneDX 1.6 JSON: an SBOM of the packages posture-gate audited, with the package
vulnerabilities found as its `vulnerabilities` (VEX-style `analysis` where the gate
suppressed one). Validated in tests against the official CycloneDX 1.6 JSON schema.

Components come from the scanner runs' `packages` property (every package a scanner
audited, vulnerable or not) and from every package finding; each is keyed by its purl."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from ..model import Category, Finding, Package, ScanResult, Severity
from ..policy.evaluate import Verdict
from ..textutil import json_escape_invisible, one_line

PACKAGE_CATEGORIES = (Category.DEPENDENCY, Category.OS)
_METHOD = {"2": "CVSSv2", "3.0": "CVSSv3", "3.1": "CVSSv31", "4.0": "CVSSv4"}
_SEVERITY = {Severity.CRITICAL: "critical", Severity.HIGH: "high", Severity.MEDIUM: "medium",
             Severity.LOW: "low", Severity.INFO: "info", Severity.UNKNOWN: "unknown"}
# OpenVEX justification -> CycloneDX analysis justification
_JUSTIFICATION = {"component_not_present": "code_not_present",
                  "vulnerable_code_not_present": "code_not_present",
                  "vulnerable_code_not_in_execute_path": "code_not_reachable",
                  "vulnerable_code_cannot_be_controlled_by_adversary":
                      "protected_by_mitigating_control",
                  "inline_mitigations_already_exist": "protected_by_mitigating_control"}
_CDX_JUSTIFICATIONS = ("code_not_present", "code_not_reachable", "requires_configuration",
                       "requires_dependency", "requires_environment", "protected_by_compiler",
                       "protected_at_runtime", "protected_at_perimeter",
                       "protected_by_mitigating_control")


def _purl(ecosystem: str, name: str, version: str | None, purl: str | None) -> str:
    if purl:
        return one_line(purl, 500)
    tail = f"@{version}" if version else ""
    return one_line(f"pkg:{ecosystem.lower()}/{name}{tail}", 500)


def _audited(run: ScanResult) -> Iterator[dict[str, Any]]:
    """The `packages` the scanner runs recorded: [{ecosystem, name, version, purl?}]."""
    for s in run.scanners:
        packages = s.properties.get("packages")
        for p in packages if isinstance(packages, list) else []:
            if isinstance(p, Mapping) and isinstance(p.get("name"), str):
                yield {k: v for k, v in p.items() if isinstance(v, str)}


def _components(run: ScanResult, findings: tuple[Finding, ...]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    listed = [(p.get("ecosystem", "pypi"), p["name"], p.get("version"), p.get("purl"))
              for p in _audited(run)]
    listed += [(f.package.ecosystem, f.package.name, f.package.version, f.package.purl)
               for f in findings if f.package is not None]
    for eco, name, version, purl in listed:
        ref = _purl(eco, name, version, purl)
        if ref not in found:
            c: dict[str, Any] = {"type": "library", "bom-ref": ref, "name": one_line(name, 300)}
            if version:
                c["version"] = one_line(version, 100)
            c["purl"] = ref
            found[ref] = c
    return [found[k] for k in sorted(found)]


def _ratings(f: Finding) -> list[dict[str, Any]]:
    if f.cvss is not None:
        return [{"score": f.cvss.score, "severity": _SEVERITY[f.severity],
                 "method": _METHOD.get(f.cvss.version, "other"),
                 "vector": one_line(f.cvss.vector, 300)}]
    return [{"severity": _SEVERITY[f.severity], "method": "other"}]


def _analysis(f: Finding) -> dict[str, Any] | None:
    sup = f.suppression
    if sup is None or sup.kind not in ("ignore", "vex"):
        return None
    v = sup.vex
    if v is not None:
        out: dict[str, Any] = {"state": "resolved" if v.status == "fixed" else "not_affected"}
        just = _JUSTIFICATION.get(v.justification or "", v.justification)
        if just in _CDX_JUSTIFICATIONS:
            out["justification"] = just
        detail = "; ".join(x for x in (v.impact, f"by {v.author}" if v.author else "",
                                       f"from {v.source}" if v.source else "") if x)
        if detail:
            out["detail"] = one_line(detail, 1000)
        if v.at:
            out["lastUpdated"] = one_line(v.at, 40)
        return out
    said = "; ".join(x for x in (sup.reason, f"owner {sup.owner}" if sup.owner else "",
                                 f"expires {sup.expires}" if sup.expires else "") if x)
    return {"state": "not_affected", "detail": one_line(f"posture-gate ignore: {said}", 1000)}


def _vulnerability(f: Finding, pkg: Package) -> dict[str, Any]:
    ids = [i for i in dict.fromkeys((f.rule_id, *f.identifiers)) if not i.startswith("CWE-")]
    out: dict[str, Any] = {"bom-ref": f"vuln-{one_line(f.fingerprint, 64)}",
                           "id": one_line(ids[0] if ids else f.rule_id, 200)}
    if f.references:
        out["source"] = {"url": one_line(f.references[0], 500)}
    refs = [{"id": one_line(i, 200), "source": {"name": one_line(i.split("-", 1)[0], 20)}}
            for i in ids[1:]]
    if refs:
        out["references"] = refs
    out["ratings"] = _ratings(f)
    cwes = sorted({int(c[4:]) for c in f.cwes if c[4:].isdigit()})
    if cwes:
        out["cwes"] = cwes
    if f.message:
        out["description"] = one_line(f.message, 2000)
    if pkg.fixed_versions:
        out["recommendation"] = one_line(
            f"upgrade {pkg.name} to {', '.join(pkg.fixed_versions)}", 500)
    analysis = _analysis(f)
    if analysis is not None:
        out["analysis"] = analysis
    version = {"version": one_line(pkg.version, 100), "status": "affected"} \
        if pkg.version else None
    out["affects"] = [{"ref": _purl(pkg.ecosystem, pkg.name, pkg.version,
                                    pkg.purl),
                       **({"versions": [version]} if version else {})}]
    props = []
    if f.kev is not None:
        props.append({"name": "posture-gate:kev:dateAdded", "value": f.kev.date_added})
    if f.epss is not None:
        props.append({"name": "posture-gate:epss:score", "value": f"{f.epss.score:.5f}"})
        props.append({"name": "posture-gate:epss:percentile",
                      "value": f"{f.epss.percentile:.5f}"})
    if props:
        out["properties"] = props
    return out


def document(run: ScanResult, verdict: Verdict) -> dict[str, Any]:
    findings = tuple(f for f in verdict.findings if f.category in PACKAGE_CATEGORIES
                     and f.package is not None)
    body = {
        "components": _components(run, findings),
        "vulnerabilities": [_vulnerability(f, f.package) for f in findings if f.package],
    }
    # Same run, same serial number: reports are reproducible from findings.json.
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.UUID(bytes=digest[:16], version=4)}",
        "version": 1,
        "metadata": {
            "timestamp": one_line(run.finished_at, 40),
            "tools": {"components": [{"type": "application", "name": "posture-gate",
                                      "version": one_line(run.tool_version, 40)}]},
        },
        **body,
    }


class CycloneDxReporter:
    name = "cyclonedx"
    filename = "bom.cdx.json"

    def render(self, run: ScanResult, verdict: Verdict) -> str:
        return json_escape_invisible(json.dumps(document(run, verdict), indent=2,
                                                ensure_ascii=False)) + "\n"
