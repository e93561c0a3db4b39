"""The pure evaluator, rule by rule (today injected), plus property tests."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posture_gate import baseline as bl
from posture_gate.model import (
    Category,
    Confidence,
    Cvss,
    Finding,
    Location,
    Package,
    RunStatus,
    ScannerRun,
    Severity,
    Suppression,
)
from posture_gate.policy import schema
from posture_gate.policy.evaluate import Verdict, evaluate

TODAY = datetime.date(2026, 11, 26)
NOW = datetime.datetime(2026, 11, 26, 12, tzinfo=datetime.timezone.utc)


def fid(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def F(category: str = "code", severity: str = "high", *, rule: str = "B602",
      path: str = "app/x.py", n: int = 0, target: str | None = None,
      fixes: tuple[str, ...] = (), conf: str | None = None, cvss: float | None = None,
      inline: bool = False, ids: tuple[str, ...] = (), pkg: str | None = None) -> Finding:
    package = Package(ecosystem="PyPI", name=pkg or "pyyaml", version="5.1",
                      fixed_versions=fixes) if category in ("dependency", "os") else None
    return Finding(
        fingerprint=fid(category, severity, rule, path, n), scanner="bandit",
        scanner_version="1", rule_id=rule, category=Category(category),
        severity=Severity(severity), title="t", message="m",
        location=Location(path=path, start_line=n + 1), package=package, target=target,
        confidence=Confidence(conf) if conf else None,
        cvss=Cvss(version="3.1", vector="v", score=cvss) if cvss is not None else None,
        suppression=Suppression(kind="inline", reason="# nosec") if inline else None,
        identifiers=ids)


def policy(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    p = tmp_path / "p.yml"
    p.write_text("version: 1\n" + text)
    return schema.load_policy(str(p), today=TODAY)


def verdict(tmp_path: Path, text: str, findings: list[Finding], today: datetime.date = TODAY,
            baseline: bl.Baseline | None = None, runs: tuple[ScannerRun, ...] = ()) -> Verdict:
    # Counting-rule tests pass no runs: coverage has tests of its own.
    return evaluate(policy(tmp_path, text), findings, runs, today=today, baseline=baseline,
                    check_coverage=bool(runs))


def counts(v) -> dict[str, tuple[int, bool]]:  # type: ignore[no-untyped-def]
    return {g.name: (g.count, g.passed) for g in v.gates}


# --- counting rule -------------------------------------------------------------------------

CASES = [
    # (gate yaml, findings, expected {gate: (count, passed)})
    ("gates: {code: {max: {high: 0}}}", [F(severity="critical")],
     {"code.max.high": (1, False)}),  # a high limit also counts criticals
    ("gates: {code: {max: {high: 0}}}", [F(severity="medium")], {"code.max.high": (0, True)}),
    ("gates: {code: {max: {medium: 1}}}", [F(severity="medium"), F(severity="high", n=1)],
     {"code.max.medium": (2, False)}),
    ("gates: {code: {max: {critical: 0, high: 2}}}",
     [F(severity="high"), F(severity="high", n=1)],
     {"code.max.critical": (0, True), "code.max.high": (2, True)}),
    ("gates: {secret: {max: {any: 0}}}", [F("secret", "info")], {"secret.max.any": (1, False)}),
    ("gates: {secret: {max: {any: 0}}}", [F("code", "critical")], {"secret.max.any": (0, True)}),
    # unknown counts as high by default, as written otherwise
    ("gates: {dependency: {max: {high: 0}}}", [F("dependency", "unknown")],
     {"dependency.max.high": (1, False)}),
    ("gates: {dependency: {max: {high: 0}, treat_unknown_as: low}}", [F("dependency", "unknown")],
     {"dependency.max.high": (0, True)}),
    # subsets: fixable_only, min_confidence, min_cvss (missing values still count)
    ("gates: {os: {max: {any: 0}, fixable_only: true}}",
     [F("os", "critical"), F("os", "critical", n=1, fixes=("2",))], {"os.max.any": (1, False)}),
    ("gates: {code: {max: {any: 0}, min_confidence: medium}}",
     [F(conf="low"), F(n=1, conf="high"), F(n=2)], {"code.max.any": (2, False)}),
    ("gates: {dependency: {max: {any: 0}, min_cvss: 7.0}}",
     [F("dependency", "high", cvss=6.9), F("dependency", "high", n=1, cvss=7.5),
      F("dependency", "high", n=2)], {"dependency.max.any": (2, False)}),
    # inline suppressions do not count unless the policy forbids them
    ("gates: {code: {max: {any: 0}}}", [F(inline=True)], {"code.max.any": (0, True)}),
    ("allow_inline_suppressions: false\ngates: {code: {max: {any: 0}}}", [F(inline=True)],
     {"code.max.any": (1, False)}),
]


@pytest.mark.parametrize("text, findings, expected", CASES)
def test_gate_counting(text: str, findings: list[Finding], expected: dict[str, tuple[int, bool]],
                       tmp_path: Path) -> None:
    assert counts(verdict(tmp_path, text, findings)) == expected


def test_failed_gate_lists_offending_fingerprints(tmp_path: Path) -> None:
    bad, ok = F(severity="high"), F(severity="low", n=1)
    v = verdict(tmp_path, "gates: {code: {max: {high: 0}}}", [bad, ok])
    assert v.status == "fail" and v.exit_code == 1
    assert v.gates[0].fingerprints == (bad.fingerprint,)


# --- targets -------------------------------------------------------------------------------

TARGETS = """targets:
  - {name: api, paths: [services/api], exposure: internet, holds: [private-records],
     preset: strict}
  - {name: worker, paths: [services/worker]}
