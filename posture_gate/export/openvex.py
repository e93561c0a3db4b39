"""A saved run's decisions as an OpenVEX v0.2.0 document (validated in tests against
openvex/spec's JSON schema): each dependency/OS finding suppressed by a policy ignore
(reason, owner, expiry) or by a VEX statement becomes a statement about its package version.

Ignores say `not_affected` with the ignore's reason as the impact statement; an expired
ignore no longer suppresses, so it is not exported. Code and secret findings have no
package to speak for and are left out."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .. import __version__
from ..model import Category, Finding, ScanResult
from ..textutil import one_line

CONTEXT = "https://openvex.dev/ns/v0.2.0"
PACKAGE_CATEGORIES = (Category.DEPENDENCY, Category.OS)


def _purl(f: Finding) -> str | None:
    p = f.package
    if p is None or not p.version:
        return None
    return p.purl or f"pkg:{p.ecosystem.lower()}/{p.name}@{p.version}"


def _vulnerability(f: Finding, name: str | None = None) -> dict[str, Any]:
    main = name or f.rule_id
    aliases = [i for i in dict.fromkeys((f.rule_id, *f.identifiers))
               if i != main and not i.startswith("CWE-")]
    out: dict[str, Any] = {"name": one_line(main, 200)}
    if aliases:
        out["aliases"] = [one_line(a, 200) for a in aliases]
    return out


def _statement(f: Finding, issued: str) -> dict[str, Any] | None:
    sup, purl = f.suppression, _purl(f)
    if sup is None or purl is None or f.category not in PACKAGE_CATEGORIES:
        return None
    product = [{"@id": one_line(purl, 500)}]
    if sup.kind == "ignore":
        why = one_line(sup.reason or "ignored by policy", 500)
        said = ", ".join(x for x in (f"owner {sup.owner}" if sup.owner else "",
                                     f"ignore expires {sup.expires}" if sup.expires else "")
                         if x)
        out = {"vulnerability": _vulnerability(f), "timestamp": issued, "products": product,
               "status": "not_affected", "impact_statement": why}
        if said:
            out["status_notes"] = one_line(f"posture-gate policy ignore: {said}", 500)
        return out
    v = sup.vex
    if sup.kind != "vex" or v is None:
        return None  # inline and baseline suppressions are not decisions about a package
    out = {"vulnerability": _vulnerability(f, v.vulnerability),
           "timestamp": v.at or issued, "products": product, "status": v.status}
    notes = [f"restated from {v.source}" if v.source else "",
             f"by {v.author}" if v.author else ""]
    if v.status == "not_affected":  # exactly one of justification / impact_statement
        if v.justification and v.justification in _OPENVEX_JUSTIFICATIONS:
            out["justification"] = v.justification
            notes.append(v.impact or "")
        else:  # a CycloneDX justification, or only a detail: say it in words
            out["impact_statement"] = one_line("; ".join(
                x for x in (v.justification, v.impact) if x) or "not affected", 500)
    note = "; ".join(n for n in notes if n)
    if note:
        out["status_notes"] = one_line(note, 500)
    return out


_OPENVEX_JUSTIFICATIONS = ("component_not_present", "vulnerable_code_not_present",
                           "vulnerable_code_not_in_execute_path",
                           "vulnerable_code_cannot_be_controlled_by_adversary",
                           "inline_mitigations_already_exist")


def document(run: ScanResult, *, author: str) -> dict[str, Any] | None:
    """The OpenVEX document, or None when no finding is ignored or VEX-suppressed."""
    statements = [s for f in run.findings if (s := _statement(f, run.finished_at))]
    if not statements:
        return None
    # Duplicate statements (two findings of one advisory in one package) say it once.
    unique = list({json.dumps(s, sort_keys=True): s for s in statements}.values())
    digest = hashlib.sha256(json.dumps(unique, sort_keys=True).encode()).hexdigest()
    return {
        "@context": CONTEXT,
        "@id": f"https://openvex.dev/docs/posture-gate/{digest[:32]}",
        "author": one_line(author, 200),
        "role": "posture-gate export of the gate's decisions",
        "timestamp": run.finished_at,
        "version": 1,
        "tooling": f"posture-gate {__version__}",
        "statements": unique,
    }
