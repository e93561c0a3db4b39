"""trivy's findings: one vulnerability, misconfiguration or secret of its JSON -> Finding,
every field it reads type-checked and named (trivy.py walks the results)."""

from __future__ import annotations

from typing import Any

from ..fingerprint import canonical_advisory, package_basis, snippet_hash
from ..model import Category, Cvss, Finding, Location, Package
from .parsing import (
    kind_name,
    line_number,
    located_finding,
    one_of,
    optional,
    require,
    severity_from_word,
    shape_error,
    strings,
)

NAME = "trivy"
SEVERITIES = frozenset({"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"})
# trivy's package-manager types that are PyPI packages (so they dedup with pip-audit)
_PYPI_TYPES = {"pip", "pipenv", "poetry", "uv", "python-pkg", "conda-pkg"}


def vuln_finding(v: dict[str, Any], where: str, rtype: str,
                 pkg_lines: dict[tuple[str, str], int], category: Category, path: str | None,
                 image: str | None, version: str) -> Finding:
    def get(key: str, kind: type | tuple[type, ...], at: str = where) -> Any:
        return optional(v, key, kind, NAME, at)

    vid = require(v, "VulnerabilityID", str, NAME, where)
    name = require(v, "PkgName", str, NAME, where)
    severity = one_of(require(v, "Severity", str, NAME, where), SEVERITIES,
                      NAME, f"{where}Severity")
    installed = get("InstalledVersion", str) or ""
    ecosystem = "PyPI" if rtype in _PYPI_TYPES else rtype
    vendor_ids = strings(get("VendorIDs", list) or [], NAME, f"{where}VendorIDs")
    cwes = strings(get("CweIDs", list) or [], NAME, f"{where}CweIDs")
    ids = [vid, *sorted(vendor_ids)]
    fixed = tuple(x.strip() for x in (get("FixedVersion", str) or "").split(",")
                  if x.strip())
    ident = get("PkgIdentifier", dict) or {}
    purl = optional(ident, "PURL", str, NAME, f"{where}PkgIdentifier.")
    line = pkg_lines.get((name, installed), 1)
    # a repository manifest, or (OS packages, packages inside an image) the image
    manifest = path if path is not None else f"{image or ''}:{ecosystem}"
    source = get("SeveritySource", str)
    text = get("Title", str) or get("Description", str) or vid
    url = get("PrimaryURL", str)
    return Finding(
        fingerprint=package_basis(category=category.value, ecosystem=ecosystem, name=name,
                                  advisory=canonical_advisory(ids),
                                  manifest=manifest),
        scanner=NAME,
        scanner_version=version,
        found_by=(NAME,),
        rule_id=vid,
        category=category,
        severity=severity_from_word(severity),
        severity_source=f"trivy {source}" if source else None,
        cvss=_cvss(v, source, where, NAME),
        title=f"{name} {installed}: {vid}",
        message=" ".join(text.split())[:2000],
        location=Location(path=path, start_line=line, end_line=line) if path else None,
        package=Package(ecosystem=ecosystem, name=name, version=installed or None,
                        fixed_versions=fixed, purl=purl),
        identifiers=tuple(dict.fromkeys([*ids, *cwes])),
        references=(url,) if url else (),
        image=image,
        layer=layer_of(v, where, NAME),
    )


def misconfig_finding(m: dict[str, Any], where: str, path: str, lines: Any, version: str,
                      image: str | None) -> Finding:
    mid = require(m, "ID", str, NAME, where)
    severity = one_of(require(m, "Severity", str, NAME, where), SEVERITIES,
                      NAME, f"{where}Severity")
    cause = optional(m, "CauseMetadata", dict, NAME, where) or {}
    at = f"{where}CauseMetadata."
    start = line_of(cause, "StartLine", at, NAME) or None  # 0: the whole file
    end = line_of(cause, "EndLine", at, NAME) or start
    title = optional(m, "Title", str, NAME, where)
    message = " ".join((optional(m, "Message", str, NAME, where) or title
                        or mid).split())
    source = lines.line_range(path, start, end) if image is None else ""
    content = snippet_hash(f"{source}\n{message}")
    url = optional(m, "PrimaryURL", str, NAME, where)
    return located_finding(
        scanner=NAME, version=version, category=Category.ARCHITECTURE, rule=mid, path=path,
        start=start, end=end, content=content, severity=severity_from_word(severity),
        title=" ".join((title or mid).split()), message=message,
        references=(url,) if url else (), image=image)


def secret_finding(s: dict[str, Any], where: str, path: str, version: str,
                   image: str | None) -> Finding:
    rule = require(s, "RuleID", str, NAME, where)
    severity = one_of(require(s, "Severity", str, NAME, where), SEVERITIES,
                      NAME, f"{where}Severity")
    start = line_of(s, "StartLine", where, NAME) or None
    end = line_of(s, "EndLine", where, NAME) or start
    # trivy masks the value in Match with '*'; hash only that masked form and never
    # copy Match, Code or Content into a finding.
    content = snippet_hash(optional(s, "Match", str, NAME, where) or "")
    title = " ".join((optional(s, "Title", str, NAME, where) or rule).split())
    return located_finding(
        scanner=NAME, version=version, category=Category.SECRET, rule=rule, path=path,
        start=start, end=end, content=content, severity=severity_from_word(severity),
        title=title, message=f"{title} found in {path} (value not shown)",
        identifiers=("CWE-798",), image=image, layer=layer_of(s, where, NAME))


def line_of(doc: dict[str, Any], key: str, where: str, scanner: str) -> int:
    """An optional line number; trivy writes 0 (or omits it) for 'no particular line'."""
    value = optional(doc, key, int, scanner, where)
    return 0 if value is None else line_number(value, scanner, f"{where}{key}", zero=True)


def layer_of(item: dict[str, Any], where: str, scanner: str) -> str | None:
    layer = optional(item, "Layer", dict, scanner, where) or {}
    at = f"{where}Layer."
    return (optional(layer, "DiffID", str, scanner, at)
            or optional(layer, "Digest", str, scanner, at) or None)


def _cvss(v: dict[str, Any], source: str | None, where: str, scanner: str) -> Cvss | None:
    table = optional(v, "CVSS", dict, scanner, where) or {}
    entries: dict[str, dict[str, Any]] = {}
    for src, entry in table.items():
        at = f"{where}CVSS.{src}"
        if not isinstance(entry, dict):
            raise shape_error(scanner, f"{at} is {kind_name(entry)}")
        for key in ("V2Vector", "V3Vector", "V40Vector"):
            optional(entry, key, str, scanner, f"{at}.")
        for key in ("V2Score", "V3Score", "V40Score"):
            score = optional(entry, key, (int, float), scanner, f"{at}.")
            if score is not None and not 0 <= score <= 10:
                raise shape_error(scanner, f"{at}.{key} is {score}, not a CVSS score")
        entries[src] = entry
    for src in dict.fromkeys([source, "nvd", "ghsa", *entries]):
        entry = entries.get(src) if isinstance(src, str) else None
        if entry is None:
            continue
        if entry.get("V3Vector") and entry.get("V3Score") is not None:
            vec = entry["V3Vector"]
            return Cvss(version="3.1" if vec.startswith("CVSS:3.1") else "3.0",
                        vector=vec, score=float(entry["V3Score"]))
        if entry.get("V40Vector") and entry.get("V40Score") is not None:
            return Cvss(version="4.0", vector=entry["V40Vector"],
                        score=float(entry["V40Score"]))
    return None
