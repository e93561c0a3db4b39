"""The pure policy evaluator: (policy, findings, scanner runs, baseline, today) -> Verdict.

No I/O, no clock: `today` is passed in so expiry is testable. Rules, in order:
1. Suppression. Inline `# nosec`/`# nosemgrep` suppress unless the policy says
   `allow_inline_suppressions: false`; a policy ignore suppresses until its `expires`
   date (+ grace_days); a VEX statement (not_affected/fixed, applied at scan time from
   the trusted --vex files) suppresses for good. Suppressed findings are reported but
   never counted.
2. Counting. A limit at a severity counts that severity and every one above it;
   `any` counts every severity. `unknown` counts as the gate's `treat_unknown_as`
   (default high: fail closed when an advisory has no score).
3. `new` gates count only findings whose fingerprints are all absent from the baseline.
4. Ratchet: a cell (category x severity, and per target) fails only when its count
   grew past the baseline's allowance AND a finding in that cell is new.
5. A required scanner that did not finish makes the verdict "error" (exit 2).
6. Age: `first_seen` (from the history file) gives each finding's age in days as of
   `today`; a finding the history has never seen is age 0. The `overdue` gate counts
   findings older than `sla_days` for their severity (`unknown` takes the gate's
   `treat_unknown_as` unless `sla_days` names `unknown`).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ..advisories import canonical_name
from ..baseline import Baseline, cell, cell_counts
from ..model import Category, Finding, RunStatus, ScannerRun, Severity, Suppression
from ..scanners import SCANNERS
from ..targets import assign_targets, path_matches
from ..threat.data import ThreatSource
from .model import ANY, Gate, GateKind, GateSpec, Ignore, Policy, VerdictStatus

# Verdict and GateResult live in policy/model.py; re-exported for older imports.
from .model import GateResult as GateResult
from .model import Verdict as Verdict

EXPIRY_WARNING_DAYS = 14
MAX_LISTED = 20  # offending fingerprints listed per failed gate


def _ignore_matches(ign: Ignore, f: Finding) -> bool:
    if ign.fingerprint and ign.fingerprint not in f.all_fingerprints:
        return False
    if ign.id and ign.id != f.rule_id and ign.id not in f.identifiers:
        return False
    if ign.package and not _package_matches(ign.package, f):
        return False
    if ign.paths and not (f.location and any(path_matches(f.location.path, p)
                                             for p in ign.paths)):
        return False
    return not (ign.target and f.target != ign.target)


def _package_matches(spec: str, f: Finding) -> bool:
    if f.package is None:
        return False
    if spec.startswith("pkg:"):
        # purl: type/name[@version]; versionless matches every version
        body = spec[4:]
        name_part, _, version = body.partition("@")
        want = name_part.rsplit("/", 1)[-1]
        same = canonical_name(want) == canonical_name(f.package.name)
        return same and (not version or version == f.package.version)
    name = spec
    for i, ch in enumerate(spec):
        if ch in "<>=!~ ;":
            name = spec[:i]
            break
    if canonical_name(name.strip()) != canonical_name(f.package.name):
        return False
    rest = spec[len(name):].strip()
    if not rest:
        return True
    try:
        return f.package.version is not None and \
            Version(f.package.version) in SpecifierSet(rest)
    except (InvalidSpecifier, InvalidVersion):
        return False


def apply_suppressions(policy: Policy, findings: Sequence[Finding],
                       today: datetime.date) -> tuple[list[Finding], list[str]]:
    warnings: list[str] = []
    used = [0] * len(policy.ignores)
    out: list[Finding] = []
    for f in findings:
        sup = f.suppression
        if sup is not None and sup.kind == "inline" and not policy.allow_inline_suppressions:
            sup = None
        # A saved run's ignores are re-decided by this policy; VEX statements were applied
        # at scan time from trusted files (vex/apply.py) and stand.
        if sup is not None and sup.kind not in ("inline", "vex"):
            sup = None
        for n, ign in enumerate(policy.ignores):
            if not _ignore_matches(ign, f):
                continue
            used[n] += 1
            if today > ign.expires + datetime.timedelta(days=policy.grace_days):
                continue  # expired: counts again (warned below)
            if sup is None:
                sup = Suppression(kind="ignore", reason=ign.reason, owner=ign.owner,
                                  expires=ign.expires.isoformat())
        out.append(f if sup is f.suppression else f.with_(suppression=sup))
    for n, ign in enumerate(policy.ignores):
        what = ign.id or ign.package or (ign.fingerprint or "")[:12]
        where = f"{policy.source}:{ign.line}" if ign.line else policy.source
        left = (ign.expires - today).days
        if today > ign.expires + datetime.timedelta(days=policy.grace_days):
            warnings.append(f"{where}: ignore of {what} expired on {ign.expires}; "
                            f"its findings count again")
        elif today > ign.expires:
            warnings.append(f"{where}: ignore of {what} expired on {ign.expires}; "
                            f"in grace period until "
                            f"{ign.expires + datetime.timedelta(days=policy.grace_days)}")
        elif left <= EXPIRY_WARNING_DAYS:
            warnings.append(f"{where}: ignore of {what} expires in {left} day(s) "
                            f"({ign.expires}, owner {ign.owner})")
        if used[n] == 0:
            warnings.append(f"{where}: stale ignore: {what} matched no finding")
    return out, warnings


def effective(f: Finding, gate: Gate) -> Severity:
    return gate.treat_unknown_as if f.severity is Severity.UNKNOWN else f.severity


def selected(gate: Gate, findings: Sequence[Finding]) -> list[Finding]:
    out = []
    for f in findings:
        if f.suppression is not None:
            continue
        if gate.categories and f.category not in gate.categories:
            continue
        if gate.targets and f.target not in gate.targets:
            continue
        if gate.fixable_only and not f.fixable:
            continue
        # No confidence / no CVSS from the scanner counts: fail closed.
        if gate.min_confidence and f.confidence and f.confidence.rank < gate.min_confidence.rank:
            continue
        if gate.min_cvss is not None and f.cvss and f.cvss.score < gate.min_cvss:
            continue
        # No EPSS score (no CVE alias, not in the file, no file) counts: fail closed.
        if gate.min_epss is not None and f.epss and f.epss.score < gate.min_epss:
            continue
        if gate.min_percentile is not None and f.epss \
                and f.epss.percentile < gate.min_percentile:
            continue
        out.append(f)
    return out


def _at_or_above(findings: Sequence[Finding], gate: Gate, key: str) -> list[Finding]:
    if key == ANY:
        return list(findings)
    floor = Severity(key).rank
    return [f for f in findings if effective(f, gate).rank >= floor]


def _is_new(f: Finding, known: frozenset[str]) -> bool:
    return not (f.all_fingerprints & known)


def sla_for(f: Finding, gate: Gate, sla_days: Mapping[str, int]) -> int | None:
    """Days this finding may stay open, or None when its severity has no SLA."""
    if f.severity is Severity.UNKNOWN and Severity.UNKNOWN.value in sla_days:
        return sla_days[Severity.UNKNOWN.value]
    return sla_days.get(effective(f, gate).value)


def age_days(f: Finding, first_seen: Mapping[str, datetime.date], today: datetime.date) -> int:
    seen = [first_seen[fp] for fp in f.all_fingerprints if fp in first_seen]
    return max(0, (today - min(seen)).days) if seen else 0


def _is_overdue(f: Finding, gate: Gate, age: int, sla_days: Mapping[str, int]) -> bool:
    sla = sla_for(f, gate, sla_days)
    return sla is not None and age > sla


def _gate_results(spec: GateSpec, findings: Sequence[Finding], new: frozenset[str],
                  baseline_findings: Sequence[Finding] | None, *,
                  ages: Mapping[str, int] | None = None,
                  sla_days: Mapping[str, int] | None = None) -> list[GateResult]:
    pool = selected(spec.gate, findings)
    if spec.kind == "new":
        pool = [f for f in pool if f.fingerprint in new]
    if spec.kind == "kev":
        pool = [f for f in pool if f.kev is not None]
    if spec.kind == "overdue":
        pool = [f for f in pool if _is_overdue(f, spec.gate, (ages or {}).get(f.fingerprint, 0),
                                               sla_days or {})]
    base_pool = selected(spec.gate, baseline_findings) if baseline_findings is not None \
        and spec.kind not in ("new", "overdue", "kev") else None
    results = []
    order = [s.value for s in Severity.ordered()] + [ANY]
    for key in sorted(spec.gate.limits, key=order.index):
        limit = spec.gate.limits[key]
        hits = _at_or_above(pool, spec.gate, key)
        passed = len(hits) <= limit
        results.append(GateResult(
            name=f"{spec.name}.max.{key}", kind=GateKind(spec.kind), severity=key, limit=limit,
            count=len(hits), passed=passed, target=spec.target,
            unknown=sum(1 for f in hits if f.severity is Severity.UNKNOWN),
            unknown_as=spec.gate.treat_unknown_as.value,
            baseline_count=len(_at_or_above(base_pool, spec.gate, key))
            if base_pool is not None else None,
            fingerprints=() if passed else tuple(
                f.fingerprint for f in sorted(hits, key=lambda f: -f.severity.rank)
            )[:MAX_LISTED],
        ))
    return results


def _ratchet(findings: Sequence[Finding], new: frozenset[str],
             baseline: Baseline) -> list[GateResult]:
    counted = [f for f in findings if f.suppression is None]
    counts = cell_counts([(f.category, f.severity, f.target) for f in counted])
    results = []
    for key in sorted(set(counts) | set(baseline.allowed)):
        now, allowed = counts.get(key, 0), baseline.allowed.get(key, 0)
        members = [f for f in counted if key in (cell(f.category, f.severity),
                                                 cell(f.category, f.severity, f.target))]
        fresh = [f.fingerprint for f in members if f.fingerprint in new]
        passed = not (now > allowed and fresh)
        target = key.split("/", 1)[0][len("target:"):] if key.startswith("target:") else None
        results.append(GateResult(
            name=f"ratchet.{key}", kind=GateKind.RATCHET, severity=key.rsplit("/", 1)[1],
            limit=allowed, count=now, passed=passed, target=target, baseline_count=allowed,
            fingerprints=() if passed else tuple(fresh)[:MAX_LISTED]))
    return results


def _covers(run: ScannerRun) -> tuple[str, ...]:
    if run.categories:
        return run.categories
    scanner = SCANNERS.get(run.scanner)  # a run saved before categories were recorded
    return tuple(c.value for c in scanner.job_categories(None)) if scanner else ()


def coverage_errors(policy: Policy, runs: Sequence[ScannerRun]) -> list[str]:
    """Nothing scanned is not a pass: a run with no scanner result at all, or a gated
    category whose every covering job failed (optional ones included), cannot be evaluated.
    A category no job was planned for (no image given, say) is not an error."""
    if not any(r.status is RunStatus.OK for r in runs):
        if any(r.blocks_evaluation for r in runs):
            return []  # a required scanner failed: that is the error, said once
        ran = ", ".join(f"{r.name} {r.status.value}" for r in runs) or "no scanner was run"
        return [f"no scanner produced a result ({ran}): nothing was evaluated"]
    gated = {c.value for spec in policy.gates for c in (spec.gate.categories or tuple(Category))}
    errors = []
    for cat in (c.value for c in Category):
        covering = [r for r in runs if cat in _covers(r)]
        if cat not in gated or not covering or any(r.status is RunStatus.OK for r in covering):
            continue
        if any(r.blocks_evaluation for r in covering):
            continue  # already an error of its own
        names = ", ".join(f"{r.name} {r.status.value}" for r in covering)
        errors.append(f"category {cat} is gated but no scanner covering it produced a "
                      f"result ({names})")
    return errors


def evaluate(policy: Policy, findings: Sequence[Finding], runs: Sequence[ScannerRun], *,
             today: datetime.date, baseline: Baseline | None = None,
             first_seen: Mapping[str, datetime.date] | None = None,
             check_coverage: bool = True,
             threat: Sequence[ThreatSource] = ()) -> Verdict:
    """`check_coverage=False` only for policy unit tests on bare finding lists.
    `threat`: the KEV/EPSS files the findings were enriched from (ScanResult.threat)."""
    # Targets belong to the policy being evaluated (a saved run may be re-gated
    # against another policy), so they are assigned here, not at scan time.
    findings = assign_targets(findings, [t.rule() for t in policy.targets])
    applied, warnings = apply_suppressions(policy, findings, today)
    ages = {f.fingerprint: age_days(f, first_seen, today) for f in applied} \
        if first_seen is not None else None
    if first_seen is None and any(s.kind == "overdue" for s in policy.gates):
        warnings.append("overdue gate but no history given: every finding is age 0")
    known = baseline.fingerprints() if baseline is not None else frozenset()
    new = frozenset(f.fingerprint for f in applied if _is_new(f, known))
    baseline_findings = None
    if baseline is not None:
        baseline_findings = [
            Finding(fingerprint=e.fingerprint, scanner=e.scanner, scanner_version="",
                    rule_id=e.rule_id, category=e.category, severity=e.severity, title="",
                    message="", target=e.target) for e in baseline.entries]
    elif any(s.kind == "new" for s in policy.gates):
        warnings.append("no baseline given: every finding counts as new")
    if policy.ratchet and baseline is None:
        warnings.append("ratchet: true but no baseline given: the ratchet was not evaluated")
    gates: list[GateResult] = []
    for spec in policy.gates:
        gates += _gate_results(spec, applied, new, baseline_findings, ages=ages,
                               sla_days=policy.sla_days)
    if policy.ratchet and baseline is not None:
        gates += _ratchet(applied, new, baseline)
    kinds = {t.kind for t in threat}
    warnings += threat_warnings(policy, kinds)
    errors = tuple([f"{r.name}: {r.reason or r.status.value}" for r in runs
                    if r.blocks_evaluation]
                   + (coverage_errors(policy, runs) if check_coverage else [])
                   + ([] if "kev" in kinds or not any(s.kind == "kev" for s in policy.gates)
                      else ["gates.kev: no KEV catalogue was given (--kev or threat.kev): "
                            "which findings are known exploited cannot be told"]))
    for r in runs:
        if not r.required and r.status.value != "ok":
            warnings.append(f"{r.name} skipped (optional): {r.reason or r.status.value}")
    status = VerdictStatus.ERROR if errors else (
        VerdictStatus.FAIL if any(not g.passed for g in gates) else VerdictStatus.PASS)
    return Verdict(status=status, gates=tuple(gates), findings=tuple(applied),
                   new_fingerprints=new, errors=errors, warnings=tuple(warnings),
                   baseline=baseline.source if baseline else None, ages=ages)


def threat_warnings(policy: Policy, kinds: set[str]) -> list[str]:
    """An EPSS floor without EPSS data filters nothing: say so (every finding counts)."""
    if "epss" in kinds:
        return []
    return [f"gates.{s.name}: min_epss/min_percentile but no EPSS file was given: every "
            "finding counts" for s in policy.gates
            if s.gate.min_epss is not None or s.gate.min_percentile is not None]


def totals(findings: Sequence[Finding], target: str | None = None
           ) -> dict[Category, dict[Severity, int]]:
    """Counted (unsuppressed) findings by category x severity, optionally one target."""
    table = {c: dict.fromkeys(Severity.ordered(), 0) for c in Category}
    for f in findings:
        if f.suppression is None and (target is None or f.target == target):
            table[f.category][f.severity] += 1
    return table
