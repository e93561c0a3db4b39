"""The data that crosses module boundaries: frozen, keyword-only dataclasses.

Everything here is plain data; `to_dict` / `from_dict` give the JSON shape of
schema `posture-gate/finding/v1` (see schemas/finding-v1.schema.json).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

FINDING_SCHEMA = "posture-gate/finding/v1"
RUN_SCHEMA = "posture-gate/run/v1"


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
    def from_dict(cls, d: Mapping[str, Any]) -> Location:
        return cls(path=d["path"], start_line=d.get("start_line"), end_line=d.get("end_line"))


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
    def from_dict(cls, d: Mapping[str, Any]) -> Package:
        return cls(
            ecosystem=d["ecosystem"],
            name=d["name"],
            version=d.get("version"),
            fixed_versions=tuple(d.get("fixed_versions") or ()),
            purl=d.get("purl"),
        )


@dataclass(frozen=True, kw_only=True)
class Suppression:
    kind: str  # ignore | baseline | inline
    reason: str | None = None
    owner: str | None = None
    expires: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "owner": self.owner,
                "expires": self.expires}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Suppression:
        return cls(kind=d["kind"], reason=d.get("reason"), owner=d.get("owner"),
                   expires=d.get("expires"))


@dataclass(frozen=True, kw_only=True)
class Cvss:
    version: str  # "2", "3.1", "4.0"
    vector: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "vector": self.vector, "score": self.score}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Cvss:
        return cls(version=str(d["version"]), vector=d["vector"], score=float(d["score"]))


@dataclass(frozen=True, kw_only=True)
class Finding:
    fingerprint: str
    scanner: str
    scanner_version: str
    rule_id: str
    category: Category
    severity: Severity
    title: str
    message: str
    confidence: Confidence | None = None
    found_by: tuple[str, ...] = ()
    location: Location | None = None
    package: Package | None = None
    identifiers: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    cvss: Cvss | None = None
    severity_source: str | None = None
    target: str | None = None
    image: str | None = None
    layer: str | None = None
    suppression: Suppression | None = None
    merged_fingerprints: tuple[str, ...] = ()
    content_hash: str | None = None

    @property
    def cwes(self) -> frozenset[str]:
        return frozenset(i for i in self.identifiers if i.startswith("CWE-"))

    @property
    def fixable(self) -> bool:
        return bool(self.package and self.package.fixed_versions)

    @property
    def all_fingerprints(self) -> frozenset[str]:
        """This finding's id plus those of the duplicates merged into it."""
        return frozenset((self.fingerprint, *self.merged_fingerprints))

    def with_(self, **changes: Any) -> Finding:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "scanner": self.scanner,
            "scanner_version": self.scanner_version,
            "found_by": list(self.found_by or (self.scanner,)),
            "rule_id": self.rule_id,
            "category": self.category.value,
            "severity": self.severity.value,
            "severity_source": self.severity_source,
            "confidence": self.confidence.value if self.confidence else None,
            "title": self.title,
            "message": self.message,
            "location": self.location.to_dict() if self.location else None,
            "package": self.package.to_dict() if self.package else None,
            "identifiers": list(self.identifiers),
            "references": list(self.references),
            "cvss": self.cvss.to_dict() if self.cvss else None,
            "target": self.target,
            "image": self.image,
            "layer": self.layer,
            "suppression": self.suppression.to_dict() if self.suppression else None,
            "merged_fingerprints": list(self.merged_fingerprints),
            "content_hash": self.content_hash,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Finding:
        return cls(
            fingerprint=d["fingerprint"],
            scanner=d["scanner"],
            scanner_version=d["scanner_version"],
            found_by=tuple(d.get("found_by") or ()),
            rule_id=d["rule_id"],
            category=Category(d["category"]),
            severity=Severity(d["severity"]),
            severity_source=d.get("severity_source"),
            confidence=Confidence(d["confidence"]) if d.get("confidence") else None,
            title=d["title"],
            message=d["message"],
            location=Location.from_dict(d["location"]) if d.get("location") else None,
            package=Package.from_dict(d["package"]) if d.get("package") else None,
            identifiers=tuple(d.get("identifiers") or ()),
            references=tuple(d.get("references") or ()),
            cvss=Cvss.from_dict(d["cvss"]) if d.get("cvss") else None,
            target=d.get("target"),
            image=d.get("image"),
            layer=d.get("layer"),
            suppression=Suppression.from_dict(d["suppression"]) if d.get("suppression") else None,
            merged_fingerprints=tuple(d.get("merged_fingerprints") or ()),
            content_hash=d.get("content_hash"),
        )


