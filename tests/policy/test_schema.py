"""Policy loading: every malformed policy is exit 2 with file:line, and nothing written."""

from __future__ import annotations

import datetime
import re
import shutil
from pathlib import Path

import pytest

from posture_gate.errors import PolicyError
from posture_gate.fsutil import MAX_POLICY_FILE
from posture_gate.model import Category, Severity
from posture_gate.policy import schema, yamlload
from posture_gate.policy.build import preset_text
from tests.conftest import run_cli
from tests.support.clirun import CliFixture

TODAY = datetime.date(2026, 11, 26)

BAD = {
    "bad-yaml": ("version: 1\ngates:\n  code: {max: {high: 0}\n", 3, "invalid YAML"),
    "unknown-key": ("version: 1\ngates:\n  code:\n    max: {hihg: 0}\n", 4,
                    "gates.code.max.hihg: unknown key"),
    "unknown-top": ("version: 1\ngatez: {}\n", 2, "gatez: unknown key"),
    "wrong-type": ("version: 1\ngates:\n  secret: {max: {any: lots}}\n", 3,
                   "gates.secret.max.any: 'lots' is not of type 'integer'"),
    "negative": ("version: 1\ngates:\n  code: {max: {high: -1}}\n", 3, "gates.code.max.high"),
    "no-version": ("gates: {}\n", 1, "missing required key 'version'"),
    "ignore-no-reason": ("version: 1\nignore:\n  - id: B602\n    owner: me\n"
                         "    expires: 2026-12-01\n", 3, "missing required key 'reason'"),
    "ignore-no-expiry": ("version: 1\nignore:\n  - id: B602\n    owner: me\n"
                         "    reason: because\n", 3, "missing required key 'expires'"),
    "expiry-too-far": ("version: 1\nignore:\n  - id: B602\n    owner: me\n    reason: because\n"
                       "    expires: 2027-06-01\n", 6, "more than max_ignore_days (90)"),
    "yaml-bomb": ("version: 1\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a]\n"
                  "c: [*b, *b, *b, *b, *b, *b, *b]\n", 2, "anchors and aliases are not allowed"),
    "python-tag": ("version: 1\nat_stake: !!python/object/apply:os.system ['true']\n", 2,
                   "tag tag:yaml.org,2002:python/object/apply:os.system is not allowed"),
    "duplicate-key": ("version: 1\ngates: {}\ngates: {}\n", 3, "duplicate key 'gates'"),
    "scanner-typo": ("version: 1\nscanners:\n  bandit: {pathz: [src]}\n", 3,
                     "scanners.bandit.pathz: unknown key"),
    "unknown-target": ("version: 1\ngates:\n  per_target:\n    api: {code: {max: {high: 0}}}\n",
                       4, "no target named 'api'"),
    "not-a-mapping": ("- 1\n- 2\n", 1, "must be a mapping"),
    "timeout-nan": ("version: 1\nscanners:\n  bandit:\n    timeout: .nan\n", 4,
                    "scanners.bandit.timeout: must be a finite number of seconds > 0"),
    "timeout-inf": ("version: 1\nscanners:\n  trivy: {timeout: .inf}\n", 3,
                    "scanners.trivy.timeout: must be a finite number of seconds > 0"),
    "timeout-zero": ("version: 1\nscanners:\n  semgrep: {timeout: 0}\n", 3,
                     "scanners.semgrep.timeout: 0 is less than or equal to the minimum of 0"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_policy_names_file_line_and_key(case: str, tmp_path: Path) -> None:
    text, line, message = BAD[case]
    path = tmp_path / f"{case}.yml"
    path.write_text(text)
    with pytest.raises(PolicyError) as err:
        schema.load_policy(str(path), today=TODAY)
    msg = err.value.one_line()
    assert msg.startswith(f"{path}:{line}: "), msg
    assert message in msg
    assert "\n" not in msg


@pytest.mark.parametrize("case", ["unknown-key", "yaml-bomb", "python-tag", "expiry-too-far"])
def test_cli_exit_2_one_line_and_nothing_written(case: str, tmp_path: Path) -> None:
    text, line, _ = BAD[case]
    policy = tmp_path / "p.yml"
    policy.write_text(text)
    out = tmp_path / "out"
    proc = run_cli("scan", str(tmp_path), "--policy", str(policy), "-o", str(out),
                   "--today", TODAY.isoformat())
    assert proc.returncode == 2
    assert re.fullmatch(rf"posture-gate: error: {re.escape(str(policy))}:{line}: .+\n",
                        proc.stderr), proc.stderr
    assert proc.stdout == ""
    assert not out.exists()


def test_validate_lists_every_error(tmp_path: Path, cli: CliFixture) -> None:
    path = tmp_path / "p.yml"
    path.write_text("version: 1\ngates:\n  code: {max: {hihg: 0}}\n  os: {fixable: true}\n")
    proc = cli("policy", "validate", str(path))
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:3: gates.code.max.hihg: unknown key")
    assert lines[1].startswith(f"{path}:4: gates.os.fixable: unknown key")


def test_missing_policy_file(tmp_path: Path) -> None:
    proc = run_cli("scan", str(tmp_path), "--policy", str(tmp_path / "nope.yml"))
    assert proc.returncode == 2 and "policy file not found" in proc.stderr


@pytest.mark.parametrize("preset", schema.PRESETS)
def test_presets_load(preset: str) -> None:
    policy = schema.load_policy(preset, today=TODAY)
    assert policy.source == f"preset:{preset}"
    assert any(g.name == "secret" for g in policy.gates)


@pytest.mark.parametrize("preset", schema.PRESETS)
def test_every_preset_passes_the_schema_a_run_does_not_check_it_against(preset: str) -> None:
    """A run on a preset skips the schema check (its data is the package's own): this is
    where it is made, on each preset with the scanner blocks the scanners declare for it."""
    data, lines = yamlload.load(preset_text(preset))
    assert schema._schema_errors(schema.with_preset_scanners(preset, data), lines,
                                 f"preset:{preset}") == []


def test_a_policy_file_named_like_a_preset_is_checked(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a bundled preset skips the schema check: a file whose path reads
    'preset:default' is a policy file like any other."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "preset:default").write_text("version: 1\ngates:\n  code: {max: {hihg: 0}}\n")
    problems, doc = schema.read_doc("preset:default", today=TODAY)
    assert doc is None and problems == [
        "preset:default:3: gates.code.max.hihg: unknown key (expected one of: any, critical, "
        "high, info, low, medium, unknown)"], problems


def test_default_gates_and_counting_rule() -> None:
    policy = schema.load_policy("default", today=TODAY)
    code = next(g for g in policy.gates if g.name == "code")
    assert dict(code.gate.limits) == {"critical": 0, "high": 0}
    assert code.gate.categories == (Category.CODE,)
    assert code.gate.treat_unknown_as is Severity.HIGH


def test_extends_overrides_preset(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text("version: 1\nextends: strict\ngates:\n  code: {max: {critical: 0}}\n")
    policy = schema.load_policy(str(path), today=TODAY)
    code = next(g for g in policy.gates if g.name == "code")
    assert dict(code.gate.limits) == {"critical": 0}
    assert policy.allow_inline_suppressions is False  # from strict


def test_policy_test_runs_the_documented_cases(tmp_path: Path, cli: CliFixture) -> None:
    from tests.conftest import REPO

    proc = cli("policy", "test", str(REPO / "policies" / "tests"), "--today", "2026-11-26")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "3 passed, 0 failed"
    # a wrong expectation is reported and fails the command
    case = tmp_path / "wrong"
    shutil.copytree(REPO / "policies" / "tests" / "worker-ignores-unfixable", case)
    (case / "expect.yml").write_text(
        f"policy: {REPO / 'policies' / 'background-worker.yml'}\nstatus: fail\n")
    proc = cli("policy", "test", str(tmp_path), "--today", "2026-11-26")
    assert proc.returncode == 1
    assert "FAIL wrong: status pass, expected fail" in proc.stdout


def test_validate_dev_zero_ends_at_once_with_exit_2(cli: CliFixture) -> None:
    """Read with a cap (1 MiB): an endless or huge file is refused, not read into memory."""
    proc = cli("policy", "validate", "/dev/zero")
    assert proc.returncode == 2
    assert proc.stderr == "posture-gate: error: /dev/zero: policy file is larger than 1 MiB " \
        "(the limit)\n"


def test_a_policy_just_under_the_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    text = "version: 1\n"
    path.write_text(text + "#" * (MAX_POLICY_FILE - len(text) - 1) + "\n")
    assert schema.load_policy(str(path), today=TODAY).source == str(path)
    path.write_text(path.read_text() + "#\n")
    with pytest.raises(PolicyError, match="larger than 1 MiB"):
        schema.load_policy(str(path), today=TODAY)
