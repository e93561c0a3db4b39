"""Trusted vs repository-local policy: the code under review may only tighten its gate."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import pytest

from posture_gate.errors import PolicyError, UsageError
from posture_gate.model import Category
from posture_gate.policy import trust
from posture_gate.scanners import SCANNERS
from tests.support.clirun import CliFixture

TODAY = datetime.date(2026, 12, 1)
TRUSTED = """\
version: 1
scanners:
  pip-audit: {}
  bandit: {skip: [B101]}
  semgrep: {config: [bundled], exclude: [vendor]}
  trivy: {scanners: [misconfig, secret], max_db_age_days: 30}
max_ignore_days: 30
allow_inline_suppressions: false
gates:
  code: {max: {critical: 0, high: 0}}
  dependency: {max: {high: 0}, fixable_only: false}
  secret: {max: {any: 0}}
ignore:
  - {id: CVE-2020-1747, reason: not reachable, owner: sec, expires: '2026-12-20'}
targets:
  - {name: api, paths: [app/]}
"""


def resolve(tmp_path: Path, local: str | None, trusted: str = TRUSTED,
            **kw: str) -> trust.Resolved:
    root = tmp_path / "repo"
    root.mkdir(exist_ok=True)
    pol = tmp_path / "trusted.yml"
    pol.write_text(trusted)
    if local is not None:
        (root / "posture-gate.yml").write_text("version: 1\n" + local)
    return trust.resolve(kw.get("policy", str(pol)), kw.get("policy_ref"), root, today=TODAY)


def refused(tmp_path: Path, local: str) -> str:
    with pytest.raises(PolicyError) as exc:
        resolve(tmp_path, local)
    return exc.value.one_line()


def test_identical_copy_changes_nothing(tmp_path: Path) -> None:
    r = resolve(tmp_path, TRUSTED.removeprefix("version: 1\n"))
    assert r.trust.tightened == () and r.trust.local and r.trust.trusted
    assert [g.name for g in r.policy.gates] == ["code", "dependency", "secret"]


@pytest.mark.parametrize(("local", "line", "key"), [
    # the attacks of issue 10, each one refused at its own line and key
    ("gates:\n  code: {max: {critical: 0, high: 5}}\n", 3, "gates.code.max"),
    ("gates:\n  code: {max: {critical: 0}}\n", 3, "gates.code.max"),
    ("gates:\n  dependency: {max: {high: 0}, fixable_only: true}\n", 3,
     "gates.dependency.fixable_only"),
    ("gates:\n  dependency: {max: {high: 0}, treat_unknown_as: low}\n", 3,
     "gates.dependency.treat_unknown_as"),
    ("gates:\n  code: {max: {high: 0}, min_confidence: high}\n", 3, "gates.code.min_confidence"),
    ("scanners:\n  bandit: {enabled: false}\n", 3, "scanners.bandit.enabled"),
    ("scanners:\n  bandit: {optional: true}\n", 3, "scanners.bandit.optional"),
    ("scanners:\n  semgrep: {required: false}\n", 3, "scanners.semgrep.required"),
    ("scanners:\n  trivy: {timeout: 0.01}\n", 3, "scanners.trivy.timeout"),
    ("scanners:\n  bandit: {args: [-t, B101]}\n", 3, "scanners.bandit.args"),
    ("scanners:\n  semgrep: {exclude: ['*.py']}\n", 3, "scanners.semgrep.exclude"),
    ("scanners:\n  bandit: {skip: [B101, B602]}\n", 3, "scanners.bandit.skip"),
    ("scanners:\n  bandit: {allow_parse_errors: true}\n", 3, "scanners.bandit.allow_parse_errors"),
    ("scanners:\n  semgrep: {allow_analysis_errors: true}\n", 3,
     "scanners.semgrep.allow_analysis_errors"),
    ("scanners:\n  trivy: {scanners: [misconfig]}\n", 3, "scanners.trivy.scanners"),
    ("scanners:\n  trivy: {cache_dir: /tmp/evil}\n", 3, "scanners.trivy.cache_dir"),
    ("scanners:\n  trivy: {max_db_age_days: 3650}\n", 3, "scanners.trivy.max_db_age_days"),
    ("scanners:\n  pip-audit: {osv_url: 'http://evil.example/v1/query'}\n", 3,
     "scanners.pip-audit.osv_url"),
    ("scanners:\n  pip-audit: {requirements: [empty.txt]}\n", 3,
     "scanners.pip-audit.requirements"),
    ("scanners:\n  semgrep: {config: [bundled, p/python]}\n", 3, "scanners.semgrep.config[1]"),
    ("advisories: empty-dir\n", 2, "advisories"),
    ("notify:\n  email:\n    smtp_host: 127.0.0.1\n    from: a@b.c\n    to: [x@y.z]\n"
     "    username_env: AWS_SECRET_ACCESS_KEY\n    password_env: GITHUB_TOKEN\n", 2, "notify"),
    ("notify:\n  slack: {webhook_url_env: GITHUB_TOKEN}\n", 2, "notify"),
    ("allow_inline_suppressions: true\n", 2, "allow_inline_suppressions"),
    ("max_ignore_days: 90\n", 2, "max_ignore_days"),
    ("grace_days: 30\n", 2, "grace_days"),
    ("honor_repo_config: [.semgrepignore]\n", 2, "honor_repo_config"),
    ("allow_repo_ignores: true\n", 2, "allow_repo_ignores"),
    ("ignore:\n  - {id: B602, reason: fixture only, owner: dev, expires: '2026-12-05'}\n", 3,
     "ignore[0]"),
    ("targets:\n  - {name: api, paths: [nothing/]}\n", 3, "targets[0]"),
    ("gates:\n  ratchet: false\n", 3, "gates.ratchet"),
])
def test_loosening_or_reaching_outside_is_refused(tmp_path: Path, local: str, line: int,
                                                  key: str) -> None:
    trusted = TRUSTED.replace("gates:\n", "gates:\n  ratchet: true\n") \
        if key == "gates.ratchet" else TRUSTED
    with pytest.raises(PolicyError) as exc:
        resolve(tmp_path, local, trusted)
    msg = exc.value.one_line()
    assert msg.startswith(f"{tmp_path / 'repo' / 'posture-gate.yml'}:{line}: {key}: "), msg


def test_every_refusal_is_counted(tmp_path: Path) -> None:
    msg = refused(tmp_path, "gates: {code: {max: {high: 9}}}\nscanners: {bandit: "
                  "{enabled: false}}\nadvisories: x\n")
    assert msg.endswith("(+2 more)")


def test_tightening_is_applied_and_reported(tmp_path: Path) -> None:
    r = resolve(tmp_path, """\
