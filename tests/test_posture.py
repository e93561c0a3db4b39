"""The posture section: every report answers the seven questions with a value and a source."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from posture_gate.posture import QUESTIONS, assess, from_dict
from posture_gate.schemas import load_schema
from tests.platform import shapes
from tests.platform.fakeapi import FakeApi, serve
from tests.platform.test_cli import NO_SCANNERS, _env
from tests.test_history import RUN

from .conftest import run_cli


@pytest.fixture
def api() -> Iterator[FakeApi]:
    yield from serve(FakeApi())


def test_every_format_has_the_posture_section(api: FakeApi, tmp_path: Path) -> None:
    shapes.github_owner(api)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "app.py").write_text("print('hi')\n")
    policy = tmp_path / "policy.yml"
    policy.write_text(
        "version: 1\nat_stake: [customer PII]\n"
        "targets:\n  - {name: api, paths: [app.py], exposure: internet, owner: team-api}\n"
        "notify:\n  slack: {webhook_url_env: SLACK_HOOK}\n"
        "scanners:\n" + NO_SCANNERS + "gates:\n  platform: {max: {critical: 0}}\n")
    out, hist = tmp_path / "out", tmp_path / "h.db"
    env = _env(GITHUB_API_URL=api.url, GITHUB_REPOSITORY="acme/web",
               GITHUB_TOKEN=shapes.GH_TOKEN)
    for day in ("2026-11-10T03:00:00Z", "2026-11-12T03:00:00Z"):
        proc = run_cli("scan", str(tree), "--policy", str(policy), "-o", str(out), "--platform",
                       "github", "--history", str(hist), "--now", day, "--today", day[:10],
                       "-f", "console,json,markdown,html", env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "findings.json").read_text())
    jsonschema.Draft202012Validator(load_schema("finding-v1")).validate(doc)
    answers = {q["key"]: q for q in doc["posture"]["questions"]}
    assert list(answers) == [k for k, _ in QUESTIONS]
    assert answers["mfa"]["status"] == "measured" and "no (" in answers["mfa"]["answer"]
    assert answers["mfa"]["source"] == "platform (github API)"
    assert answers["monitoring"]["answer"].startswith(
        "last recorded run 2026-11-10T03:00:00Z (2.0 days before this one), 1 run(s)")
    assert "notices: slack" in answers["monitoring"]["answer"]
    assert answers["review"]["answer"].startswith("python 0/1 files (0%)")  # nothing ran
    assert answers["os"]["status"] == "not measured" and "api: team-api" in \
        answers["os"]["answer"]
    assert doc["posture"]["targets"] == [{"name": "api", "exposure": "internet",
                                          "owner": "team-api", "holds": []}]
    assert from_dict(doc["posture"]).to_dict() == doc["posture"]
    assert "posture (full answers" in proc.stdout and "  MFA: measured - " in proc.stdout
    md = (out / "summary.md").read_text()
    assert "### Security posture" in md and "At stake: customer PII." in md
    assert len(re.findall(r"^\| (Is|How|Can|Do|Who) ", md, re.M)) == 7
    page = (out / "report.html").read_text()
    assert page.count("<tr data-question=") == 7
    # gate and report keep it: report re-renders the saved one
    rep = run_cli("report", str(out / "findings.json"), "-f", "markdown", "-o",
                  str(tmp_path / "again"))
    assert rep.returncode == 0, rep.stderr
    assert "### Security posture" in (tmp_path / "again" / "summary.md").read_text()


def test_nothing_measured_says_so() -> None:
    from posture_gate.policy.model import Policy

    run, verdict = RUN([], ran=())
    p = assess(Policy(source="p", digest="d"), run, verdict,
               datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc))
    status = {a.key: a.status for a in p.answers}
    assert status == {"mfa": "not measured", "review": "not measured",
                      "open_source": "not measured", "monitoring": "not measured",
                      "os": "not measured", "effectiveness": "not measured",
                      "testing": "partial"}
