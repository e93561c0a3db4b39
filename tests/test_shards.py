"""bandit split into parts over disjoint subtrees (shards.py): the parts find exactly the
files and issues the whole job finds, on a tree built to trip the split (excluded dirs, a
symlinked dir, links out of the tree, .pyw, a directory named like a file); anything the
split cannot promise leaves the job whole; a failed part fails the job."""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path

import pytest

from posture_gate import priority, scan, shards
from posture_gate.model import Finding, RunStatus, ScannerRun
from posture_gate.policy.schema import load_policy
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.bandit import Bandit
from posture_gate.scanners.base import Job, ScanContext, ScannerSettings
from tests.conftest import cli_env, copy_webapp, run_cli, webapp_with_links_out

SHELL = 'import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n'


def _tree(tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    root, links = webapp_with_links_out(tmp_path, SHELL)
    for rel in ("pkg_a/one.py", "pkg_a/two.py", "pkg_a/deep/er/three.py", "pkg_b/four.py",
                "pkg_b/gui.pyw", "weird.py/inside.py", "tests/t.py", "venv/lib/v.py",
                "pkg_c/__init__.py", "top.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(SHELL + f"# {rel}\n" + "x = 1\n" * 50)
    (root / "pkg_b" / "notes.txt").write_text(SHELL)
    (root / "alias").symlink_to(root / "pkg_a")  # os.walk lists it, never descends
    return root, links


def _job(root: Path, links: tuple[str, ...]) -> Job:
    ctx = ScanContext(root=root, work_dir=root.parent / "work", outside_links=links)
    ctx.work_dir.mkdir(exist_ok=True)
    (job,) = Bandit().plan(ScannerSettings(name="bandit", options={}), ctx)
    return job


def _bandit(job: Job, root: Path) -> tuple[set[str], list[tuple[str, str, int]]]:
    proc = subprocess.run(job.argv, cwd=root, capture_output=True, check=False, timeout=300,
                          env=cli_env())
    assert proc.returncode in (0, 1), proc.stderr[-500:]
    doc = json.loads(proc.stdout)
    assert doc["errors"] == []

    def norm(path: str) -> str:
        while path.startswith("./"):
            path = path[2:]
        return path
    files = {norm(f) for f in doc["metrics"] if f != "_totals"}
    issues = sorted((norm(r["filename"]), r["test_id"], r["line_number"])
                    for r in doc["results"])
    return files, issues


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 3, 5])
def test_the_parts_find_what_the_whole_job_finds(tmp_path: Path, n: int) -> None:
    root, links = _tree(tmp_path)
    job = _job(root, links)
    parts = shards.plan(Bandit(), job, root, parts=n, min_bytes=0)
    assert parts is not None and 2 <= len(parts) <= n
    assert [p.name for p in parts] == [f"bandit.{i + 1}" for i in range(len(parts))]
    whole_files, whole_issues = _bandit(job, root)
    assert {"top.py", "pkg_b/gui.pyw", "weird.py/inside.py", "pkg_a/deep/er/three.py"} <= \
        whole_files
    assert not any(f.startswith(("tests/", "venv/", "alias/", "out")) for f in whole_files)
    found = [_bandit(p, root) for p in parts]
    files = [f for f, _ in found]
    assert set().union(*files) == whole_files
    assert sum(len(f) for f in files) == len(whole_files)  # disjoint
    assert sorted(i for _, issues in found for i in issues) == whole_issues


def _bandit_job(*argv: str) -> Job:
    return Job(name="bandit", scanner="bandit", argv=("bandit", *argv))


OURS = ("-f", "json", "--ini", "/w/bandit.ini", "-x", "*/tests/*")


@pytest.mark.parametrize("job", [
    _bandit_job("-r", "./pkg_a", *OURS),  # narrowed already (the result cache, the PR lane)
    _bandit_job("-r", ".", *OURS, "-c", "pyproject.toml"),  # a config may name includes
    _bandit_job("-r", ".", "-f", "json", "--ini", "/repo/.bandit"),  # an honoured .bandit
])
def test_a_job_the_split_cannot_promise_stays_whole(tmp_path: Path, job: Job) -> None:
    root, _ = _tree(tmp_path)
    assert shards.plan(Bandit(), job, root, parts=2, min_bytes=0) is None


def test_odd_names_small_trees_one_core_and_other_scanners_stay_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, _ = _tree(tmp_path)
    job = _bandit_job("-r", ".", *OURS)
    assert shards.plan(Bandit(), job, root, parts=2, min_bytes=0) is not None
    assert shards.plan(Bandit(), job, root, parts=2) is None  # under MIN_BYTES
    assert shards.plan(SCANNERS["semgrep"], job, root, parts=2, min_bytes=0) is None
    monkeypatch.setattr(priority, "cores", lambda: 1)
    assert shards.plan(Bandit(), job, root, min_bytes=0) is None
    monkeypatch.setattr(priority, "cores", lambda: 8)
    assert len(shards.plan(Bandit(), job, root, min_bytes=0) or []) >= 2
    (root / "pkg_a" / "a*b").mkdir()  # walked by bandit inside ./pkg_a: never handed over
    assert shards.plan(Bandit(), job, root, parts=2, min_bytes=0) is not None
    for odd in ("a*b", "-x.py"):  # a name at the root is: a glob, a flag
        (root / odd).mkdir()
        assert shards.plan(Bandit(), job, root, parts=2, min_bytes=0) is None
        (root / odd).rmdir()


