"""action.yml under act (host mode), against a copy of examples/."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ..conftest import PLANTED_TOKEN
from .conftest import act, client_env, copy_source, example_project, git_commit_all

# act in host mode starts from an empty workspace and cannot fetch remote actions: the
# first step copies the checkout ($SRC), the action is used as `./`.
WORKFLOW = """\
name: gate-example
on: push
permissions: {}
jobs:
  gate:
    runs-on: ubuntu-latest
    steps:
      - name: checkout (copy)
        run: cp -a "$SRC/." .
      - id: gate
        uses: ./
        with:
          paths: webapp
          advisories: advisories
          formats: console,json,sarif,markdown,junit
          output-dir: out/reports
          install: "false"
          venv: ${{ env.PG_VENV }}
          history: history/posture-history.sqlite
      - name: record outputs
        if: always()
        env:
          VERDICT: ${{ steps.gate.outputs.verdict }}
          EXIT_CODE: ${{ steps.gate.outputs.exit-code }}
          TOTALS: ${{ steps.gate.outputs.totals }}
          SARIF: ${{ steps.gate.outputs.sarif }}
        run: |
          python3 -c 'import json, os, sys; json.dump({k: os.environ[k] for k in sys.argv[2:]},
          open(sys.argv[1], "w"))' "$RESULT_DIR/outputs.json" VERDICT EXIT_CODE TOTALS SARIF
          cp -r out/reports "$RESULT_DIR/reports"
          cp history/posture-history.sqlite "$RESULT_DIR/"
"""


@pytest.mark.slow
def test_action_fails_the_job_and_keeps_reports(tmp_path: Path) -> None:
    repo = example_project(copy_source(tmp_path / "repo"))
    wf = repo / ".github" / "workflows" / "gate.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(WORKFLOW, encoding="utf-8")
    env = client_env(tmp_path)
    git_commit_all(repo, env)
    results = tmp_path / "results"
    results.mkdir()
    done = act(repo, env, "push", "-W", str(wf), "--env", f"SRC={repo}",
               "--env", f"RESULT_DIR={results}", "--env", f"PG_VENV={Path(sys.prefix)}")
    log = done.stdout + done.stderr
    assert done.returncode != 0, log[-3000:]            # the gate failed, so does the job
    assert "Job 'gate' failed" in log or "Job failed" in log, log[-3000:]
    outputs = json.loads((results / "outputs.json").read_text(encoding="utf-8"))
    assert outputs["VERDICT"] == "fail"
    assert outputs["EXIT_CODE"] == "1"
    totals = json.loads(outputs["TOTALS"])
    assert totals["secret"]["critical"] == 1
    assert totals["code"]["high"] >= 1
    findings = json.loads((results / "reports" / "findings.json").read_text(encoding="utf-8"))
    assert totals == findings["totals"]
    assert outputs["SARIF"] == "out/reports/posture-gate.sarif"
    sarif = json.loads((results / "reports" / "posture-gate.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert (results / "reports" / "junit.xml").is_file()
    # the Markdown summary went to the job summary (act echoes it to the log)
    assert "Summary - ## posture-gate" in log and "FAIL" in log
    assert "exit status 1" in log
    assert PLANTED_TOKEN not in log
    # the run was recorded in the history file the action was given
    import sqlite3

    with sqlite3.connect(results / "posture-history.sqlite") as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
