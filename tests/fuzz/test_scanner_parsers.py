"""Fuzz every scanner parser with mutations of the real samples in tests/data/samples.

Property: the parser returns Parsed or raises ScannerError (one line), never another
exception; reading the version from the output never raises; and what the parser accepts,
the runner can redact and write (raw/ and findings.json).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posture_gate.errors import ScannerError
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import Job, Parsed, ScanContext
from tests.conftest import SAMPLES
from tests.fuzz.mutate import mutated_bytes
from tests.fuzz.settings import FUZZ

# The files the samples were made from (tests/data/samples/SOURCE.md), so that source
# lines are read for fingerprints as in a real run.
SOURCES = {
    "app/views.py": "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, "
                    "shell=True)\n" * 4,
    "app/settings.py": 'GITHUB_TOKEN = "not-a-token"\n',
    "Dockerfile": "FROM python:3.11\nADD . /app\nRUN pip install -r /app/requirements.txt\n",
    "requirements.txt": "pyyaml==5.1\nrequests==2.19.0\n",
}


def _seed(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def _job(name: str, argv: tuple[str, ...], **meta: Any) -> Job:
    return Job(name=name, scanner=name.split("-image")[0], argv=argv, meta=meta)


BANDIT = _job("bandit", ("bandit", "-r", ".", "-f", "json", "-q", "--ignore-nosec"))
SEMGREP = _job("semgrep", ("semgrep", "scan", "--json"),
               rule_ids=["subprocess-shell-true", "pickle-loads-new-sev", "yaml-load-critical",
                         "insecure-hash-md5", "requests-verify-false"])
TRIVY_FS = _job("trivy", ("trivy", "fs"), mode="fs", scanners=["misconfig", "secret", "vuln"])
TRIVY_IMAGE = _job("trivy-image", ("trivy", "image"), mode="image", image="example:1",
                   scanners=["vuln"])
PIP_AUDIT = _job("pip-audit", ("pip-audit",), requirements=["requirements.txt"],
                 fetch_severity=False)
ZIZMOR = _job("zizmor", ("zizmor", "--offline", "--format", "json"))

SEEDS = {
    "bandit": [_seed("bandit.json"), _seed("bandit-errors.json")],
    "semgrep": [_seed("semgrep.json"), _seed("semgrep-errors.json")],
    "trivy": [_seed("trivy-fs-misconfig-secret.json"), _seed("trivy-pip.json.golden")],
    "pip-audit": [_seed("pip-audit.json"), _seed("pip-audit-skip.json")],
    "zizmor": [_seed("zizmor.json")],
}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanContext]:
    root = tmp_path_factory.mktemp("fuzz-root")
    for rel, text in SOURCES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "loop").symlink_to("loop")  # a path through it must not crash a parser
    yield ScanContext(root=root, work_dir=root)


def check(job: Job, data: bytes, exit_code: int, ctx: ScanContext) -> None:
    scanner = SCANNERS[job.scanner]
    scanner.output_version(data)  # the runner asks this of any output, before parsing
    try:
        parsed = scanner.parse(data, job, ctx, "1.0", exit_code=exit_code)
    except ScannerError as exc:
        assert "\n" not in exc.one_line()
        assert exc.reason
        return
    assert isinstance(parsed, Parsed)
    # the runner's next steps with output the parser accepted
    kept = scanner.redact(json.loads(data))
    json.dumps(kept, indent=1, sort_keys=True).encode("utf-8")
    for f in parsed.findings:
        json.dumps(f.to_dict(), ensure_ascii=False).encode("utf-8")


def documents(name: str) -> st.SearchStrategy[bytes]:
    return st.sampled_from(SEEDS[name]).flatmap(mutated_bytes)


def exit_codes(name: str) -> st.SearchStrategy[int]:
    return st.sampled_from(sorted(SCANNERS[name].ok_exit_codes))


@FUZZ
@given(data=documents("bandit"), code=exit_codes("bandit"))
def test_fuzz_bandit(data: bytes, code: int, ctx: ScanContext) -> None:
    check(BANDIT, data, code, ctx)


@FUZZ
@given(data=documents("semgrep"), code=exit_codes("semgrep"))
def test_fuzz_semgrep(data: bytes, code: int, ctx: ScanContext) -> None:
    check(SEMGREP, data, code, ctx)


@FUZZ
@given(data=documents("trivy"), code=exit_codes("trivy"))
def test_fuzz_trivy_fs(data: bytes, code: int, ctx: ScanContext) -> None:
    check(TRIVY_FS, data, code, ctx)


@FUZZ
@given(data=documents("trivy"), code=exit_codes("trivy"))
def test_fuzz_trivy_image(data: bytes, code: int, ctx: ScanContext) -> None:
    check(TRIVY_IMAGE, data, code, ctx)


@FUZZ
@given(data=documents("pip-audit"), code=exit_codes("pip-audit"))
def test_fuzz_pip_audit(data: bytes, code: int, ctx: ScanContext) -> None:
    check(PIP_AUDIT, data, code, ctx)


@FUZZ
@given(data=documents("zizmor"), code=exit_codes("zizmor"))
def test_fuzz_zizmor(data: bytes, code: int, ctx: ScanContext) -> None:
    check(ZIZMOR, data, code, ctx)


def test_the_seeds_themselves_parse(ctx: ScanContext) -> None:
    """The property is not vacuous: unmutated samples are accepted (with their exit codes)."""
    for job, seeds, codes in [(BANDIT, SEEDS["bandit"], [1, 0]),
                              (SEMGREP, SEEDS["semgrep"], [0, 0]),
                              (TRIVY_FS, SEEDS["trivy"], [0, 0]),
                              (TRIVY_IMAGE, SEEDS["trivy"][1:], [0]),
                              (ZIZMOR, SEEDS["zizmor"], [14])]:
        meta = {**job.meta, "allow_parse_errors": True, "allow_analysis_errors": True}
        for seed, code in zip(seeds, codes, strict=True):
            parsed = SCANNERS[job.scanner].parse(
                json.dumps(seed).encode(), Job(name=job.name, scanner=job.scanner,
                                               argv=job.argv, meta=meta),
                ctx, "1.0", exit_code=code)
            assert isinstance(parsed, Parsed)
