"""posture-gate runs semgrep's OCaml command line (osemgrep, `scan --experimental`) for its
speed. These tests hold it to semgrep's default Python one (pysemgrep) reading the bundled
pack as YAML: on a tree built to trip up every option the plan passes (ignore files the tree
must not unsay, nosemgrep, excluded dirs, a symlink out of the tree, odd names, a broken and
a non-UTF-8 file, a file over the size limit) both give the same findings, errors and paths.
A semgrep upgrade that parts them fails here."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from posture_gate.model import Finding
from posture_gate.scanners.base import Job, ScanContext, ScannerSettings
from posture_gate.scanners.semgrep import ENGINE, Semgrep, bundled_rules
from tests.conftest import bin_dir, cli_env, copy_webapp, webapp_with_links_out

pytestmark = pytest.mark.slow

SHELL = 'import os\n\n\ndef run(cmd):\n    os.system("ls " + cmd)\n'


def _tree(tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    root, links = webapp_with_links_out(tmp_path, SHELL)
    files = {
        ".semgrepignore": "*\n", "app/.semgrepignore": "*.py\n", ".gitignore": "*.py\n",
        "nosem.py": SHELL.replace("+ cmd)", "+ cmd)  # nosemgrep"),
        "tests/t.py": SHELL, "venv/lib/v.py": SHELL, "build/b.py": SHELL,
        "src/a*b [c].py": SHELL, "src/-dash.py": SHELL, "broken.py": "def f(:\n    pass\n",
        # over semgrep's 1 MB default, as one comment: 200,000 statements made a rule time
        # out on a loaded machine (which fails the run, rightly), and size is what is tested
        "big.py": SHELL + "# " + "x" * 1_100_000 + "\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "latin1.py").write_bytes(b"# \xe9\xff\n" + SHELL.encode())
    return root, links


def _paths(found: tuple[Finding, ...]) -> set[str]:
    return {f.location.path for f in found if f.location is not None}


def _run(argv: list[str], job: Job, root: Path) -> tuple[int, bytes]:
    proc = subprocess.run(argv, cwd=root, capture_output=True, check=False, timeout=300,
                          env=cli_env(**job.env))
    return proc.returncode, proc.stdout


def _pysemgrep(job: Job) -> list[str]:
    """The same scan by semgrep's Python command line, with the pack as its YAML source."""
    rest = list(job.argv[1 + len(ENGINE):])
    rest = [str(bundled_rules()) if a.endswith(".json") and "semgrep-rules" in a else a
            for a in rest]
    return [str(bin_dir() / "pysemgrep"), "scan", *rest]


def _both(root: Path, settings: ScannerSettings, links: tuple[str, ...] = (),
          honour: frozenset[str] = frozenset()
          ) -> tuple[dict[str, object], dict[str, object], tuple[Finding, ...]]:
    ctx = ScanContext(root=root, work_dir=root.parent / "work", outside_links=links,
                      honor_repo_config=honour)
    ctx.work_dir.mkdir(exist_ok=True)
    scanner = Semgrep()
    (job,) = scanner.plan(settings, ctx)
    assert job.argv[1:1 + len(ENGINE)] == ENGINE
    seen = []
    for argv in (list(job.argv), _pysemgrep(job)):
        code, out = _run(argv, job, root)
        assert code == 0, out[-500:]
        doc = json.loads(out)
        parsed = scanner.parse(out, job, ctx, "1.185.0")
        seen.append((doc, parsed.findings))
    (ours, ours_found), (theirs, theirs_found) = seen
    assert ours_found == theirs_found
    assert ours["errors"] == theirs["errors"] and ours["paths"] == theirs["paths"]
    assert ours["skipped_rules"] == theirs["skipped_rules"]
    return ours, theirs, ours_found


def test_osemgrep_scans_a_hostile_tree_as_pysemgrep_does(tmp_path: Path) -> None:
    root, links = _tree(tmp_path)
    doc, _, found = _both(root, ScannerSettings(name="semgrep", options={}), links)
    paths = _paths(found)
    # what the case is built to show: the tree's ignore files and nosemgrep are not obeyed,
    # the built-in and venv excludes are, nothing past the symlinks is read, and a file
    # over semgrep's 1 MB default is read all the same (--max-target-bytes 0)
    assert {"nosem.py", "src/a*b [c].py", "src/-dash.py", "latin1.py", "big.py"} <= paths
    assert not paths & {"tests/t.py", "venv/lib/v.py", "build/b.py", "out.py"}
    assert not any(p.startswith("out/") for p in paths)
    assert "broken.py" in doc["paths"]["scanned"]  # type: ignore[index]


def test_an_honoured_semgrepignore_is_read_as_pysemgrep_reads_it(tmp_path: Path) -> None:
    # a trusted policy may honour the tree's .semgrepignore files (honor_repo_config)
    root, links = _tree(tmp_path)
    (root / ".semgrepignore").write_text("nosem.py\n/src/\n")
    _, _, found = _both(root, ScannerSettings(name="semgrep", options={}), links,
                        frozenset({".semgrepignore"}))
    paths = _paths(found)
    assert "latin1.py" in paths and not paths & {"nosem.py", "src/a*b [c].py"}
    assert not any(p.startswith("app/") for p in paths)  # app/.semgrepignore: *.py


def test_osemgrep_scans_named_files_as_pysemgrep_does(tmp_path: Path) -> None:
    # the pre-commit hook's way: the files being committed, named one by one
    root, _ = _tree(tmp_path)
    named = ["nosem.py", "src/a*b [c].py", "broken.py", "app/views.py", "app/db.py"]
    _, _, found = _both(root, ScannerSettings(name="semgrep", options={"paths": named}))
    assert _paths(found) >= {"nosem.py", "src/a*b [c].py", "app/db.py"}


def test_a_broken_rule_file_fails_both(tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    rules = tmp_path / "rules.yml"
    rules.write_text("rules:\n- id: x\n  pattern: foo(\n  message: m\n  languages: [python]\n"
                     "  severity: ERROR\n")
    ctx = ScanContext(root=root, work_dir=tmp_path / "work")
    ctx.work_dir.mkdir()
    (job,) = Semgrep().plan(ScannerSettings(name="semgrep", options={"config": [str(rules)]}),
                            ctx)
    codes = [_run(argv, job, root)[0] for argv in (list(job.argv), _pysemgrep(job))]
    assert 0 not in codes
