"""The VEX decision a suppressed finding carries (findings.json `suppression.vex`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import strictjson as sj

SUPPRESSING = ("not_affected", "fixed")
STATUSES = ("not_affected", "affected", "fixed", "under_investigation")


@dataclass(frozen=True, kw_only=True)
class VexDecision:
    status: str  # OpenVEX vocabulary: not_affected | fixed (only these suppress)
    vulnerability: str  # the id the statement names
    product: str  # the purl it names (with the version that matched)
    justification: str | None = None  # OpenVEX or CycloneDX justification
    impact: str | None = None  # impact statement / analysis detail
    author: str | None = None
    at: str | None = None  # when the statement was made (ISO 8601)
    source: str | None = None  # file and statement, e.g. vex.json#statements[2]

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "vulnerability": self.vulnerability,
                "product": self.product, "justification": self.justification,
                "impact": self.impact, "author": self.author, "at": self.at,
                "source": self.source}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> VexDecision:
        d = sj.obj(d, where.rstrip("."))
        status = sj.field(d, "status", str, where)
        if status not in SUPPRESSING:
            raise sj.ShapeError(f"{where}status is {status[:30]!r}, not not_affected or fixed")

        def text(key: str) -> Any:
            return sj.field(d, key, str, where, required=False)

        return cls(status=status, vulnerability=sj.field(d, "vulnerability", str, where),
                   product=sj.field(d, "product", str, where),
                   justification=text("justification"), impact=text("impact"),
                   author=text("author"), at=text("at"), source=text("source"))


@dataclass(frozen=True, kw_only=True)
class Statement:
    """One VEX statement as read (OpenVEX or CycloneDX), in OpenVEX's vocabulary."""

    vulns: tuple[str, ...]  # the id named first, then its aliases (compared upper-cased)
    products: tuple[str, ...]  # purls: products and their subcomponents
    status: str  # one of STATUSES
    justification: str | None = None
    impact: str | None = None
    author: str | None = None
    at: str | None = None  # ISO 8601 UTC; the later statement wins
    source: str = ""  # file#statements[i]
    order: int = 0  # position among all statements given; the later wins at equal times
