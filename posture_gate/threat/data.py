"""Threat records carried on findings and runs (JSON shape of findings.json)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import strictjson as sj


@dataclass(frozen=True, kw_only=True)
class Kev:
    """A CISA KEV catalogue entry: the vulnerability is known to be exploited."""

    cve: str
    date_added: str  # YYYY-MM-DD
    due_date: str  # YYYY-MM-DD: the remediation deadline CISA set for US agencies
    ransomware: bool  # knownRansomwareCampaignUse == "Known"

    def to_dict(self) -> dict[str, Any]:
        return {"cve": self.cve, "date_added": self.date_added, "due_date": self.due_date,
                "ransomware": self.ransomware}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> Kev:
        d = sj.obj(d, where.rstrip("."))
        return cls(cve=sj.field(d, "cve", str, where),
                   date_added=sj.field(d, "date_added", str, where),
                   due_date=sj.field(d, "due_date", str, where),
                   ransomware=sj.field(d, "ransomware", bool, where))


def _unit(d: Mapping[str, Any], key: str, where: str) -> float:
    value = sj.field(d, key, (int, float), where)
    if isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise sj.ShapeError(f"{where}{key} is {value!r}, not a probability in [0, 1]")
    return float(value)


@dataclass(frozen=True, kw_only=True)
class Epss:
    """FIRST EPSS: probability of exploitation in the next 30 days, and its percentile."""

    cve: str
    score: float
    percentile: float

    def to_dict(self) -> dict[str, Any]:
        return {"cve": self.cve, "score": self.score, "percentile": self.percentile}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> Epss:
        d = sj.obj(d, where.rstrip("."))
        return cls(cve=sj.field(d, "cve", str, where), score=_unit(d, "score", where),
                   percentile=_unit(d, "percentile", where))


@dataclass(frozen=True, kw_only=True)
class ThreatSource:
    """Provenance of one threat file, recorded in the run (and so in every report)."""

    kind: str  # "kev" | "epss"
    path: str
    sha256: str
    version: str  # KEV catalogVersion / EPSS model_version
    date: str  # KEV dateReleased / EPSS score_date, ISO 8601 UTC
    entries: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "sha256": self.sha256,
                "version": self.version, "date": self.date, "entries": self.entries}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> ThreatSource:
        d = sj.obj(d, where.rstrip("."))
        kind = sj.field(d, "kind", str, where)
        if kind not in ("kev", "epss"):
            raise sj.ShapeError(f"{where}kind is {kind[:20]!r}, not kev or epss")
        return cls(kind=kind, path=sj.field(d, "path", str, where),
                   sha256=sj.field(d, "sha256", str, where),
                   version=sj.field(d, "version", str, where),
                   date=sj.field(d, "date", str, where),
                   entries=sj.count(d, "entries", where) or 0)
