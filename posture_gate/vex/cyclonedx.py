"""CycloneDX VEX (a BOM whose vulnerabilities carry `analysis`), read strictly and mapped
onto OpenVEX's vocabulary: not_affected and false_positive -> not_affected, resolved ->
fixed, exploitable -> affected, in_triage -> under_investigation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .. import strictjson as sj
from ..threat.kev import parse_stamp
from .data import Statement

STATES = {"not_affected": "not_affected", "false_positive": "not_affected",
          "resolved": "fixed", "resolved_with_pedigree": "fixed",
          "exploitable": "affected", "in_triage": "under_investigation"}
JUSTIFICATIONS = ("code_not_present", "code_not_reachable", "requires_configuration",
                  "requires_dependency", "requires_environment", "protected_by_compiler",
                  "protected_at_runtime", "protected_at_perimeter",
                  "protected_by_mitigating_control")
VERSION_STATUS = {"unaffected": None, "affected": "affected", "unknown": "under_investigation"}


def is_cyclonedx(doc: Mapping[str, Any]) -> bool:
    return doc.get("bomFormat") == "CycloneDX"


def _components(items: object, where: str) -> Iterator[tuple[str, str]]:
    """(bom-ref, purl) of every component, nested ones included."""
    for i, c in enumerate(items if isinstance(items, list) else []):
        d = sj.obj(c, f"{where}[{i}]")
        ref = sj.field(d, "bom-ref", str, f"{where}[{i}].", required=False)
        purl = sj.field(d, "purl", str, f"{where}[{i}].", required=False)
        if ref and purl:
            yield ref, purl
        yield from _components(d.get("components"), f"{where}[{i}].components")


def _author(meta: Mapping[str, Any]) -> str | None:
    names = []
    for i, a in enumerate(sj.field(meta, "authors", list, "metadata.", required=False) or []):
        d = sj.obj(a, f"metadata.authors[{i}]")
        name = sj.field(d, "name", str, f"metadata.authors[{i}].", required=False)
        email = sj.field(d, "email", str, f"metadata.authors[{i}].", required=False)
        names += [f"{name} <{email}>" if name and email else (name or email or "")]
    return ", ".join(n for n in names if n) or None


def _stamp(text: str | None, where: str) -> str | None:
    return parse_stamp(text, where).strftime("%Y-%m-%dT%H:%M:%SZ") if text else None


def _ref_purl(ref: str, refs: Mapping[str, str]) -> str:
    """An affects[].ref: a bom-ref of this BOM, a purl, or a BOM-Link urn:cdx:...#ref."""
    if ref in refs:
        return refs[ref]
    frag = ref.split("#", 1)[1] if ref.startswith("urn:cdx:") and "#" in ref else ref
    return refs.get(frag, frag)


def _with_version(purl: str, version: str) -> str:
    base = purl.split("#", 1)[0].split("?", 1)[0]
    head, _, last = base.rpartition("/")
    return f"{head}/{last.split('@', 1)[0]}@{version}"


def parse(doc: Mapping[str, Any], source: str, start: int = 0) -> list[Statement]:
    spec = sj.field(doc, "specVersion", str)
    if spec not in ("1.4", "1.5", "1.6"):
        raise sj.ShapeError(f"specVersion is {spec[:10]!r}; CycloneDX VEX needs 1.4 to 1.6")
    meta = sj.field(doc, "metadata", dict, required=False) or {}
    author = _author(meta)
    issued = _stamp(sj.field(meta, "timestamp", str, "metadata.", required=False),
                    "metadata.timestamp")
    refs = dict(_components(doc.get("components"), "components"))
    out: list[Statement] = []
    for i, v in enumerate(sj.field(doc, "vulnerabilities", list, required=False) or []):
        at = f"vulnerabilities[{i}]."
        d = sj.obj(v, at.rstrip("."))
        analysis = sj.field(d, "analysis", dict, at, required=False)
        if analysis is None:
            continue  # a vulnerability listed, not a VEX statement about it
        state = sj.field(analysis, "state", str, f"{at}analysis.")
        if state not in STATES:
            raise sj.ShapeError(f"{at}analysis.state is {state[:30]!r}, not a CycloneDX "
                                "impact analysis state")
        justification = sj.field(analysis, "justification", str, f"{at}analysis.",
                                 required=False)
        if justification is not None and justification not in JUSTIFICATIONS:
            raise sj.ShapeError(f"{at}analysis.justification is {justification[:60]!r}, "
                                "not a CycloneDX justification")
        detail = sj.field(analysis, "detail", str, f"{at}analysis.", required=False)
        if state == "false_positive":
            justification = justification or "false_positive"
        if state == "not_affected" and not (justification or detail):
            raise sj.ShapeError(f"{at}analysis: not_affected needs a justification or a "
                                "detail")
        ids = [sj.field(d, "id", str, at)]
        for n, r in enumerate(sj.field(d, "references", list, at, required=False) or []):
            ids.append(sj.field(sj.obj(r, f"{at}references[{n}]"), "id", str,
                                f"{at}references[{n}]."))
        when = _stamp(sj.field(analysis, "lastUpdated", str, f"{at}analysis.",
                               required=False) or sj.field(analysis, "firstIssued", str,
                                                           f"{at}analysis.", required=False),
                      f"{at}analysis.lastUpdated") or issued
        affects = sj.field(d, "affects", list, at, required=False) or []
        if not affects:
            raise sj.ShapeError(f"{at}affects: the analysis names no component")
        for n, a in enumerate(affects):
            aw = f"{at}affects[{n}]."
            ad = sj.obj(a, aw.rstrip("."))
            purl = _ref_purl(sj.field(ad, "ref", str, aw), refs)
            products: list[tuple[str, str]] = []
            for m, ver in enumerate(sj.field(ad, "versions", list, aw, required=False) or []):
                vd = sj.obj(ver, f"{aw}versions[{m}]")
                version = sj.field(vd, "version", str, f"{aw}versions[{m}].", required=False)
                vstatus = sj.field(vd, "status", str, f"{aw}versions[{m}].", required=False)
                if version is None:
                    continue  # a range: not an exact version, never applied
                if vstatus not in VERSION_STATUS and vstatus is not None:
                    raise sj.ShapeError(f"{aw}versions[{m}].status is {vstatus[:20]!r}")
                status = VERSION_STATUS.get(vstatus or "unaffected") or STATES[state]
                products.append((_with_version(purl, version), status))
            if not products:
                products = [(purl, STATES[state])]
            for p, status in products:
                out.append(Statement(vulns=tuple(dict.fromkeys(ids)),
                                     products=(p,), status=status,
                                     justification=justification, impact=detail,
                                     author=author, at=when,
                                     source=f"{source}#vulnerabilities[{i}]",
                                     order=start + len(out)))
    if not out:
        raise sj.ShapeError("no vulnerability carries an analysis: not a VEX document")
    return out
