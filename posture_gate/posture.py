"""The posture section: the seven questions a security posture answers, each with the value
measured in this run and where it came from (docs/posture.md), beside Step 1 (what is at
stake) and Step 2 (the targets, their exposure and owners).

Assessed once, when a run is judged (pipeline.judge), and saved in findings.json; the
reporters only render it (posture_view.py).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .dates import parse_at
from .model import Category, Finding, RunStatus, ScannerRun, ScanResult, Severity
from .policy.model import Policy, Verdict
from .textutil import one_line

QUESTIONS = (
    ("mfa", "Is every user required to have MFA to use our repository?"),
    ("review", "How comprehensive is our security code review?"),
    ("open_source", "Can we accurately measure open-source vulnerabilities?"),
    ("monitoring", "Do we have a process in place to monitor them?"),
    ("os", "Who determines compliance for system tools and operating systems?"),
    ("effectiveness", "How effective is our vulnerability management?"),
    ("testing", "How do we test our application security?"),
)
MEASURED, PARTIAL, NOT_MEASURED = "measured", "partial", "not measured"


@dataclass(frozen=True, kw_only=True)
class Answer:
    key: str
    question: str
    answer: str
    status: str  # measured | partial | not measured
    source: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "question": self.question, "answer": self.answer,
                "status": self.status, "source": self.source}


@dataclass(frozen=True, kw_only=True)
class TargetInfo:
    name: str
    exposure: str | None = None
    owner: str | None = None
    holds: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "exposure": self.exposure, "owner": self.owner,
                "holds": list(self.holds)}


@dataclass(frozen=True, kw_only=True)
class Posture:
    answers: tuple[Answer, ...]
    at_stake: tuple[str, ...] = ()
    targets: tuple[TargetInfo, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"at_stake": list(self.at_stake), "targets": [t.to_dict() for t in self.targets],
                "questions": [a.to_dict() for a in self.answers]}


def from_dict(d: Mapping[str, Any]) -> Posture:
    """A saved posture block; KeyError/TypeError/ValueError if it is not one."""
    return Posture(
        answers=tuple(Answer(key=str(a["key"]), question=str(a["question"]),
                             answer=str(a["answer"]), status=str(a["status"]),
                             source=str(a["source"])) for a in d["questions"]),
        at_stake=tuple(str(x) for x in d.get("at_stake") or []),
        targets=tuple(TargetInfo(name=str(t["name"]), exposure=t.get("exposure"),
                                 owner=t.get("owner"),
                                 holds=tuple(str(h) for h in t.get("holds") or []))
                      for t in d.get("targets") or []))


def _freshness(run: ScanResult) -> list[str]:
    """The vulnerability data's date per scanner (trivy's DB, the served OSV records)."""
    out = []
    for s in run.scanners:
        for key, label in (("db_updated_at", "DB updated"),
                           ("advisories_newest", "newest advisory")):
            stamp = s.properties.get(key)
            if isinstance(stamp, str):
                out.append(f"{one_line(s.name, 40)} {label} {one_line(stamp, 40)}")
    return out


def _counted(verdict: Verdict, *cats: Category) -> list[Finding]:
    return [f for f in verdict.counted() if f.category in cats]


def _by_severity(findings: Sequence[Finding]) -> str:
    parts = [f"{sum(1 for f in findings if f.severity is s)} {s.value}"
             for s in Severity.ordered() if any(f.severity is s for f in findings)]
    return ", ".join(parts) or "none"


def _ok(runs: Sequence[ScannerRun], scanner: str) -> list[ScannerRun]:
    return [r for r in runs if r.scanner == scanner and r.status is RunStatus.OK]


def _mfa(run: ScanResult) -> tuple[str, str, str]:
    platform = next((r for r in run.scanners if r.scanner == "platform"), None)
    if platform is None:
        return ("not measured: no platform check ran (scan --platform github|gitlab)",
                NOT_MEASURED, "-")
    where = f"platform ({one_line(platform.properties.get('provider'), 20)} API)"
    if platform.status is not RunStatus.OK:
        return f"not measured: {one_line(platform.reason, 160)}", NOT_MEASURED, where
    checks = [c for c in platform.properties.get("checks") or [] if isinstance(c, dict)
              and str(c.get("rule_id", "")).endswith(("2fa-required", "without-2fa"))]
    if not checks:
        return "not measured: the platform run has no 2FA check", NOT_MEASURED, where
    words = {"pass": "yes", "fail": "no", "unknown": "unknown"}
    text = "; ".join(f"{one_line(c.get('title'), 80)}: {words.get(str(c.get('status')), '?')}"
                     f" ({one_line(c.get('detail') or c.get('value'), 120)})" for c in checks)
    status = PARTIAL if any(c.get("status") == "unknown" for c in checks) else MEASURED
    return text, status, where


def _review(run: ScanResult) -> tuple[str, str, str]:
    cov = run.coverage
    if cov is None:
        return "not measured: no coverage for this run", NOT_MEASURED, "-"
    langs = ", ".join(f"{lang.name} {lang.covered}/{lang.present} files ({lang.ratio:.0%})"
                      for lang in cov.languages) or "no source files"
    unreviewed = [lang.name for lang in cov.languages if lang.present and not lang.covered]
    tail = f"; no scanner reviews {', '.join(unreviewed)}" if unreviewed else ""
    groups = "; ".join(f"{g.kind} {sum(1 for p in g.present if p in g.covered)}/"
                       f"{len(g.present)}" for g in cov.groups if g.present)
    return (f"{langs}{tail}" + (f"; {groups}" if groups else ""),
            PARTIAL if unreviewed else MEASURED,
            "coverage: the tree vs what bandit and semgrep reported scanning")


def _open_source(run: ScanResult, verdict: Verdict) -> tuple[str, str, str]:
    ran = _ok(run.scanners, "pip-audit") + [r for r in _ok(run.scanners, "trivy")
                                            if "dependency" in r.categories]
    if not ran:
        return "not measured: no dependency scanner produced a result", NOT_MEASURED, "-"
    deps = _counted(verdict, Category.DEPENDENCY)
    unknown = sum(1 for f in _counted(verdict, Category.DEPENDENCY, Category.OS)
                  if f.severity is Severity.UNKNOWN)
    audited = sum(int(r.properties.get("audited") or 0) for r in _ok(run.scanners, "pip-audit"))
    unaudited = sum(int(r.properties.get("unaudited_accepted") or 0)
                    for r in _ok(run.scanners, "pip-audit"))
    text = (f"{len(deps)} dependency finding(s) ({_by_severity(deps)}); {unknown} of unknown "
            f"severity; {audited} package(s) audited, {unaudited} accepted unaudited")
    manifests = next((g for g in (run.coverage.groups if run.coverage else ())
                      if g.kind == "manifests"), None)
    if manifests is not None and manifests.present:
        done = sum(1 for p in manifests.present if p in manifests.covered)
        text += f"; {done}/{len(manifests.present)} lock files/manifests audited"
    status = PARTIAL if unknown or unaudited else MEASURED
    return text, status, ", ".join(sorted({r.scanner for r in ran}))


def _monitoring(run: ScanResult, policy: Policy,
                now: datetime.datetime) -> tuple[str, str, str]:
    last = run.effectiveness.as_of if run.effectiveness else (
        run.trends[-1].at if run.trends else None)
    channels = [name for name, conf in (("slack", policy.notify.slack),
                                        ("email", policy.notify.email)) if conf is not None]
    notices = f"notices: {', '.join(channels)}" if channels else "no notices configured"
    if last is None:
        return (f"not measured: no run history given (--history); {notices}", NOT_MEASURED,
                "policy notify")
    age = (now - parse_at(last)).total_seconds() / 86400
    runs = run.effectiveness.runs if run.effectiveness else len(run.trends or ())
    return (f"last recorded run {last} ({age:.1f} days before this one), {runs} run(s) "
            f"recorded; {notices}", MEASURED if channels else PARTIAL,
            "run history (--history), policy notify")


def _os(run: ScanResult, verdict: Verdict, policy: Policy) -> tuple[str, str, str]:
    owners = [f"{t.name}: {t.owner}" for t in policy.targets if t.owner]
    who = f"owners: {'; '.join(owners)}" if owners else "no owner named (targets[].owner)"
    if not [r for r in _ok(run.scanners, "trivy") if "os" in r.categories]:
        return f"not measured: no OS package scan ran (--image); {who}", NOT_MEASURED, \
            "policy targets"
    found = _counted(verdict, Category.OS)
    fresh = "; ".join(_freshness(run)) or "DB age unknown"
    return (f"{len(found)} OS finding(s) ({_by_severity(found)}); {fresh}; {who}",
            MEASURED if owners else PARTIAL, "trivy (OS packages), policy targets[].owner")


def _effectiveness(run: ScanResult) -> tuple[str, str, str]:
    eff = run.effectiveness
    if eff is None:
        return "not measured: no run history given (--history)", NOT_MEASURED, "-"
    parts = [f"time to fix {k} median {s.median:g} d, p90 {s.p90:g} d (n={s.n})"
             for k, s in eff.time_to_fix_by_severity.items()]
    parts += [f"SLA {s.severity} {s.compliance:.0%}" for s in eff.sla
              if s.compliance is not None]
    return ("; ".join(parts) or "nothing fixed yet", MEASURED if parts else PARTIAL,
            f"run history as of {eff.as_of}")


def _testing(run: ScanResult) -> tuple[str, str, str]:
    done = [f"{r.name}{' ' + one_line(r.version, 20) if r.version else ''} "
            f"({', '.join(r.categories) or '-'})" for r in run.scanners
            if r.status is RunStatus.OK]
    failed = [f"{r.name} {r.status.value}" for r in run.scanners if r.status is not RunStatus.OK]
    text = "ran: " + (", ".join(done) or "nothing") + \
        (f"; did not finish: {', '.join(failed)}" if failed else "")
    return text, PARTIAL if failed or not done else MEASURED, "this run's scanner jobs"


def assess(policy: Policy, run: ScanResult, verdict: Verdict,
           now: datetime.datetime) -> Posture:
    found = {"mfa": _mfa(run), "review": _review(run),
             "open_source": _open_source(run, verdict),
             "monitoring": _monitoring(run, policy, now), "os": _os(run, verdict, policy),
             "effectiveness": _effectiveness(run), "testing": _testing(run)}
    return Posture(
        answers=tuple(Answer(key=k, question=q, answer=one_line(found[k][0], 600),
                             status=found[k][1], source=found[k][2]) for k, q in QUESTIONS),
        at_stake=tuple(policy.at_stake),
        targets=tuple(TargetInfo(name=t.name, exposure=t.exposure,
                                 owner=t.owner, holds=tuple(t.holds))
                      for t in policy.targets))
