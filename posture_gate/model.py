"""The data that crosses module boundaries: frozen, keyword-only dataclasses.

Everything here is plain data; `to_dict` / `from_dict` give the JSON shape of
schema `posture-gate/finding/v1` (see schemas/finding-v1.schema.json).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from . import strictjson as sj

if TYPE_CHECKING:
    from .coverage import Coverage
    from .effectiveness import Effectiveness
    from .posture import Posture
from .threat.data import Epss, Kev, ThreatSource

# The small values a finding is made of (values.py), re-exported: import them from here.
from .values import MAX_LINE as MAX_LINE
from .values import Category as Category
from .values import Confidence as Confidence
from .values import Cvss as Cvss
from .values import Location as Location
from .values import Package as Package
from .values import RunStatus as RunStatus
from .values import Severity as Severity
from .vex.data import VexDecision

RUN_SCHEMA = "posture-gate/run/v1"


@dataclass(frozen=True, kw_only=True)
class Suppression:
    kind: str  # ignore | baseline | inline | vex
    reason: str | None = None
    owner: str | None = None
    expires: str | None = None
    vex: VexDecision | None = None  # kind vex: the statement's status, author, time, source

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "owner": self.owner,
                "expires": self.expires, **({"vex": self.vex.to_dict()} if self.vex else {})}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> Suppression:
        d = sj.obj(d, where.rstrip("."))
        return cls(kind=sj.field(d, "kind", str, where),
                   reason=sj.field(d, "reason", str, where, required=False),
                   owner=sj.field(d, "owner", str, where, required=False),
                   expires=sj.field(d, "expires", str, where, required=False),
                   vex=VexDecision.from_dict(v, f"{where}vex.")
                   if (v := sj.field(d, "vex", dict, where, required=False)) is not None
                   else None)


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
    kev: Kev | None = None  # listed in CISA's KEV catalogue (threat/)
    epss: Epss | None = None  # FIRST EPSS score of its best-scored CVE alias

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
            # only when a threat file was given: runs without one keep their shape
            **({"kev": self.kev.to_dict()} if self.kev else {}),
            **({"epss": self.epss.to_dict()} if self.epss else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> Finding:
        """A saved finding; sj.ShapeError (a ValueError) naming the field if malformed."""
        return _well_typed(d) or cls.checked(d, where)

    @classmethod
    def checked(cls, d: Mapping[str, Any], where: str = "") -> Finding:
        """from_dict, field by field: the path that names what is wrong."""
        d = sj.obj(d, where.rstrip("."))
        kw: dict[str, Any] = {k: sj.field(d, k, str, where) for k in _TEXT}
        kw.update((k, sj.field(d, k, str, where, required=False)) for k in _OPTIONAL_TEXT)
        kw.update((k, sj.text_list(d, k, where)) for k in _TEXT_LISTS)
        kw.update((k, sj.choice(kind, d, k, where)) for k, kind in _ENUM_KINDS)
        kw["confidence"] = sj.maybe_choice(Confidence, d, "confidence", where)
        for k, kind in _PARTS:
            value = sj.field(d, k, dict, where, required=False)
            kw[k] = kind.from_dict(value, f"{where}{k}.") if value is not None else None
        return cls(**kw)


# Finding's fields by how they are read: checked() and _well_typed() share these lists, and
# a test holds them to the dataclass's fields.
_TEXT = ("fingerprint", "scanner", "scanner_version", "rule_id", "title", "message")
_OPTIONAL_TEXT = ("severity_source", "target", "image", "layer", "content_hash")
_TEXT_LISTS = ("found_by", "identifiers", "references", "merged_fingerprints")
_PARTS: tuple[tuple[str, Any], ...] = (
    ("location", Location), ("package", Package), ("cvss", Cvss), ("suppression", Suppression),
    ("kev", Kev), ("epss", Epss))
_ENUM_KINDS: tuple[tuple[str, Any], ...] = (("category", Category), ("severity", Severity))
_ENUMS: dict[str, dict[str, Any]] = {k: {m.value: m for m in kind} for k, kind in _ENUM_KINDS}
_CONFIDENCE = {c.value: c for c in Confidence}


def _well_typed(d: Mapping[str, Any]) -> Finding | None:
    """Finding.checked(d) when every field of d has its type (a saved run of 100k findings:
    a quarter of the time of asking field by field); None otherwise, and checked() then
    names the problem. A test holds the two equal."""
    if type(d) is not dict:
        return None
    kw: dict[str, Any] = {}
    for k in _TEXT:
        if type(v := d.get(k)) is not str:
            return None
        kw[k] = v
    for k in _OPTIONAL_TEXT:
        if (v := d.get(k)) is not None and type(v) is not str:
            return None
        kw[k] = v
    for k in _TEXT_LISTS:
        if (v := d.get(k)) is None:
            kw[k] = ()
        elif type(v) is list and all(type(x) is str for x in v):
            kw[k] = tuple(v)
        else:
            return None
    for k, members in _ENUMS.items():
        if type(v := d.get(k)) is not str or v not in members:
            return None
        kw[k] = members[v]
    if (v := d.get("confidence")) is not None and not (type(v) is str and v in _CONFIDENCE):
        return None
    kw["confidence"] = None if v is None else _CONFIDENCE[v]
    for k, kind in _PARTS:
        if (v := d.get(k)) is not None and type(v) is not dict:
            return None
        try:
            kw[k] = None if v is None else kind.from_dict(v)
        except ValueError:
            return None  # checked() says where
    return Finding(**kw)


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
    # Where the results came from (resultcache.py): None a full run, "hit" all from the
    # result cache, "partial" the changed files re-scanned and the rest from the cache.
    cache: str | None = None

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
            **({"cache": self.cache} if self.cache else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> ScannerRun:
        """A saved scanner run; sj.ShapeError (a ValueError) naming the field if malformed."""
        d = sj.obj(d, where.rstrip("."))
        required = sj.field(d, "required", bool, where, required=False)
        duration = sj.field(d, "duration_s", (int, float), where, required=False)
        return cls(
            name=sj.field(d, "name", str, where),
            scanner=sj.field(d, "scanner", str, where),
            status=sj.choice(RunStatus, d, "status", where),
            required=True if required is None else required,
            reason=sj.field(d, "reason", str, where, required=False),
            version=sj.field(d, "version", str, where, required=False),
            tested_version=sj.field(d, "tested_version", bool, where, required=False),
            duration_s=float(duration or 0.0),
            exit_code=sj.field(d, "exit_code", int, where, required=False),
            raw_count=sj.count(d, "raw_count", where, required=False) or 0,
            raw_output=sj.field(d, "raw_output", str, where, required=False),
            warnings=sj.text_list(d, "warnings", where),
            properties=dict(sj.field(d, "properties", dict, where, required=False) or {}),
            categories=sj.text_list(d, "categories", where),
            cache=sj.field(d, "cache", str, where, required=False),
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
    # repo-relative symlinks resolving outside the scanned root: no scanner followed them
    outside_links: tuple[str, ...] = ()
    threat: tuple[ThreatSource, ...] = ()  # the KEV/EPSS files used (threat/feeds.py)
    coverage: Coverage | None = None  # what the scanners looked at (coverage.py)
    effectiveness: Effectiveness | None = None  # from the run history (effectiveness.py)
    posture: Posture | None = None  # the seven questions answered (posture.py)

    def scanner_run(self, name: str) -> ScannerRun | None:
        return next((s for s in self.scanners if s.name == name), None)


# The last tuple sorted and its order: every report sorts the same verdict.findings
# (100k findings: 0.3 s a sort, six reports). Tuples and findings are immutable.
_last_sorted: tuple[tuple[Finding, ...], tuple[Finding, ...]] = ((), ())


def sort_findings(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Deterministic order for every output: worst first, then place."""
    global _last_sorted
    last = _last_sorted
    if findings is last[0]:
        return last[1]
    out = _sorted(findings)
    if isinstance(findings, tuple):
        _last_sorted = (findings, out)
    return out


def _sorted(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    def key(f: Finding) -> tuple[Any, ...]:
        loc = f.location
        return (-f.severity.rank, f.category.value, loc.path if loc else "",
                (loc.start_line or 0) if loc else 0, f.rule_id, f.fingerprint)

    return tuple(sorted(findings, key=key))
