"""The plans give each scanner configuration posture-gate owns, exclude symlinks leading
outside the root exactly (no other path), and refuse flags that reach outside the scan."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from posture_gate.errors import ScannerError
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.bandit import Bandit
from posture_gate.scanners.base import ScanContext, ScannerSettings, forbidden_arg
from posture_gate.scanners.semgrep import DEFAULT_IGNORES, Semgrep
from posture_gate.scanners.trivy import Trivy
from tests.conftest import PLANTED_TOKEN, bin_dir, cli_env

# glob, list and gitignore syntax in names must stay literal
ODD = ("src/a*b.py", "src/[e].py", "src/c,d.py", "src/q\"q.py", "src/!bang.py", "#hash.py",
       "src/sp ace .py", "src/back\\slash.py", "src/{x,y}.py")
# ...and must not take their neighbours with them
NEIGHBOURS = ("src/axxb.py", "src/e.py", "src/c.py", "src/cxd.py", "src/q.py", "x/#hash.py",
              "bang.py", "src/x.py", "src/y.py", "a/src/a*b.py", "src/c,d.py.bak.py")


def _settings(name: str, **options: object) -> ScannerSettings:
    return ScannerSettings(name=name, options=options)


def _ctx(root: Path, *, honour: frozenset[str] = frozenset(),
         links: tuple[str, ...] = ()) -> ScanContext:
    return ScanContext(root=root, work_dir=root.parent / "work", honor_repo_config=honour,
                       outside_links=links)


def _values(argv: tuple[str, ...], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


def test_bandit_reads_an_empty_ini_unless_the_root_bandit_is_honoured(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".bandit").write_text("[bandit]\nskips = B101\nexclude = ./gen\n")
    (root / "pyproject.toml").write_text("[tool.bandit]\nskips = ['B105']\n")
    (job,) = Bandit().plan(_settings("bandit"), _ctx(root))
    (ini,) = _values(job.argv, "--ini")
    assert Path(ini).read_text() == "[bandit]\n" and Path(ini).parent == tmp_path / "work"
    assert "-c" not in job.argv and "-s" not in job.argv
    (job,) = Bandit().plan(_settings("bandit", skip=["B404"]),
                           _ctx(root, honour=frozenset({".bandit", "pyproject.toml"})))
    assert _values(job.argv, "--ini") == [str(root / ".bandit")]
    assert _values(job.argv, "-c") == [str(root / "pyproject.toml")]
    # -x and -s on the command line override the ini's: theirs are carried along
    assert _values(job.argv, "-x")[0].endswith(",./gen")
    assert _values(job.argv, "-s") == ["B404,B101"]


def test_bandit_excludes_exactly_the_outside_file_links(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "lib").mkdir()
    (root / "src" / "ok.py").write_text("x = 1\n")
    links = ("src/evil.py", "lib")  # a directory link is never entered by bandit's walk
    (job,) = Bandit().plan(_settings("bandit", paths=[".", "src"]), _ctx(root, links=links))
    patterns = _values(job.argv, "-x")[0].split(",")
    assert patterns[-2:] == ["./[s]rc/evil.py", "src/[e]vil.py"]


def test_bandit_drops_a_target_that_leads_outside(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "pkg").mkdir()
    (root / "lib").symlink_to(tmp_path / "pkg", target_is_directory=True)
    (root / "one.py").symlink_to(tmp_path / "pkg" / "x.py")
    (job,) = Bandit().plan(_settings("bandit", paths=["lib", "one.py", "."]),
                           _ctx(root, links=("lib", "one.py")))
    patterns = _values(job.argv, "-x")[0].split(",")
    assert patterns[-5:] == ["[l]ib", "[l]ib/*", "[o]ne.py", "[o]ne.py/*", "./[o]ne.py"]


def test_bandit_refuses_a_link_name_that_would_hide_real_code(tmp_path: Path) -> None:
    """bandit splits -x on commas and excludes by substring: a link named `views,py` would
    become a pattern that also drops views.py. That is exit 2, never a silent hole."""
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "views.py").write_text("x = 1\n")
    (root / "app" / "views,py").symlink_to(tmp_path / "elsewhere.py")
    with pytest.raises(ScannerError, match=r"cannot exclude 'app/views,py'.*'\./app/views\.py'"):
        Bandit().plan(_settings("bandit"), _ctx(root, links=("app/views,py",)))


def test_semgrep_drops_the_trees_ignore_files_and_keeps_its_built_in_list(tmp_path: Path) -> None:
    (job,) = Semgrep().plan(_settings("semgrep"), _ctx(tmp_path))
    assert "--x-ignore-semgrepignore-files" in job.argv
    assert set(DEFAULT_IGNORES) <= set(_values(job.argv, "--exclude"))
    assert _values(job.argv, "--project-root") == ["."]
    (job,) = Semgrep().plan(_settings("semgrep"),
                            _ctx(tmp_path, honour=frozenset({".semgrepignore"}),
                                 links=("src/a*b.py",)))
    assert "--x-ignore-semgrepignore-files" not in job.argv
    assert "tests/" not in _values(job.argv, "--exclude")
    assert _values(job.argv, "--exclude")[-1] == "/src/a\\*b.py"


def test_trivy_reads_no_config_from_its_working_directory(tmp_path: Path) -> None:
    for name in ("trivy.yaml", ".trivyignore", "trivy-secret.yaml"):
        (tmp_path / name).write_text("x: 1\n")
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path / "w", images=("alpine:3",),
                      outside_links=("a,b/c*.env",))
    fs, image = Trivy().plan(_settings("trivy"), ctx)
    for job in (fs, image):
        assert [_values(job.argv, f) for f in ("--config", "--ignorefile", "--secret-config")] \
            == [[""], [""], [""]]
    assert _values(fs.argv, "--skip-files") == ['"a,b/c\\*.env"']
    assert '"a,b/c\\*.env"' in _values(fs.argv, "--skip-dirs")
    assert "--skip-files" not in image.argv
    (tmp_path / ".trivyignore.yaml").write_text("secrets: []\n")
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path / "w", honor_repo_config=frozenset(
        {"trivy.yaml", ".trivyignore", ".trivyignore.yaml", "trivy-secret.yaml"}))
    (fs,) = Trivy().plan(_settings("trivy"), ctx)
    assert [_values(fs.argv, f) for f in ("--config", "--ignorefile", "--secret-config")] == \
        [[str(tmp_path / "trivy.yaml")], [str(tmp_path / ".trivyignore.yaml")],
         [str(tmp_path / "trivy-secret.yaml")]]


@pytest.mark.parametrize(("scanner", "args"), [
    ("bandit", ["--out", "/tmp/x"]), ("bandit", ["-qo", "/tmp/x"]), ("bandit", ["--in=x"]),
    ("bandit", ["-p", "ShellInjection"]), ("semgrep", ["--sarif-output=/tmp/x"]),
    ("semgrep", ["--json-out", "/tmp/x"]), ("semgrep", ["-f", "p/python"]),
    ("semgrep", ["--conf", "r/all"]), ("semgrep", ["--autofix"]),
    ("semgrep", ["--metrics=on"]), ("semgrep", ["--x-semgrepignore-filename", "x"]),
    ("semgrep", ["--use-git-ignore"]), ("semgrep", ["--remote", "https://e.invalid/r.git"]),
    ("semgrep", ["--profile"]), ("semgrep", ["--x-tr"]), ("semgrep", ["--legacy"]),
    ("trivy", ["--vex", "repo"]), ("trivy", ["--ignore-policy", "p.rego"]),
    ("trivy", ["--config-policy", "x"]), ("trivy", ["--template", "@/etc/passwd"]),
    ("trivy", ["-f", "template"]), ("trivy", ["--module-dir", "m"]),
    ("trivy", ["--checks-bundle-repository", "evil.invalid/x"]),
    ("trivy", ["--generate-default-config"]), ("trivy", ["-dqo", "x"]),
    ("pip-audit", ["--requir", "x.txt"]),
])
def test_flags_that_reach_outside_the_scan_are_forbidden(scanner: str, args: list[str]) -> None:
    assert forbidden_arg(args, SCANNERS[scanner].forbidden_args) is not None


@pytest.mark.parametrize(("scanner", "args"), [
    ("bandit", ["-t", "B101"]), ("bandit", ["--exit-zero"]), ("semgrep", ["--max-memory", "9"]),
    ("semgrep", ["--exclude", "x"]), ("trivy", ["--debug"]), ("trivy", ["--parallel", "2"]),
    ("pip-audit", ["--desc"]),
])
def test_ordinary_flags_stay_allowed(scanner: str, args: list[str]) -> None:
    assert forbidden_arg(args, SCANNERS[scanner].forbidden_args) is None


def _tree(tmp_path: Path, body: str) -> Path:
    root = tmp_path / "repo"
    for rel in (*ODD, *NEIGHBOURS):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(body)
    return root


@pytest.mark.slow
def test_semgrep_and_trivy_exclude_only_the_named_paths(tmp_path: Path) -> None:
    """The excludes, run by the real tools on regular files of the same odd names."""
    root = _tree(tmp_path, f'import os\nTOKEN = "{PLANTED_TOKEN}"\n')
    ctx = _ctx(root, links=ODD)
    (job,) = Semgrep().plan(_settings("semgrep"), ctx)
    argv = [a for a in job.argv[1:-1] if a != "--json"]  # --x-ls prints one path a line
    listed = subprocess.run([str(bin_dir() / "semgrep"), *argv, "--x-ls", "."], cwd=root,
                            capture_output=True, text=True, check=True,
                            env={**cli_env(), **job.env}).stdout.splitlines()
    assert sorted(listed) == sorted(NEIGHBOURS)
    (job,) = Trivy().plan(_settings("trivy", scanners=["secret"]), ctx)
    out = subprocess.run([str(bin_dir() / "trivy"), *job.argv[1:]], cwd=root,
                         capture_output=True, text=True, check=True).stdout
    assert sorted(r["Target"] for r in json.loads(out)["Results"]) == sorted(NEIGHBOURS)


@pytest.mark.slow
def test_bandit_excludes_only_the_named_paths(tmp_path: Path) -> None:
    odd = tuple(p for p in ODD if "," not in p)  # a comma name: see the refusal test
    neighbours = tuple(p for p in NEIGHBOURS if "," not in p)
    root = _tree(tmp_path, "import subprocess\nsubprocess.call('x', shell=True)\n")
    for rel in (*ODD, *NEIGHBOURS):
        if "," in rel:
            (root / rel).unlink()
    (job,) = Bandit().plan(_settings("bandit"), _ctx(root, links=odd))
    out = subprocess.run([str(bin_dir() / "bandit"), *job.argv[1:]], cwd=root,
                         capture_output=True, text=True, check=False).stdout
    found = {r["filename"].removeprefix("./") for r in json.loads(out)["results"]}
    assert found == set(neighbours)
