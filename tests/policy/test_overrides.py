"""--scanner-option NAME.KEY=VALUE and the trivy flags that are its aliases: typed and
checked by the policy schema, trusted (applied over every policy file), never a way to
switch a scanner on or to pass a forbidden argument."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from posture_gate.errors import UsageError
from posture_gate.policy import overrides, schema, trust
from tests.support.clirun import CliFixture

TODAY = datetime.date(2026, 11, 26)


def test_values_are_typed_by_the_schema_and_arrays_collect() -> None:
    got = overrides.parse(["trivy.skip_db_update=true", "trivy.max_db_age_days=3",
                           "trivy.db_repository=mirror.example/a",
                           "trivy.db_repository=mirror.example/b", "trivy.timeout=90.5",
                           "trivy.skip_db_update=no"])
    assert got == {"trivy": {"skip_db_update": False, "max_db_age_days": 3, "timeout": 90.5,
                             "db_repository": ["mirror.example/a", "mirror.example/b"]}}


def test_relative_cache_dir_is_relative_to_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert overrides.parse(["trivy.cache_dir=c"]) == {"trivy": {"cache_dir": str(tmp_path / "c")}}


@pytest.mark.parametrize("spec, message", [
    ("trivy", "expected NAME.KEY=VALUE"),
    ("trivy.x", "expected NAME.KEY=VALUE"),
    ("nope.x=1", "unknown scanner 'nope'"),
    ("trivy.nope=1", "trivy has no option 'nope'"),
    ("trivy.enabled=false", "trivy has no option 'enabled'"),
    ("bandit.required=false", "bandit has no option 'required'"),
    ("trivy.skip_db_update=maybe", "expected true or false"),
    ("trivy.max_db_age_days=-1", "-1 is less than the minimum of 0"),
    ("trivy.scanners=bogus", "'bogus' is not one of"),
    ("bandit.args=-o", "'-o' is not allowed"),
])
def test_bad_options_are_usage_errors(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match="--scanner-option") as err:
        overrides.parse([spec])
    assert message in err.value.one_line()


def test_trivy_flags_and_their_generic_form_give_the_same_policy(tmp_path: Path) -> None:
    policy = schema.load_policy("default", today=TODAY)
    flags = overrides.trivy_aliases(cache_dir=tmp_path, db_repositories=("m/a", "m/b"),
                                    skip_db_update=True, offline_scan=True)
    generic = overrides.parse([f"trivy.cache_dir={tmp_path}", "trivy.db_repository=m/a",
                               "trivy.db_repository=m/b", "trivy.java_db_repository=m/a",
                               "trivy.java_db_repository=m/b", "trivy.skip_db_update=true",
                               "trivy.offline_scan=true"])
    assert overrides.apply(policy, flags) == overrides.apply(policy, generic)
    assert overrides.trivy_aliases(cache_dir=None, db_repositories=(), skip_db_update=None,
                                   offline_scan=None) == {"trivy": {}}


def test_the_command_line_wins_over_a_trusted_and_a_local_policy(tmp_path: Path) -> None:
    (tmp_path / "posture-gate.yml").write_text(
        "version: 1\nextends: default\nscanners:\n  trivy: {max_db_age_days: 5}\n")
    resolved = trust.resolve("default", None, tmp_path, today=TODAY)
    assert resolved.policy.scanner_settings()["trivy"].options["max_db_age_days"] == 5
    given = overrides.combine(
        overrides.trivy_aliases(cache_dir=None, db_repositories=(), skip_db_update=True,
                                offline_scan=None),
        overrides.parse(["trivy.max_db_age_days=9", "trivy.skip_db_update=false"]))
    options = overrides.apply(resolved.policy, given).scanner_settings()["trivy"].options
    assert options["max_db_age_days"] == 9  # looser than the local 5: the CI owner said so
    assert options["skip_db_update"] is False  # the generic flag wins over the alias


def test_options_for_a_scanner_the_policy_does_not_run_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text("version: 1\nscanners:\n  bandit: {}\n")
    policy = schema.load_policy(str(path), today=TODAY)
    assert overrides.apply(policy, overrides.parse(["trivy.offline_scan=true"])) == policy


def test_scan_refuses_a_bad_option_before_scanning(tmp_path: Path, cli: CliFixture) -> None:
    out = tmp_path / "out"
    proc = cli("scan", str(tmp_path), "-o", str(out), "--scanner-option", "trivy.nope=1")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("posture-gate: error: --scanner-option trivy.nope=1: trivy "
                                  "has no option 'nope' (known: ")
    assert proc.stderr.count("\n") == 1 and not out.exists()
