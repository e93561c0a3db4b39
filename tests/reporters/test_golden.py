"""Golden files: every format rendered from the fixed synthetic run (tests/reporters/
conftest.py). Regenerate with `pytest tests/reporters --update-goldens` and review the diff."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from posture_gate.model import ScanResult
from posture_gate.policy.evaluate import Verdict
from posture_gate.reporters import REPORTERS
from posture_gate.reporters.base import output_files

from .schemas import GITLAB_TYPES, gitlab_errors, sarif_errors

GOLDEN = Path(__file__).parent / "golden"
FORMATS = ["console", "json", "sarif", "junit", "markdown", "gitlab-sast",
           "gitlab-dependency-scanning", "gitlab-container-scanning",
           "gitlab-secret-detection"]


def test_registry_has_every_format() -> None:
    assert set(FORMATS) <= set(REPORTERS)
    for name, reporter in REPORTERS.items():
        assert reporter.name == name
        assert reporter.filename


@pytest.mark.parametrize("name", FORMATS)
def test_golden(name: str, synthetic: tuple[ScanResult, Verdict],
                request: pytest.FixtureRequest) -> None:
    run, verdict = synthetic
    files = output_files(REPORTERS[name], run, verdict)
    assert list(files) == [REPORTERS[name].filename]
    for filename, text in files.items():
        golden = GOLDEN / filename
        if request.config.getoption("--update-goldens"):
            golden.write_text(text, encoding="utf-8", newline="")
        assert golden.exists(), f"no golden {golden}; run pytest --update-goldens"
        assert text == golden.read_text(encoding="utf-8"), \
            f"{filename} differs from {golden}; if intended, rerun with --update-goldens"


@pytest.mark.parametrize("name", FORMATS)
def test_render_is_deterministic(name: str, synthetic: tuple[ScanResult, Verdict]) -> None:
    run, verdict = synthetic
    reporter = REPORTERS[name]
    assert reporter.render(run, verdict) == reporter.render(run, verdict)


def test_goldens_are_valid() -> None:
    """The goldens themselves parse and validate (so a regenerated golden cannot rot)."""
    sarif = json.loads((GOLDEN / "posture-gate.sarif").read_text(encoding="utf-8"))
    assert sarif_errors(sarif) == []
    for filename in GITLAB_TYPES:
        doc = json.loads((GOLDEN / filename).read_text(encoding="utf-8"))
        assert gitlab_errors(filename, doc) == []
    ET.fromstring((GOLDEN / "junit.xml").read_bytes())  # noqa: S314 - our own output
    json.loads((GOLDEN / "findings.json").read_text(encoding="utf-8"))