def test_beside_other_scanners_on_few_cores_the_job_stays_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A part takes a core the other scanners would have had: on 2 or 3 cores, with others
    running, the job stays whole; alone, or on 4 cores, it is split as before."""
    root, _ = _tree(tmp_path)
    job = _bandit_job("-r", ".", *OURS)

    def split(cores: int, others: int) -> bool:
        monkeypatch.setattr(priority, "cores", lambda: cores)
        return shards.plan(Bandit(), job, root, min_bytes=0, others=others) is not None
    assert split(2, 0)  # alone (--only bandit, the pre-commit hook's bandit): split
    assert not split(2, 4)  # beside the four others: whole
    assert not split(3, 1)
    assert split(4, 4)  # 4 cores: as before


@pytest.mark.slow
def test_a_scan_tells_the_runner_how_many_scanners_run_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """scan.py's ScanContext.scanners reaches shards.plan as `others` (real bandit and
    semgrep on examples/webapp)."""
    seen: list[int] = []

    def plan(*_args: object, others: int = 0, **_kw: object) -> None:
        seen.append(others)
        return None  # whole, as a small tree is anyway
    monkeypatch.setattr(shards, "plan", plan)
    root = copy_webapp(tmp_path)
    policy = load_policy("default", today=datetime.date(2026, 12, 1))
    for only, others in ((("bandit",), 0), (("bandit", "semgrep"), 1)):
        seen.clear()
        scan.scan(policy, scan.ScanOptions(root=root, output_dir=tmp_path / "out",
                                           only=only))
        assert seen == [others], only


def _part(tmp_path: Path, n: int, status: RunStatus, results: int
          ) -> tuple[ScannerRun, tuple[Finding, ...]]:
    raw = tmp_path / "raw" / f"bandit.{n}.json"
    raw.parent.mkdir(exist_ok=True)
    doc = {"errors": [], "generated_at": f"t{n}",
           "results": [{"n": n, "filename": f"././f{n}.py"}] * results,  # handed by name
           "metrics": {f"././f{n}.py": {"loc": n}, f"./d{n}/g.py": {"loc": 0},
                       "_totals": {"loc": n, "SEVERITY.HIGH": results}}}
    if status is RunStatus.OK:
        raw.write_text(json.dumps(doc))
    run = ScannerRun(name=f"bandit.{n}", scanner="bandit", status=status,
                     reason=None if status is RunStatus.OK else f"part {n} broke",
                     raw_count=results, exit_code=1 if results else 0, warnings=(f"w{n}",),
                     raw_output=f"raw/bandit.{n}.json" if status is RunStatus.OK else None)
    return run, ()


def test_parts_merge_into_the_one_job(tmp_path: Path) -> None:
    job = _bandit_job("-r", ".", *OURS)
    parts = [_part(tmp_path, 1, RunStatus.OK, 2), _part(tmp_path, 2, RunStatus.OK, 0)]
    run, _ = shards.merge(Bandit(), job, parts, tmp_path, "raw", 0.0)
    assert (run.name, run.status, run.raw_count, run.exit_code, run.warnings) == \
        ("bandit", RunStatus.OK, 2, 1, ("w1", "w2"))
    assert run.raw_output == "raw/bandit.json" and run.properties["parts"] == 2
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["bandit.json"]
    doc = json.loads((tmp_path / "raw" / "bandit.json").read_text())
    assert doc["metrics"]["_totals"] == {"loc": 3, "SEVERITY.HIGH": 2}
    assert sorted(doc["metrics"]) == ["./d1/g.py", "./d2/g.py", "./f1.py", "./f2.py",
                                      "_totals"]
    assert doc["results"] == [{"n": 1, "filename": "./f1.py"}] * 2
    assert doc["generated_at"] == "t1"


def test_a_failed_part_fails_the_job_and_leaves_no_raw_output(tmp_path: Path) -> None:
    job = _bandit_job("-r", ".", *OURS)
    parts = [_part(tmp_path, 1, RunStatus.OK, 2), _part(tmp_path, 2, RunStatus.FAILED, 0)]
    run, found = shards.merge(Bandit(), job, parts, tmp_path, "raw", 0.0)
    assert (run.name, run.status, run.reason, found) == \
        ("bandit", RunStatus.FAILED, "part 2 broke", ())
    assert list((tmp_path / "raw").iterdir()) == []


@pytest.mark.slow
def test_a_real_scan_splits_a_large_tree_and_fails_when_a_part_fails(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    filler = "x = 1\n" * 6000  # 36 kB of Python a file: 40 files pass MIN_BYTES
    for i in range(40):
        (root / f"pkg{i % 4}" / f"m{i}.py").parent.mkdir(exist_ok=True)
        (root / f"pkg{i % 4}" / f"m{i}.py").write_text(SHELL + filler)
    out = tmp_path / "out"
    proc = run_cli("scan", str(root), "--only", "bandit", "-o", str(out), "--no-cache")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads((out / "findings.json").read_text())
    (run,) = doc["scanners"]
    assert run["name"] == "bandit" and run["properties"]["parts"] == 2
    assert sorted(p.name for p in (out / "raw").iterdir()) == ["bandit.json"]
    raw = json.loads((out / "raw" / "bandit.json").read_text())
    walked = {f"./pkg{i % 4}/m{i}.py" for i in range(40)}  # as a whole run spells them
    assert walked <= set(raw["metrics"]) and walked <= {r["filename"] for r in raw["results"]}
    assert {f["location"]["path"] for f in doc["findings"]} >= {f"pkg{i % 4}/m{i}.py"
                                                                for i in range(40)}
    (root / "pkg3" / "broken.py").write_text("def f(:\n")
    proc = run_cli("scan", str(root), "--only", "bandit", "-o", str(out), "--no-cache")
    assert proc.returncode == 2
    assert "scanner bandit: could not analyse 1 file(s): " in proc.stderr
    assert "broken.py" in proc.stderr
