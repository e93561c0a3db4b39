"""action.yml under act (host mode), against a copy of examples/."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ..conftest import PLANTED_TOKEN, REPO
from .conftest import (
    CLEAN_APP,
    act,
    client_env,
    copy_source,
    example_project,
    git_commit_all,
    run,
)

# act in host mode starts from an empty workspace and cannot fetch remote actions: the
# first step copies the checkout ($SRC, .git and its `origin` remote included), the action
# is used as `./`.
WORKFLOW = """\
name: gate-example
on:
  push:
  pull_request:
  schedule:
    - cron: "23 3 * * *"
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
          policy: ${{ env.PG_POLICY }}
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
          if [ -d out/reports ]; then cp -r out/reports "$RESULT_DIR/reports"; fi
          cp history/posture-history.sqlite "$RESULT_DIR/" 2>/dev/null || true
"""


@pytest.mark.slow
def test_action_fails_the_job_and_keeps_reports(tmp_path: Path) -> None:
    repo = example_project(copy_source(tmp_path / "repo"))
    (repo / "webapp" / "posture-gate.yml").write_text(BASE_POLICY, encoding="utf-8")
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
    assert totals, log[-6000:]
    assert totals["secret"]["critical"] == 1
    assert totals["code"]["high"] >= 1
    findings = json.loads((results / "reports" / "findings.json").read_text(encoding="utf-8"))
    assert totals == findings["totals"]
    # a push is gated by the policy of the commit it pushed
    assert "HEAD:webapp/posture-gate.yml" in json.dumps(findings["policy"]["trusted"])
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


# The base branch's policy for webapp/ (the default preset, as a file) and a pull request's
# attempt to loosen it.
BASE_POLICY = (REPO / "posture_gate" / "policy" / "presets" / "default.yml").read_text(
    encoding="utf-8")
STRICT_CODE = "code: {max: {critical: 0, high: 0}}"
LOOSE_CODE = "code: {max: {critical: 5, high: 50}}"
LOOSENED = BASE_POLICY.replace(STRICT_CODE, LOOSE_CODE)
LOOSENED_LINE = BASE_POLICY[:BASE_POLICY.index(STRICT_CODE)].count("\n") + 1
# A report committed by the pull request, as if an earlier run had passed.
PLANTED = json.dumps({"verdict": {"status": "pass", "exit_code": 0}, "totals": {},
                      "started_at": "2099-01-01T00:00:00Z"})


def pull_request(tmp: Path, env: dict[str, str], head: dict[str, str],
                 links: dict[str, Path] | None = None) -> Path:
    """`upstream` (main: the action, webapp with BASE_POLICY, the advisories, the workflow)
    and a clone on branch `feature` whose commit adds `head` (files) and `links` (symlinks).
    The clone lacks origin/main, as a shallow checkout of the pull request would: the
    action has to fetch it."""
    upstream = example_project(copy_source(tmp / "upstream"))
    (upstream / "webapp" / "posture-gate.yml").write_text(BASE_POLICY, encoding="utf-8")
    wf = upstream / ".github" / "workflows" / "gate.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(WORKFLOW, encoding="utf-8")
    git_commit_all(upstream, env)
    clone = tmp / "pr"
    for argv, cwd in ((["git", "clone", "-q", str(upstream), str(clone)], tmp),
                      (["git", "checkout", "-q", "-b", "feature"], clone)):
        assert run(argv, cwd, env).returncode == 0
    for name, text in head.items():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        (clone / name).write_text(text, encoding="utf-8")
    for name, target in (links or {}).items():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        (clone / name).symlink_to(target)
    for argv in (["git", "add", "-A"], ["git", "commit", "-q", "--no-verify", "-m", "pr"],
                 ["git", "remote", "set-head", "origin", "-d"],
                 ["git", "update-ref", "-d", "refs/remotes/origin/main"]):
        done = run(argv, clone, env)
        assert done.returncode == 0, done.stderr
    return clone


def act_pull_request(clone: Path, tmp: Path, env: dict[str, str],
                     policy: str = "") -> tuple[str, dict[str, str], Path]:
    """One act run of the pull_request event (base main, head feature), with the action's
    `policy` input: its log, the action's outputs and the directory holding the copied
    reports."""
    event = tmp / "event.json"
    event.write_text(json.dumps({"pull_request": {
        "number": 7, "base": {"ref": "main"}, "head": {"ref": "feature"}}}), encoding="utf-8")
    results = tmp / "results"
    results.mkdir()
    done = act(clone, env, "pull_request", "-e", str(event),
               "-W", str(clone / ".github" / "workflows" / "gate.yml"),
               "--env", f"SRC={clone}", "--env", f"RESULT_DIR={results}",
               "--env", f"PG_VENV={Path(sys.prefix)}", "--env", f"PG_POLICY={policy}")
    log = done.stdout + done.stderr
    assert done.returncode != 0, log[-3000:]            # the job fails either way
    outputs = json.loads((results / "outputs.json").read_text(encoding="utf-8"))
    return log, outputs, results


@pytest.mark.slow
def test_pull_request_cannot_loosen_the_base_policy_nor_plant_a_pass(tmp_path: Path) -> None:
    env = client_env(tmp_path)
    outside = tmp_path / "outside"
    (outside / "raw").mkdir(parents=True)
    (outside / "raw" / "keep.json").write_text("{}", encoding="utf-8")
    (outside / "keep.md").write_text("mine\n", encoding="utf-8")
    clone = pull_request(tmp_path, env, {
        "webapp/posture-gate.yml": LOOSENED,
        "out/reports/findings.json": PLANTED,
        "out/reports/posture-gate.sarif": '{"version": "2.1.0", "runs": []}',
    }, links={"out/reports/raw": outside / "raw", "out/reports/summary.md": outside / "keep.md"})
    log, outputs, results = act_pull_request(clone, tmp_path, env)
    assert "posture-gate: fetching main for its policy" in log, log[-3000:]
    # the base branch's policy is trusted; the PR's own may only tighten it: refused
    assert f"posture-gate.yml:{LOOSENED_LINE}: gates.code.max" in log, log[-3000:]
    assert outputs["EXIT_CODE"] == "2"
    assert outputs["VERDICT"] == "error"      # never the planted report's pass
    assert outputs["TOTALS"] == "{}" and outputs["SARIF"] == ""
    # the planted reports were removed before the run, not kept as this run's
    assert not (results / "reports" / "findings.json").exists()
    assert not (results / "reports" / "posture-gate.sarif").exists()
    # the planted links were removed, never followed
    assert sorted(p.name for p in (results / "reports").iterdir()) == []
    assert (outside / "raw" / "keep.json").is_file()
    assert (outside / "keep.md").read_text(encoding="utf-8") == "mine\n"


@pytest.mark.slow
def test_output_dir_planted_as_a_symlink_is_an_error(tmp_path: Path) -> None:
    env = client_env(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "findings.json").write_text(PLANTED, encoding="utf-8")
    clone = pull_request(tmp_path, env, {}, links={"out/reports": outside})
    log, outputs, _ = act_pull_request(clone, tmp_path, env)
    assert "a symlink" in log and outputs["EXIT_CODE"] == "2", log[-3000:]
    assert outputs["VERDICT"] == "error" and outputs["TOTALS"] == "{}"
    assert (outside / "findings.json").read_text(encoding="utf-8") == PLANTED


@pytest.mark.slow
def test_pull_request_is_gated_by_the_base_branch_policy(tmp_path: Path) -> None:
    env = client_env(tmp_path)
    clone = pull_request(tmp_path, env, {"webapp/app/extra.py": CLEAN_APP})
    log, outputs, results = act_pull_request(clone, tmp_path, env)
    assert "posture-gate: fetching main for its policy" in log, log[-3000:]
    assert outputs["EXIT_CODE"] == "1" and outputs["VERDICT"] == "fail", log[-3000:]
    findings = json.loads((results / "reports" / "findings.json").read_text(encoding="utf-8"))
    assert "origin/main:webapp/posture-gate.yml" in json.dumps(findings["policy"]["trusted"])
    assert json.loads(outputs["TOTALS"]) == findings["totals"]
    assert findings["totals"]["secret"]["critical"] == 1


@pytest.mark.slow
def test_policy_input_overrides_the_base_branch(tmp_path: Path) -> None:
    env = client_env(tmp_path)
    clone = pull_request(tmp_path, env, {"webapp/app/extra.py": CLEAN_APP})
    log, outputs, _ = act_pull_request(clone, tmp_path, env, policy="strict")
    assert "fetching main" not in log, log[-3000:]
    # strict is the trusted policy now: the tree's copy of the default preset is looser
    refusal = [line for line in log.splitlines()
               if f"posture-gate.yml:{LOOSENED_LINE}: gates.code.max:" in line]
    assert refusal and "(preset:strict)" in refusal[0], log[-3000:]
    assert outputs["EXIT_CODE"] == "2" and outputs["VERDICT"] == "error"
