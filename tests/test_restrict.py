"""Narrowing a file-level job to some files: the same exclusions and spelling as the full
walk, or the full job when that cannot be promised."""

from __future__ import annotations

from posture_gate import restrict
from posture_gate.scanners.base import Job

BANDIT = Job(name="bandit", scanner="bandit",
             argv=("bandit", "-r", ".", "-f", "json", "-q", "--ignore-nosec", "--ini",
                   "/tmp/x/bandit.ini", "-x", "*/.venv/*"))
SEMGREP = Job(name="semgrep", scanner="semgrep",
              argv=("semgrep", "scan", "--json", "--config", "/r.yml", "--no-git-ignore",
                    "--project-root", ".", "."))


def test_bandit_gets_files_spelled_like_its_walk() -> None:
    job = restrict.narrow(BANDIT, ["src/a.py", "README.md", "b.pyw"])
    assert isinstance(job, Job)
    assert job.argv[:4] == ("bandit", "-r", "./src/a.py", "./b.pyw")
    assert job.argv[4:] == BANDIT.argv[3:]


def test_bandit_nothing_to_scan() -> None:
    assert restrict.narrow(BANDIT, ["README.md"]) == restrict.NOTHING
    assert restrict.narrow(BANDIT, []) == restrict.NOTHING


def test_bandit_targets_other_than_the_root() -> None:
    job = Job(name="bandit", scanner="bandit",
              argv=("bandit", "-r", "src", "tool.cfg", *BANDIT.argv[3:]))
    narrowed = restrict.narrow(job, ["src/a.py", "lib/b.py", "tool.cfg"])
    assert isinstance(narrowed, Job)
    # a target that is a file is scanned whatever its name; lib/ is not a target
    assert narrowed.argv[2:4] == ("src/a.py", "tool.cfg") and "lib/b.py" not in narrowed.argv


def test_bandit_with_a_config_file_runs_in_full() -> None:
    job = Job(name="bandit", scanner="bandit", argv=(*BANDIT.argv, "-c", "/t/pyproject.toml"))
    assert restrict.narrow(job, ["a.py"]) is None


def test_hostile_names_get_the_full_job() -> None:
    for name in ("a\nb.py", "-rf.py", "x/-y.py", "*.py", "a[1].py", "../a.py", "a\x1b.py"):
        assert restrict.narrow(BANDIT, [name]) is None, name
        assert restrict.narrow(SEMGREP, [name]) is None, name


def test_semgrep_gets_anchored_includes() -> None:
    job = restrict.narrow(SEMGREP, ["src/a b.py", "c.py"])
    assert isinstance(job, Job)
    assert "--include" in job.argv
    includes = [job.argv[i + 1] for i, a in enumerate(job.argv) if a == "--include"]
    assert includes == ["/src/a\\ b.py", "/c.py"]
    assert job.argv[-1] == "."


def test_semgrep_without_the_root_as_project_runs_in_full() -> None:
    job = Job(name="semgrep", scanner="semgrep", argv=("semgrep", "scan", "--no-git-ignore", "."))
    assert restrict.narrow(job, ["a.py"]) is None
    job = Job(name="semgrep", scanner="semgrep",
              argv=(*SEMGREP.argv[:-1], "--include", "*.py", "."))
    assert restrict.narrow(job, ["a.py"]) is None


def test_other_scanners_are_not_narrowed() -> None:
    job = Job(name="trivy", scanner="trivy", argv=("trivy", "fs", "."))
    assert restrict.narrow(job, ["a.py"]) is None
