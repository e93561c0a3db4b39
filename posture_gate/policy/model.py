"""The validated policy as frozen data (built only by policy/schema.py), and what
evaluating it gives: `GateResult` per gate and the `Verdict`."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..model import Category, Confidence, Finding, Severity
from ..platform import PlatformSettings
from ..scanners import SCANNERS
from ..scanners.base import ScannerSettings
from ..targets import TargetRule

ANY = "any"


@dataclass(frozen=True, kw_only=True)
class Gate:
    """Limits on one set of findings. `limits` keys are a Severity value or 'any'."""

    limits: Mapping[str, int]
    categories: tuple[Category, ...] = ()
    targets: tuple[str, ...] = ()
    fixable_only: bool = False
    min_confidence: Confidence | None = None
    min_cvss: float | None = None
    # EPSS floors: a finding scored below is not counted; one with no score is (fail closed)
    min_epss: float | None = None
    min_percentile: float | None = None
    treat_unknown_as: Severity = Severity.HIGH


@dataclass(frozen=True, kw_only=True)
class GateSpec:
    """A named gate as written in the policy: `dependency`, `new`, `per_target.api.code`."""

    name: str
    kind: str  # "category" | "new" | "overdue" | "kev"
    gate: Gate
    target: str | None = None


@dataclass(frozen=True, kw_only=True)
class Target:
    name: str
    paths: tuple[str, ...] = ()
    image: str | None = None
    exposure: str | None = None
    holds: tuple[str, ...] = ()
    preset: str | None = None
    owner: str | None = None  # who answers for it (the posture section)

    def rule(self) -> TargetRule:
        return TargetRule(name=self.name, paths=self.paths, image=self.image)


@dataclass(frozen=True, kw_only=True)
class Ignore:
    reason: str
    owner: str
    expires: datetime.date
    id: str | None = None
    fingerprint: str | None = None
    package: str | None = None
    paths: tuple[str, ...] = ()
    target: str | None = None
    line: int | None = None  # where it is written, for messages


@dataclass(frozen=True, kw_only=True)
class ThreatFiles:
    """Pinned KEV/EPSS files (trusted policy only); paths as written, resolved by the CLI."""

    kev: str | None = None
    epss: str | None = None
    max_age_days: int = 7


@dataclass(frozen=True, kw_only=True)
class SlackNotify:
    webhook_url_env: str  # the URL is read from this environment variable, never the file
    on: str = "failure"  # failure | change | always


@dataclass(frozen=True, kw_only=True)
class EmailNotify:
    smtp_host: str
    sender: str
    to: tuple[str, ...]
    smtp_port: int | None = None  # default 587 with STARTTLS, else 25
    starttls: bool = True
    username_env: str | None = None
    password_env: str | None = None
    on: str = "failure"


@dataclass(frozen=True, kw_only=True)
class Notify:
    slack: SlackNotify | None = None
    email: EmailNotify | None = None


@dataclass(frozen=True, kw_only=True)
class CoveragePolicy:
    """`coverage:` floors on review coverage (coverage_gate.py)."""

    min_ratio: Mapping[str, float] = field(default_factory=dict)  # language|iac|manifests|images
    unscanned_languages: str = "warn"  # fail | warn


@dataclass(frozen=True, kw_only=True)
class EffectivenessPolicy:
    """`effectiveness:` limits on time to fix and SLA compliance (effectiveness.py)."""

    max_median_days_to_fix: Mapping[str, float] = field(default_factory=dict)  # severity ->
    max_p90_days_to_fix: Mapping[str, float] = field(default_factory=dict)
    min_sla_compliance: Mapping[str, float] = field(default_factory=dict)  # share, 0..1


@dataclass(frozen=True, kw_only=True)
class Policy:
    source: str  # file path, "preset:default", "REF:PATH", or "TRUSTED + LOCAL"
    digest: str
    base_dir: str | None = None  # relative paths resolve here; None: the scanned root
    at_stake: tuple[str, ...] = ()
    targets: tuple[Target, ...] = ()
    # Empty when the policy names no scanners: then all four run with their defaults.
    scanners: Mapping[str, ScannerSettings] = field(default_factory=dict)
    gates: tuple[GateSpec, ...] = ()
    ratchet: bool = False
    ignores: tuple[Ignore, ...] = ()
    allow_inline_suppressions: bool = True
    max_ignore_days: int = 90
    grace_days: int = 0
    advisories: str | None = None
    threat: ThreatFiles = field(default_factory=ThreatFiles)
    vex: tuple[str, ...] = ()  # trusted-only: VEX files, paths as written
    sla_days: Mapping[str, int] = field(default_factory=dict)  # severity value -> days
    notify: Notify = field(default_factory=Notify)
    # Trusted-only keys (policy/trust.py refuses them in a repository-local policy).
    honor_repo_config: tuple[str, ...] = ()
    allow_repo_ignores: bool = False
    platform: PlatformSettings | None = None  # where and how to read platform posture
    coverage: CoveragePolicy | None = None
    effectiveness: EffectivenessPolicy | None = None

    def scanner_settings(self) -> dict[str, ScannerSettings]:
        """The scanners this policy configures, or every registered one with its defaults
        if it names none."""
        if self.scanners:
            return dict(self.scanners)
        return {name: ScannerSettings(name=name, required=s.required_by_default)
                for name, s in SCANNERS.items()}


class _TextEnum(str, enum.Enum):
    """An enum that is also its value: compares equal to, formats and serializes as, the
    plain string (findings.json, the history file and messages hold the value)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class VerdictStatus(_TextEnum):
    PASS = "pass"  # noqa: S105 (exit 0)
    FAIL = "fail"  # exit 1
    ERROR = "error"  # exit 2: the run cannot be judged

    @property
    def exit_code(self) -> int:
        return {VerdictStatus.PASS: 0, VerdictStatus.FAIL: 1}.get(self, 2)


