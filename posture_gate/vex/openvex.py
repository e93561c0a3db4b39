"""OpenVEX documents (https://github.com/openvex/spec, v0.2.0; v0.0.x string forms
accepted), read strictly: a problem names the file and the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import strictjson as sj
from ..threat.kev import parse_stamp
from .data import STATUSES, Statement

CONTEXT = "https://openvex.dev/ns"
JUSTIFICATIONS = ("component_not_present", "vulnerable_code_not_present",
                  "vulnerable_code_not_in_execute_path",
                  "vulnerable_code_cannot_be_controlled_by_adversary",
                  "inline_mitigations_already_exist")


def is_openvex(doc: Mapping[str, Any]) -> bool:
    context = doc.get("@context")
    return isinstance(context, str) and context.startswith(CONTEXT)


def _stamp(d: Mapping[str, Any], key: str, where: str) -> str | None:
    text = sj.field(d, key, str, where, required=False)
    if text is None:
        return None
    return parse_stamp(text, f"{where}{key}").strftime("%Y-%m-%dT%H:%M:%SZ")


def _purls(item: object, where: str) -> list[str]:
    """A product or subcomponent: its @id or identifiers.purl (a string in v0.0.x)."""
    if isinstance(item, str):
        return [item]
    d = sj.obj(item, where.rstrip("."))
    out = [x for x in (sj.field(d, "@id", str, where, required=False),) if x]
    ident = sj.field(d, "identifiers", dict, where, required=False)
    if ident is not None:
        purl = sj.field(ident, "purl", str, f"{where}identifiers.", required=False)
        out += [purl] if purl else []
    for i, sub in enumerate(sj.field(d, "subcomponents", list, where, required=False) or []):
        out += _purls(sub, f"{where}subcomponents[{i}].")
    return out


def _vulns(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    d = sj.obj(value, where)
    name = sj.field(d, "name", str, f"{where}.")
    return tuple(dict.fromkeys((name, *sj.text_list(d, "aliases", f"{where}."))))


def parse(doc: Mapping[str, Any], source: str, start: int = 0) -> list[Statement]:
    """The document's statements; sj.ShapeError naming the key if malformed."""
    author = sj.field(doc, "author", str)
    issued = _stamp(doc, "timestamp", "")
    if issued is None:
        raise sj.ShapeError("timestamp is missing")
    items = sj.field(doc, "statements", list)
    if not items:
        raise sj.ShapeError("statements is empty")
    out = []
    for i, item in enumerate(items):
        at = f"statements[{i}]."
        d = sj.obj(item, at.rstrip("."))
        status = sj.field(d, "status", str, at)
        if status not in STATUSES:
            raise sj.ShapeError(f"{at}status is {status[:30]!r}, not one of "
                                f"{', '.join(STATUSES)}")
        justification = sj.field(d, "justification", str, at, required=False)
        if justification is not None and justification not in JUSTIFICATIONS:
            raise sj.ShapeError(f"{at}justification is {justification[:60]!r}, not an "
                                "OpenVEX justification")
        impact = sj.field(d, "impact_statement", str, at, required=False)
        if status == "not_affected" and not (justification or impact):
            raise sj.ShapeError(f"{at[:-1]}: not_affected needs a justification or an "
                                "impact_statement")
        if "vulnerability" not in d:
            raise sj.ShapeError(f"{at}vulnerability is missing")
        products = [p for n, item2 in enumerate(sj.field(d, "products", list, at,
                                                         required=False) or [])
                    for p in _purls(item2, f"{at}products[{n}].")]
        if not products:
            raise sj.ShapeError(f"{at[:-1]}: names no product")
        out.append(Statement(vulns=_vulns(d["vulnerability"], f"{at}vulnerability"),
                             products=tuple(products), status=status,
                             justification=justification, impact=impact, author=author,
                             at=_stamp(d, "timestamp", at) or issued,
                             source=f"{source}#statements[{i}]", order=start + i))
    return out
