"""Runner helpers: where scanner versions come from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from posture_gate.runner import installed_version, scanner_version
from posture_gate.scanners import SCANNERS
from tests.conftest import SAMPLES, bin_dir


@pytest.fixture
def venv_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")


def test_python_tools_version_read_from_their_dist_info(venv_path: None) -> None:
    assert installed_version("bandit", "bandit") == "1.9.4"
    assert installed_version("pip-audit", "pip_audit") == "2.10.1"
    assert installed_version("bandit", None) is None
    assert installed_version("no-such-tool", "bandit") is None


def test_every_scanner_reports_a_tested_version(venv_path: None) -> None:
    for scanner in SCANNERS.values():
        assert scanner_version(scanner) in scanner.tested_versions, scanner.name


def test_version_from_the_tools_own_output() -> None:
    assert SCANNERS["semgrep"].output_version((SAMPLES / "semgrep.json").read_bytes()) == \
        "1.185.0"
    trivy = (SAMPLES / "trivy-fs-misconfig-secret.json").read_bytes()
    assert SCANNERS["trivy"].output_version(trivy) == "0.76.0"
    assert SCANNERS["trivy"].output_version(b"not json") is None
    assert SCANNERS["bandit"].output_version((SAMPLES / "bandit.json").read_bytes()) is None


def test_a_fake_on_path_is_asked_not_trusted_from_disk(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin" / "bandit"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bandit 0.0.1'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    assert installed_version("bandit", "bandit") is None
    assert scanner_version(SCANNERS["bandit"]) == "0.0.1"
