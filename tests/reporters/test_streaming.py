"""Reports written in chunks (output_chunks, what `gate`/`scan -o DIR` write) are byte for
byte the reports rendered whole (output_files, what the golden tests check), and a
reporter failing midway leaves the previous reports in the output directory intact."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from posture_gate.commands import output
from posture_gate.model import ScanResult
from posture_gate.policy.evaluate import Verdict
from posture_gate.reporters import REPORTERS
from posture_gate.reporters.base import output_chunks, output_files
from posture_gate.reporters.jsonfile import JsonReporter


def joined(chunks: Iterable[str | bytes]) -> bytes:
    return b"".join(c.encode("utf-8") if isinstance(c, str) else c for c in chunks)


@pytest.mark.parametrize("name", sorted(REPORTERS))
def test_chunks_are_the_whole_report(name: str, synthetic: tuple[ScanResult, Verdict]) -> None:
    run, verdict = synthetic
    whole = {k: v.encode("utf-8") for k, v in output_files(REPORTERS[name], run, verdict).items()}
    assert {k: joined(v) for k, v in output_chunks(REPORTERS[name], run, verdict)} == whole


def test_findings_json_in_many_chunks(synthetic: tuple[ScanResult, Verdict]) -> None:
    run, verdict = synthetic
    many = replace(verdict, findings=verdict.findings * 700)
    chunks = list(JsonReporter().chunks(run, many))
    assert len(chunks) > 3
    assert b"".join(chunks).decode("utf-8") == JsonReporter().render(run, many)


def test_a_failing_reporter_leaves_the_old_reports(tmp_path: Path,
                                                   synthetic: tuple[ScanResult, Verdict],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    run, verdict = synthetic
    for name in ("findings.json", "gl-sast-report.json"):
        (tmp_path / name).write_text("old\n")

    def broken(self: object, run: ScanResult, verdict: Verdict) -> Iterator[bytes]:
        yield b'{"half": '
        raise RuntimeError("midway")

    monkeypatch.setattr(JsonReporter, "chunks", broken)
    shown = output.Display(out_dir=tmp_path, quiet=True)
    with pytest.raises(RuntimeError):
        output.show_files(run, verdict, {}, shown, console=False,
                          stream=("gitlab-sast", "json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json",
                                                          "gl-sast-report.json"]
    assert {p.read_text() for p in tmp_path.iterdir()} == {"old\n"}