class GateKind(_TextEnum):
    CATEGORY = "category"
    NEW = "new"
    OVERDUE = "overdue"
    KEV = "kev"
    RATCHET = "ratchet"
    COVERAGE = "coverage"  # review coverage floors (coverage_gate.py)
    EFFECTIVENESS = "effectiveness"  # time to fix / SLA limits (effectiveness.py)


@dataclass(frozen=True, kw_only=True)
class GateResult:
    name: str  # e.g. "dependency.max.high", "ratchet.code/high"
    kind: GateKind
    severity: str  # threshold: a Severity value or "any"
    limit: int
    count: int
    passed: bool
    target: str | None = None
    baseline_count: int | None = None
    fingerprints: tuple[str, ...] = ()  # the findings that made it fail (first MAX_LISTED)
    unknown: int = 0  # of `count`, findings of unknown severity counted as `unknown_as`
    unknown_as: str = Severity.HIGH.value  # the gate's treat_unknown_as

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", GateKind(self.kind))  # a plain string is accepted

    @property
    def delta(self) -> int | None:
        return None if self.baseline_count is None else self.count - self.baseline_count


@dataclass(frozen=True, kw_only=True)
class Verdict:
    status: VerdictStatus
    gates: tuple[GateResult, ...]
    findings: tuple[Finding, ...]  # with suppressions applied
    new_fingerprints: frozenset[str]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    baseline: str | None = None
    ages: Mapping[str, int] | None = None  # fingerprint -> days open; None without history
    new_since_last: tuple[str, ...] | None = None  # vs the previous run in the history
    fixed_since_last: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        # A plain "pass"/"fail"/"error" is accepted; anything else is a ValueError.
        object.__setattr__(self, "status", VerdictStatus(self.status))

    @property
    def exit_code(self) -> int:
        return self.status.exit_code

    @property
    def failed_gates(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if not g.passed)

    def counted(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppression is None)