"""


def test_targets_come_from_the_evaluated_policy(tmp_path: Path) -> None:
    stale = F(path="services/api/a.py", target="old-name")
    v = verdict(tmp_path, TARGETS + "gates: {code: {max: {any: 9}}}", [stale])
    assert v.findings[0].target == "api"


def test_per_target_gate_and_strict_preset(tmp_path: Path) -> None:
    text = TARGETS + ("gates:\n  code: {max: {high: 5}}\n"
                      "  per_target:\n    worker: {code: {max: {low: 0}}}\n")
    fs = [F(severity="medium", path="services/api/a.py"),
          F(severity="low", n=1, path="services/worker/w.py"),
          F(severity="medium", n=2, path="scripts/x.py")]
    c = counts(verdict(tmp_path, text, fs))
    assert c["code.max.high"] == (0, True)
    assert c["per_target.worker.code.max.low"] == (1, False)
    assert c["per_target.api.code (strict).max.medium"] == (1, False)  # strict: medium 0


# --- ignores -------------------------------------------------------------------------------

IGNORE = """gates: {code: {max: {any: 0}}, dependency: {max: {any: 0}}}
ignore:
  - {id: B602, reason: not reachable from input, owner: team-a, expires: 2026-12-31}
"""


def test_ignore_by_id_until_expiry_then_counts_again(tmp_path: Path) -> None:
    f = F(rule="B602")
    v = verdict(tmp_path, IGNORE, [f])
    assert v.status == "pass"
    sup = v.findings[0].suppression
    assert sup is not None and (sup.kind, sup.owner, sup.expires) == \
        ("ignore", "team-a", "2026-12-31")
    later = verdict(tmp_path, IGNORE, [f], today=datetime.date(2027, 1, 1))
    assert later.status == "fail"
    assert any("expired on 2026-12-31" in w for w in later.warnings)


def test_ignore_expiring_soon_warns_and_grace_days(tmp_path: Path) -> None:
    soon = verdict(tmp_path, IGNORE, [F()], today=datetime.date(2026, 12, 20))
    assert soon.status == "pass" and any("expires in 11 day(s)" in w for w in soon.warnings)
    grace = verdict(tmp_path, "grace_days: 5\n" + IGNORE, [F()], today=datetime.date(2027, 1, 3))
    assert grace.status == "pass" and any("grace period" in w for w in grace.warnings)


def test_stale_ignore_is_reported(tmp_path: Path) -> None:
    v = verdict(tmp_path, IGNORE, [F(rule="B101")])
    assert any("stale ignore: B602 matched no finding" in w for w in v.warnings)


@pytest.mark.parametrize("entry, hit", [
    ("{fingerprint: FP}", True),
    ("{package: pyyaml}", True),
    ("{package: 'PyYAML<6'}", True),
    ("{package: 'pyyaml>=5.2'}", False),
    ("{package: 'pkg:pypi/pyyaml@5.1'}", True),
    ("{package: 'pkg:pypi/pyyaml@5.2'}", False),
    ("{id: CVE-2020-1747}", True),
    ("{id: CVE-2020-1747, paths: [other.txt]}", False),
    ("{id: CVE-2020-1747, paths: [requirements.txt]}", True),
    ("{id: CVE-2020-1747, target: api}", False),
])
def test_ignore_matchers(entry: str, hit: bool, tmp_path: Path) -> None:
    f = F("dependency", "high", rule="PYSEC-2020-96", path="requirements.txt",
          ids=("PYSEC-2020-96", "CVE-2020-1747"))
    text = (TARGETS + "gates: {dependency: {max: {any: 0}}}\nignore:\n  - "
            + entry.replace("FP", f.fingerprint)[:-1]
            + ", reason: accepted risk, owner: sec, expires: 2027-01-31}\n")
    assert (verdict(tmp_path, text, [f]).status == "pass") is hit


# --- baseline, new, ratchet ----------------------------------------------------------------

def base(findings: list[Finding]) -> bl.Baseline:
    return bl.from_doc(__import__("json").loads(bl.to_json(bl.build(findings, now=NOW))), "b")


def test_new_gate_counts_only_findings_absent_from_baseline(tmp_path: Path) -> None:
    old, new = F(), F(n=1)
    v = verdict(tmp_path, "gates: {new: {max: {high: 0}}}", [old, new], baseline=base([old]))
    assert counts(v) == {"new.max.high": (1, False)}
    assert v.new_fingerprints == {new.fingerprint}
    same = verdict(tmp_path, "gates: {new: {max: {high: 0}}}", [old], baseline=base([old]))
    assert same.status == "pass"


def test_merged_fingerprints_match_the_baseline(tmp_path: Path) -> None:
    old = F()
    now = F(n=5).with_(merged_fingerprints=(old.fingerprint,))
    v = verdict(tmp_path, "gates: {new: {max: {any: 0}}}", [now], baseline=base([old]))
    assert v.status == "pass"


def test_ratchet_fails_only_when_total_grew_and_a_finding_is_new(tmp_path: Path) -> None:
    text = "gates: {ratchet: true}"
    a, b, c = F(), F(n=1), F(n=2)
    b2 = base([a, b])
    assert verdict(tmp_path, text, [a, b], baseline=b2).status == "pass"
    assert verdict(tmp_path, text, [a], baseline=b2).status == "pass"  # went down
    # one old fixed, one new added: total did not grow, so no red build for old debt
    assert verdict(tmp_path, text, [a, c], baseline=b2).status == "pass"
    grew = verdict(tmp_path, text, [a, b, c], baseline=b2)
    assert grew.status == "fail"
    failed = grew.failed_gates[0]
    assert failed.name == "ratchet.code/high" and failed.fingerprints == (c.fingerprint,)
    assert (failed.count, failed.limit, failed.delta) == (3, 2, 1)


def test_ratchet_per_target(tmp_path: Path) -> None:
    text = TARGETS + "gates: {ratchet: true}"
    a = F(path="services/api/a.py")
    moved = F(n=1, path="services/worker/w.py")
    old = [a.with_(target="api"), F(n=3, path="services/api/b.py", target="api")]
    v = verdict(tmp_path, text, [a, moved], baseline=base(old))
    assert [g.name for g in v.failed_gates if g.kind == "ratchet"] == \
        ["ratchet.target:worker/code/high"]


def test_baseline_write_never_raises_a_total(tmp_path: Path) -> None:
    first = bl.build([F()], now=NOW)
    second = bl.build([F(), F(n=1)], now=NOW, previous=first)
    assert second.allowed["code/high"] == 1 and not second.increases_allowed
    forced = bl.build([F(), F(n=1)], now=NOW, previous=first, allow_increase=True)
    assert forced.allowed["code/high"] == 2 and "allow-increase" in bl.to_json(forced)


def test_older_baseline_algorithm_is_migrated_not_all_new(tmp_path: Path) -> None:
    import json

    f = F().with_(content_hash="c" * 64)
    doc = json.loads(bl.to_json(bl.build([f], now=NOW)))
    doc["fingerprint_algorithm"] = "pg-fp-0"
    doc["findings"][0]["fingerprint"] = "0" * 64  # what the old algorithm produced
    migrated = bl.from_doc(doc, "old")
    from posture_gate import fingerprint as fp

    expected = fp.code_basis(category="code", rule_key="bandit:B602", path="app/x.py",
                             content="c" * 64)
    assert expected in migrated.fingerprints() and "0" * 64 in migrated.fingerprints()


# --- scanners ------------------------------------------------------------------------------

def test_required_scanner_failure_is_error_optional_is_warning(tmp_path: Path) -> None:
    failed = ScannerRun(name="trivy", scanner="trivy", status=RunStatus.TIMEOUT, reason="slow")
    v = verdict(tmp_path, "gates: {code: {max: {any: 0}}}", [], runs=(failed,))
    assert v.status == "error" and v.exit_code == 2 and v.errors == ("trivy: slow",)
    opt = ScannerRun(name="trivy", scanner="trivy", status=RunStatus.FAILED, required=False,
                     reason="boom")
    ok = ScannerRun(name="bandit", scanner="bandit", status=RunStatus.OK, categories=("code",))
    v = verdict(tmp_path, "gates: {code: {max: {any: 0}}}", [], runs=(opt, ok))
    assert v.status == "pass" and v.warnings == ("trivy skipped (optional): boom",)


# --- coverage: nothing scanned is not a pass ------------------------------------------------

def _run(name: str, status: RunStatus, *cats: str, required: bool = False) -> ScannerRun:
    return ScannerRun(name=name, scanner=name, status=status, required=required,
                      reason=None if status is RunStatus.OK else "boom", categories=cats)


def test_no_scanner_ran_is_error(tmp_path: Path) -> None:
    v = evaluate(policy(tmp_path, "gates: {code: {max: {any: 0}}}"), [], [], today=TODAY)
    assert v.status == "error" and "no scanner was run" in v.errors[0]


def test_every_scanner_optional_and_skipped_is_error(tmp_path: Path) -> None:
    runs = (_run("bandit", RunStatus.TIMEOUT, "code"), _run("semgrep", RunStatus.FAILED, "code"))
    v = verdict(tmp_path, "gates: {code: {max: {any: 0}}}", [], runs=runs)
    assert v.status == "error" and v.errors == (
        "no scanner produced a result (bandit timeout, semgrep failed): nothing was evaluated",)


def test_gated_category_whose_scanners_were_all_skipped_is_error(tmp_path: Path) -> None:
    runs = (_run("bandit", RunStatus.OK, "code"), _run("pip-audit", RunStatus.FAILED, "dependency"))
    v = verdict(tmp_path, "gates: {code: {max: {any: 0}}, dependency: {max: {high: 0}}}", [],
                runs=runs)
    assert v.status == "error" and v.errors == (
        "category dependency is gated but no scanner covering it produced a result "
        "(pip-audit failed)",)
    # Not gated: a warning only.
    v = verdict(tmp_path, "gates: {code: {max: {any: 0}}}", [], runs=runs)
    assert v.status == "pass" and v.warnings == ("pip-audit skipped (optional): boom",)
    # Another scanner covering it succeeded: fine.
    runs2 = (*runs, _run("trivy", RunStatus.OK, "dependency", "os"))
    v = verdict(tmp_path, "gates: {dependency: {max: {high: 0}}}", [], runs=runs2)
    assert v.status == "pass"
    # A `new` gate counts every category, so every category with a skipped scanner counts.
    v = verdict(tmp_path, "gates: {new: {max: {any: 0}}}", [], runs=runs)
    assert v.status == "error"


def test_category_nothing_was_planned_for_is_not_error(tmp_path: Path) -> None:
    v = verdict(tmp_path, "gates: {os: {max: {critical: 0}}, code: {max: {any: 0}}}", [],
                runs=(_run("bandit", RunStatus.OK, "code"),))
    assert v.status == "pass"


# --- properties ----------------------------------------------------------------------------

SEVS = [s.value for s in Severity]
CATS = [c.value for c in Category]
finding_st = st.builds(
    lambda c, s, n, fix, conf, inline: F(c, s, n=n, fixes=("9",) if fix else (), conf=conf,
                                         inline=inline),
    st.sampled_from(CATS), st.sampled_from(SEVS), st.integers(0, 30), st.booleans(),
    st.sampled_from([None, "low", "medium", "high"]), st.booleans())
gate_st = st.fixed_dictionaries(
    {"max": st.dictionaries(st.sampled_from([*SEVS, "any"]), st.integers(0, 5), min_size=1)},
    optional={"fixable_only": st.booleans(),
              "min_confidence": st.sampled_from(["low", "medium", "high"]),
              "min_cvss": st.floats(0, 10).map(lambda x: round(x, 1)),
              "treat_unknown_as": st.sampled_from(SEVS)})
policy_st = st.fixed_dictionaries({}, optional={
    **{c: gate_st for c in CATS}, "new": gate_st, "ratchet": st.booleans()})


def _yaml(gates: dict) -> str:  # type: ignore[type-arg]
    import json

    return "gates: " + json.dumps(gates) + "\n"


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gates=policy_st, findings=st.lists(finding_st, max_size=12), use_base=st.booleans())
def test_evaluation_never_raises_on_a_valid_policy(tmp_path: Path, gates: dict,  # type: ignore[type-arg]
                                                   findings: list[Finding], use_base: bool) -> None:
    v = verdict(tmp_path, _yaml(gates), findings,
                baseline=base(findings[: len(findings) // 2]) if use_base else None)
    assert v.status in ("pass", "fail")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gates=policy_st, findings=st.lists(finding_st, min_size=1, max_size=12),
       pick=st.integers(0, 11))
def test_adding_an_ignore_never_raises_a_count(tmp_path: Path, gates: dict,  # type: ignore[type-arg]
                                               findings: list[Finding], pick: int) -> None:
    before = counts(verdict(tmp_path, _yaml(gates), findings))
    target = findings[pick % len(findings)]
    ignore = (f"ignore:\n  - {{fingerprint: {target.fingerprint}, reason: accepted, "
              f"owner: me, expires: 2027-01-01}}\n")
    after = counts(verdict(tmp_path, _yaml(gates) + ignore, findings))
    for name, (count, _) in after.items():
        assert count <= before[name][0]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=st.text(alphabet="abcdefgh()=, ", min_size=3, max_size=30).filter(str.strip),
       before=st.integers(0, 20), indent=st.integers(0, 8))
def test_moved_finding_keeps_fingerprint_and_is_not_new(tmp_path: Path, code: str, before: int,
                                                        indent: int) -> None:
    from tests.test_fingerprint import _bandit_fp

    src = tmp_path / "app.py"
    src.write_text(f"x = 1\n{code}\n")
    original = _bandit_fp(tmp_path, 2)
    src.write_text("x = 1\n" + "\n" * before + " " * indent + code + "\n")
    moved = _bandit_fp(tmp_path, 2 + before)
    assert moved == original
    old = F().with_(fingerprint=original)
    v = verdict(tmp_path, "gates: {new: {max: {any: 0}}, ratchet: true}",
                [old.with_(location=Location(path="app.py", start_line=2 + before))],
                baseline=base([old]))
    assert v.status == "pass" and not v.new_fingerprints
