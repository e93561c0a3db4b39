"""The small values a finding is made of: its severity, confidence and category, where it
is (a location, a package), its CVSS score, and a scanner run's status. Frozen data with the
JSON shape of schemas/finding-v1.schema.json; import them from model.py, which re-exports
them beside the records built from them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import strictjson as sj

MAX_LINE = 1 << 31  # a saved line number past this is not a source file's


class Severity(enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """Higher is worse. `unknown` ranks lowest here; gates decide how to count it."""
        return _SEVERITY_RANK[self]

    @classmethod
    def ordered(cls) -> tuple[Severity, ...]:
        """Worst first, unknown last: the column order of every table."""
        return (cls.CRITICAL, cls.HIGH, cls.MEDIUM, cls.LOW, cls.INFO, cls.UNKNOWN)


_SEVERITY_RANK = {
    Severity.CRITICAL: 5,
    Severity.HIGH: 4,
    Severity.MEDIUM: 3,
    Severity.LOW: 2,
    Severity.INFO: 1,
    Severity.UNKNOWN: 0,
}


class Confidence(enum.Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return {"high": 3, "medium": 2, "low": 1}[self.value]


class Category(enum.Enum):
    """The Step 4 totals a team plans against."""

    CODE = "code"
    ARCHITECTURE = "architecture"
    OS = "os"
    DEPENDENCY = "dependency"
    SECRET = "secret"  # noqa: S105 - the category name, not a credential
    PLATFORM = "platform"  # the hosting platform's settings (2FA, branch rules)


class RunStatus(enum.Enum):
    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


@dataclass(frozen=True, kw_only=True)
class Location:
    path: str
    start_line: int | None = None
    end_line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "start_line": self.start_line, "end_line": self.end_line}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> Location:
        d = sj.obj(d, where.rstrip("."))
        return cls(path=sj.field(d, "path", str, where),
                   start_line=sj.count(d, "start_line", where, required=False, limit=MAX_LINE),
                   end_line=sj.count(d, "end_line", where, required=False, limit=MAX_LINE))


@dataclass(frozen=True, kw_only=True)
class Package:
    ecosystem: str
    name: str
    version: str | None
    fixed_versions: tuple[str, ...] = ()
    purl: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ecosystem": self.ecosystem,
            "name": self.name,
            "version": self.version,
            "fixed_versions": list(self.fixed_versions),
            "purl": self.purl,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> Package:
        d = sj.obj(d, where.rstrip("."))
        return cls(
            ecosystem=sj.field(d, "ecosystem", str, where),
            name=sj.field(d, "name", str, where),
            version=sj.field(d, "version", str, where, required=False),
            fixed_versions=sj.text_list(d, "fixed_versions", where),
            purl=sj.field(d, "purl", str, where, required=False),
        )


@dataclass(frozen=True, kw_only=True)
class Cvss:
    version: str  # "2", "3.1", "4.0"
    vector: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "vector": self.vector, "score": self.score}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> Cvss:
        d = sj.obj(d, where.rstrip("."))
        score = sj.field(d, "score", (int, float), where)
        if not 0 <= score <= 10:
            raise sj.ShapeError(f"{where}score is {score}, not a CVSS score")
        return cls(version=sj.field(d, "version", str, where),
                   vector=sj.field(d, "vector", str, where), score=float(score))