@dataclass(frozen=True, kw_only=True)
class ScannerRun:
    """What happened when one scanner job ran."""

    name: str
    scanner: str
    status: RunStatus
    required: bool = True
    reason: str | None = None
    version: str | None = None
    tested_version: bool | None = None
    duration_s: float = 0.0
    exit_code: int | None = None
    raw_count: int = 0
    raw_output: str | None = None
    warnings: tuple[str, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)
    # Category values this job reports on; empty in runs saved before it was recorded.
    categories: tuple[str, ...] = ()

    @property
    def blocks_evaluation(self) -> bool:
        return self.required and self.status is not RunStatus.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scanner": self.scanner,
            "status": self.status.value,
            "required": self.required,
            "reason": self.reason,
            "version": self.version,
            "tested_version": self.tested_version,
            "duration_s": round(self.duration_s, 3),
            "exit_code": self.exit_code,
            "raw_count": self.raw_count,
            "raw_output": self.raw_output,
            "warnings": list(self.warnings),
            "properties": dict(self.properties),
            "categories": list(self.categories),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScannerRun:
        return cls(
            name=d["name"],
            scanner=d["scanner"],
            status=RunStatus(d["status"]),
            required=bool(d.get("required", True)),
            reason=d.get("reason"),
            version=d.get("version"),
            tested_version=d.get("tested_version"),
            duration_s=float(d.get("duration_s", 0.0)),
            exit_code=d.get("exit_code"),
            raw_count=int(d.get("raw_count", 0)),
            raw_output=d.get("raw_output"),
            warnings=tuple(d.get("warnings") or ()),
            properties=dict(d.get("properties") or {}),
            categories=tuple(str(c) for c in d.get("categories") or ()),
        )


@dataclass(frozen=True, kw_only=True)
class TrendPoint:
    """One recorded run in the history: counted totals per category (history.py)."""

    at: str  # ISO UTC timestamp of the run
    status: str  # the verdict then: pass | fail | error
    totals: Mapping[str, int]  # category value -> counted findings
    commit: str | None = None


@dataclass(frozen=True, kw_only=True)
class RepoConfigFile:
    """A scanner's config or ignore file found in the scanned tree. The tree is untrusted:
    such a file is honoured only when a trusted policy opts in (`honor_repo_config`)."""

    path: str  # repo-relative
    scanner: str
    honoured: bool
    note: str = ""  # what it would have changed, or why it is not read

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "scanner": self.scanner, "honoured": self.honoured,
                "note": self.note}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RepoConfigFile:
        return cls(path=str(d["path"]), scanner=str(d["scanner"]),
                   honoured=bool(d["honoured"]), note=str(d.get("note") or ""))


@dataclass(frozen=True, kw_only=True)
class PolicyTrust:
    """Which policy decided the verdict: the trusted one (CI configuration) and the
    repository-local one, which may only tighten it."""

    trusted: str | None  # source of the trusted policy; None: none was given
    local: str | None = None  # the repository-local policy applied, if any
    tightened: tuple[str, ...] = ()  # what the repository-local policy changed

    def to_dict(self) -> dict[str, Any]:
        return {"trusted": self.trusted, "repository_local": self.local,
                "tightened": list(self.tightened)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PolicyTrust:
        trusted, local = d.get("trusted"), d.get("repository_local")
        return cls(trusted=str(trusted) if trusted is not None else None,
                   local=str(local) if local is not None else None,
                   tightened=tuple(str(x) for x in d.get("tightened") or ()))


@dataclass(frozen=True, kw_only=True)
class ScanResult:
    """One scan: run metadata plus normalized, merged findings."""

    tool_version: str
    started_at: str
    finished_at: str
    root: str
    policy: str
    policy_digest: str
    scanners: tuple[ScannerRun, ...]
    findings: tuple[Finding, ...]
    commit: str | None = None
    branch: str | None = None
    image: str | None = None
    trends: tuple[TrendPoint, ...] | None = None  # oldest first; filled from --history
    policy_trust: PolicyTrust | None = None
    repo_config: tuple[RepoConfigFile, ...] = ()

    def scanner_run(self, name: str) -> ScannerRun | None:
        return next((s for s in self.scanners if s.name == name), None)


def sort_findings(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Deterministic order for every output: worst first, then place."""

    def key(f: Finding) -> tuple[Any, ...]:
        loc = f.location
        return (
            -f.severity.rank,
            f.category.value,
            loc.path if loc else "",
            (loc.start_line or 0) if loc else 0,
            f.rule_id,
            f.fingerprint,
        )

    return tuple(sorted(findings, key=key))
