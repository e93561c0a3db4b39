"""Load VEX files (trusted input: the CI owner's) and suppress the findings they cover.

A statement applies to a dependency or OS-package finding when one of its vulnerability
ids is one of the finding's ids and one of its products is the finding's package at the
same version (a statement naming no version applies to none). Of the statements that apply,
the latest (by time, then by order given) decides: not_affected or fixed suppresses,
affected or under_investigation leaves the finding counted."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .. import strictjson as sj
from ..errors import InputError
from ..fsutil import TooLarge, human_size, read_capped
from ..model import Category, Finding, Suppression
from ..textutil import one_line
from . import cyclonedx, openvex
from .data import SUPPRESSING, Statement, VexDecision
from .purl import Purl, of_package, parse

MAX_VEX = 32 << 20
PACKAGE_CATEGORIES = (Category.DEPENDENCY, Category.OS)


def load(paths: Sequence[Path]) -> tuple[Statement, ...]:
    """Every statement of the files, in the order given; InputError (exit 2) naming the
    file and key for anything malformed."""
    out: list[Statement] = []
    for path in paths:
        try:
            data = read_capped(path, MAX_VEX)
        except FileNotFoundError:
            raise InputError(f"{path}: VEX file not found") from None
        except TooLarge:
            raise InputError(f"{path}: VEX file is larger than {human_size(MAX_VEX)}") \
                from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read VEX file ({exc.strerror or exc})") \
                from None
        try:
            doc = sj.obj(sj.load_bytes(data), "(top level)")
            if openvex.is_openvex(doc):
                out += openvex.parse(doc, str(path), len(out))
            elif cyclonedx.is_cyclonedx(doc):
                out += cyclonedx.parse(doc, str(path), len(out))
            else:
                raise sj.ShapeError("neither OpenVEX (@context https://openvex.dev/ns...) "
                                    "nor CycloneDX (bomFormat)")
        except ValueError as exc:
            raise InputError(f"{path}: not a usable VEX document: {exc}") from None
    return tuple(out)


def _product_match(products: Sequence[str], pkg: Purl) -> str | None:
    for text in products:
        p = parse(text)
        if p is not None and p.same_package(pkg) and p.same_version(pkg):
            return text
    return None


def _reason(s: Statement) -> str:
    why = s.justification or ""
    if s.impact:
        why = f"{why}: {s.impact}" if why else s.impact
    return one_line(f"VEX {s.status}" + (f" ({why})" if why else ""), 500)


def decide(f: Finding, statements: Sequence[Statement]) -> Suppression | None:
    """The suppression for one finding, or None when no statement suppresses it."""
    if f.category not in PACKAGE_CATEGORIES or f.package is None:
        return None
    pkg = of_package(f.package.ecosystem, f.package.name, f.package.version, f.package.purl)
    if pkg is None:
        return None
    ids = {i.upper() for i in (f.rule_id, *f.identifiers)}
    hits = [(s, product) for s in statements if ids.intersection(v.upper() for v in s.vulns)
            and (product := _product_match(s.products, pkg)) is not None]
    if not hits:
        return None
    s, product = max(hits, key=lambda h: (h[0].at or "", h[0].order))
    if s.status not in SUPPRESSING:
        return None
    vex = VexDecision(status=s.status, vulnerability=next(v for v in s.vulns if v.upper() in ids),
                      product=product, justification=s.justification, impact=s.impact,
                      author=s.author, at=s.at, source=s.source)
    return Suppression(kind="vex", reason=_reason(s), owner=s.author, vex=vex)


def apply(findings: Sequence[Finding], statements: Sequence[Statement]) -> tuple[Finding, ...]:
    """Findings with `suppression.kind == "vex"` where a statement says so."""
    if not statements:
        return tuple(findings)
    out = []
    for f in findings:
        sup = decide(f, statements) if f.suppression is None else None
        out.append(f if sup is None else f.with_(suppression=sup))
    return tuple(out)