gates:
  code: {max: {critical: 0, high: 0, medium: 2}, min_confidence: low}
  architecture: {max: {high: 0}}
scanners:
  bandit: {skip: [], timeout: 900}
  semgrep: {config: [bundled, rules/extra.yml], exclude: []}
  trivy: {scanners: [misconfig, secret, vuln], max_db_age_days: 7}
max_ignore_days: 10
targets:
  - {name: worker, paths: [jobs/]}
at_stake: [customer records]
""")
    gates = {g.name: g.gate for g in r.policy.gates}
    assert gates["code"].limits == {"critical": 0, "high": 0, "medium": 2}
    assert gates["architecture"].categories == (Category.ARCHITECTURE,)
    s = r.policy.scanner_settings()
    assert s["bandit"].timeout == 900 and s["bandit"].options["skip"] == []
    assert s["trivy"].options["scanners"] == ["misconfig", "secret", "vuln"]
    assert s["semgrep"].options["config"] == ["bundled", "rules/extra.yml"]
    assert [t.name for t in r.policy.targets] == ["api", "worker"]  # trusted first
    assert r.policy.max_ignore_days == 10 and r.policy.at_stake == ("customer records",)
    assert r.policy.ignores[0].id == "CVE-2020-1747"  # trusted ignores kept
    assert "gates.architecture: added" in r.trust.tightened
    assert "scanners.bandit.timeout: 600 -> 900" in r.trust.tightened
    assert r.policy.source.endswith("+ " + str(tmp_path / "repo" / "posture-gate.yml"))


def test_listing_one_scanner_or_no_gates_inherits_the_rest(tmp_path: Path) -> None:
    r = resolve(tmp_path, "scanners:\n  bandit: {skip: [B101]}\ngates: {}\n")
    assert set(r.policy.scanner_settings()) == {"pip-audit", "bandit", "semgrep", "trivy"}
    assert all(s.enabled and s.required for s in r.policy.scanner_settings().values())
    assert [g.name for g in r.policy.gates] == ["code", "dependency", "secret"]
    # a trusted policy naming no scanners runs every one; a local one cannot drop any
    r = resolve(tmp_path, "scanners:\n  bandit: {}\n", "version: 1\ngates: {code: {max: "
                "{high: 0}}}\n")
    assert set(r.policy.scanner_settings()) == set(SCANNERS)
    assert all(s.enabled and s.required == SCANNERS[n].required_by_default
               for n, s in r.policy.scanner_settings().items())


def test_gate_with_fewer_keys_but_the_same_caps_is_tightening(tmp_path: Path) -> None:
    # high: 0 also caps critical at 0
    r = resolve(tmp_path, "gates:\n  code: {max: {high: 0}}\n")
    assert r.trust.tightened == ("gates.code.max: {'critical': 0, 'high': 0} -> {'high': 0}",)
    assert refused(tmp_path, "gates:\n  secret: {max: {critical: 0}}\n").split(": ")[1] == \
        "gates.secret.max"


def test_repository_ignores_when_the_trusted_policy_allows_them(tmp_path: Path) -> None:
    allowing = TRUSTED + "allow_repo_ignores: true\n"
    r = resolve(tmp_path, "ignore:\n  - {id: B602, reason: test fixture, owner: dev, "
                "expires: '2026-12-20'}\n", allowing)
    assert [i.id for i in r.policy.ignores] == ["CVE-2020-1747", "B602"]
    with pytest.raises(PolicyError, match="max_ignore_days"):
        resolve(tmp_path, "max_ignore_days: 90\nignore:\n  - {id: B602, reason: fixture only, "
                "owner: dev, "
                "expires: '2027-02-20'}\n", allowing)


def test_forbidden_args_are_refused_even_in_a_trusted_policy(tmp_path: Path) -> None:
    bad = TRUSTED.replace("trivy: {", "trivy: {args: [--output, /etc/cron.d/x], ")
    with pytest.raises(PolicyError, match=r"trusted.yml:\d+: scanners.trivy.args: '--output'"):
        resolve(tmp_path, None, bad)
    ok = TRUSTED.replace("trivy: {", "trivy: {args: [--debug], ")
    assert resolve(tmp_path, None, ok).policy.scanner_settings()["trivy"].extra_args == \
        ("--debug",)


def test_without_a_trusted_policy_the_local_one_applies(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "posture-gate.yml").write_text("version: 1\ngates: {}\nscanners:\n  bandit: {}\n")
    r = trust.resolve(None, None, root, today=TODAY)
    assert r.trust.trusted is None and r.trust.local and r.policy.gates == ()
    # a --policy file inside the scanned tree is repository-local too
    r = trust.resolve(str(root / "posture-gate.yml"), None, root, today=TODAY)
    assert r.trust.trusted is None
    # neither: the default preset, trusted
    (root / "posture-gate.yml").unlink()
    r = trust.resolve(None, None, root, today=TODAY)
    assert r.trust.trusted == "preset:default" and r.trust.local is None


def test_a_symlinked_local_policy_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "elsewhere.yml").write_text("version: 1\n")
    (root / "posture-gate.yml").symlink_to(tmp_path / "elsewhere.yml")
    with pytest.raises(PolicyError, match="symbolic link"):
        trust.resolve("strict", None, root, today=TODAY)


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_policy_ref_reads_the_merge_target(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "t@example.com")
    _git(root, "config", "user.name", "t")
    (root / "posture-gate.yml").write_text(TRUSTED)
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "policy")
    _git(root, "checkout", "-qb", "pr")
    (root / "posture-gate.yml").write_text("version: 1\ngates:\n  code: {max: {high: 50}}\n")
    _git(root, "commit", "-qam", "loosen")
    with pytest.raises(PolicyError, match=r"posture-gate.yml:3: gates.code.max: .*main:"):
        trust.resolve(None, "main:posture-gate.yml", root, today=TODAY)
    # the PR's own commit as the trusted ref would be the attacker's: CI chooses the ref
    r = trust.resolve(None, "HEAD:posture-gate.yml", root, today=TODAY)
    assert r.trust.trusted == "HEAD:posture-gate.yml" and r.trust.tightened == ()
    (root / "posture-gate.yml").unlink()
    r = trust.resolve(None, "main:no/such/policy.yml", root, today=TODAY)
    assert r.trust.trusted == "preset:default (main:no/such/policy.yml: no such file)"
    with pytest.raises(UsageError, match="not a commit"):
        trust.resolve(None, "origin/nope:posture-gate.yml", root, today=TODAY)
    with pytest.raises(UsageError, match="REF:PATH"):
        trust.resolve(None, "--upload-pack=x:y", root, today=TODAY)
    with pytest.raises(UsageError, match="not both"):
        trust.resolve("strict", "main:posture-gate.yml", root, today=TODAY)


def test_a_policy_ref_that_reads_like_a_preset_is_checked_like_any_policy(
        tmp_path: Path) -> None:
    """--policy-ref preset:posture-gate.yml names a branch called `preset`: its file is the
    repository's, checked against the schema (a run on a real preset is not), so a typo in
    a gate is an error and not a key nobody reads."""
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "preset")
    _git(root, "config", "user.email", "t@example.com")
    _git(root, "config", "user.name", "t")
    (root / "posture-gate.yml").write_text("version: 1\ngates:\n  code: {max: {hihg: 0}}\n")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "policy")
    with pytest.raises(PolicyError, match=r"preset:posture-gate.yml:3: gates.code.max.hihg: "
                                          r"unknown key"):
        trust.resolve(None, "preset:posture-gate.yml", root, today=TODAY)


@pytest.mark.parametrize("ci", [None, "true"])
def test_ci_job_without_trusted_policy_is_warned(tmp_path: Path, cli: CliFixture,
                                                 ci: str | None) -> None:
    """Under CI a policy from the tree is the PR's own: say so (the scan stops early here on a
    missing advisory mirror, after the policy was resolved)."""
    (tmp_path / "posture-gate.yml").write_text("version: 1\n")
    res = cli("scan", str(tmp_path), "-o", str(tmp_path / "out"), "--advisories",
              str(tmp_path / "absent"), env={"CI": ci})
    assert res.returncode == 2
    warned = f"warning: no trusted policy: {tmp_path / 'posture-gate.yml'} comes from the scanned"
    assert (warned in res.stderr) == (ci is not None), res.stderr
