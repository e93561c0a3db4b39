"""repoconfig.inspect_tree: the tree's scanner config files and its outside symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from posture_gate.repoconfig import TreeTooLarge, inspect_tree


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    (root / "src" / "deep").mkdir(parents=True)
    (outside / "dir").mkdir(parents=True)
    (outside / "x.py").write_text("x = 1\n")
    (outside / "dir" / ".bandit").write_text("[bandit]\nskips = B101\n")
    return root, outside


def test_config_files_with_what_they_would_change(tmp_path: Path) -> None:
    root, _ = _tree(tmp_path)
    (root / ".bandit").write_text("[bandit]\nskips = B101, B105\nexclude = ./app\n"
                                  "output = /tmp/x\n")
    (root / "pyproject.toml").write_text('[tool.bandit]\nskips = ["B602"]\n')
    (root / "setup.cfg").write_text("[bandit]\nskips = B101\n")
    (root / ".semgrepignore").write_text("# comment\n\n*.py\ntests/\n:include .gitignore\n")
    (root / "src" / ".semgrepignore").write_text("x.py\n")
    (root / "trivy.yaml").write_text("severity:\n  - UNKNOWN\nscan:\n  skip-dirs: [a]\n")
    (root / ".trivyignore").write_text("# ok\nDS-0001\nKSV-0001\n")
    (root / ".trivyignore.yaml").write_text("misconfigurations:\n  - id: DS-0001\n"
                                            "  - id: DS-0002\n")
    (root / "trivy-secret.yaml").write_text("disable-rules:\n  - github-pat\n")
    (root / "src" / "trivy.yaml").write_text("severity: [LOW]\n")
    (root / "src" / "pyproject.toml").write_text('[tool.bandit]\nskips = ["B101"]\n')
    facts = inspect_tree(root)
    notes = {c.path: (c.scanner, c.honoured, c.note) for c in facts.config_files}
    assert notes == {
        ".bandit": ("bandit", False, "skips B101,B105; excludes ./app; sets output"),
        "pyproject.toml": ("bandit", False, "skips B602"),
        "setup.cfg": ("bandit", False,
                      "bandit 1.9.4 does not read setup.cfg (only a file given with --ini)"),
        ".semgrepignore": ("semgrep", False,
                           "ignores 2 pattern(s), includes 1 other file(s)"),
        "src/.semgrepignore": ("semgrep", False, "ignores 1 pattern(s)"),
        "trivy.yaml": ("trivy", False, "sets severity, scan"),
        ".trivyignore": ("trivy", False, "ignores 2 id(s)"),
        ".trivyignore.yaml": ("trivy", False, "ignores 2 entr(ies); trivy 0.76.0 reads it "
                              "only when named by --ignorefile or trivy.yaml"),
        "trivy-secret.yaml": ("trivy", False, "sets disable-rules"),
        "src/trivy.yaml": ("trivy", False, "sets severity; trivy reads only the root's"),
    }
    assert facts.outside_links == ()


def test_honoured_only_where_a_scanner_is_handed_the_file(tmp_path: Path) -> None:
    root, _ = _tree(tmp_path)
    for name in (".bandit", "src/.bandit", ".semgrepignore", "src/.semgrepignore",
                 ".trivyignore", ".trivyignore.yaml"):
        (root / name).write_text("[bandit]\n" if "bandit" in name else "x\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")  # no [tool.bandit]
    facts = inspect_tree(root, honour=[".bandit", ".semgrepignore", ".trivyignore",
                                       ".trivyignore.yaml", "pyproject.toml"])
    honoured = {c.path: c.honoured for c in facts.config_files}
    assert honoured == {".bandit": True, "src/.bandit": False, ".semgrepignore": True,
                        "src/.semgrepignore": True, ".trivyignore": False,
                        ".trivyignore.yaml": True}
    trivyignore = next(c for c in facts.config_files if c.path == ".trivyignore")
    assert trivyignore.note.endswith("trivy takes one ignore file and .trivyignore.yaml "
                                     "is used")
    assert facts.honoured_names == frozenset({".bandit", ".semgrepignore", ".trivyignore",
                                              ".trivyignore.yaml", "pyproject.toml"})


def test_outside_links_found_never_followed(tmp_path: Path) -> None:
    root, outside = _tree(tmp_path)
    (root / "src" / "ok.py").write_text("y = 2\n")
    (root / "src" / "abs.py").symlink_to(outside / "x.py")
    (root / "src" / "deep" / "rel.py").symlink_to(Path("../../../outside/x.py"))
    (root / "lib").symlink_to(outside / "dir", target_is_directory=True)
    (root / "dangling.py").symlink_to(outside / "gone.py")
    (root / "inside.py").symlink_to(Path("src/ok.py"))  # stays inside: fine
    (root / "srcdir").symlink_to(root / "src", target_is_directory=True)
    (root / "loop").symlink_to(root / "loop2")
    (root / "loop2").symlink_to(root / "loop")
    (root / "via").symlink_to(Path("lib/x"))  # inside link -> outside link: outside
    (root / "up").symlink_to(Path(".."), target_is_directory=True)
    facts = inspect_tree(root)
    assert facts.outside_links == ("dangling.py", "lib", "src/abs.py", "src/deep/rel.py",
                                   "up", "via")
    # the .bandit behind the directory link was never seen
    assert facts.config_files == ()


def test_outside_linked_config_file_is_never_read_nor_honoured(tmp_path: Path) -> None:
    root, outside = _tree(tmp_path)
    (outside / "secret.txt").write_text("[bandit]\nskips = B101\n")
    (root / ".bandit").symlink_to(outside / "secret.txt")
    (root / ".semgrepignore").write_text("*\n")
    (root / "src" / ".semgrepignore").symlink_to(outside / "secret.txt")
    facts = inspect_tree(root, honour=[".bandit", ".semgrepignore"])
    entries = {c.path: (c.honoured, c.note) for c in facts.config_files}
    leads = "a symlink leading outside the scanned root: never read"
    assert entries == {".bandit": (False, leads), ".semgrepignore": (False, "ignores 1 "
                                                                     "pattern(s)"),
                       "src/.semgrepignore": (False, leads)}
    assert facts.honoured_names == frozenset()
    assert facts.outside_links == (".bandit", "src/.semgrepignore")


def test_skips_virtualenvs_and_the_output_dir(tmp_path: Path) -> None:
    root, outside = _tree(tmp_path)
    for d in (".venv", "node_modules", "src/venv", "report", ".git"):
        (root / d).mkdir(parents=True)
        (root / d / "link.py").symlink_to(outside / "x.py")
        (root / d / ".bandit").write_text("[bandit]\n")
    (root / "src" / "report").mkdir()
    (root / "src" / "report" / ".bandit").write_text("[bandit]\n")
    facts = inspect_tree(root, exclude_dirs=["report"])
    assert [c.path for c in facts.config_files] == ["src/report/.bandit"]
    assert facts.outside_links == ()


def test_a_fifo_named_like_a_config_file_does_not_block(tmp_path: Path) -> None:
    root, _ = _tree(tmp_path)
    os.mkfifo(root / "trivy.yaml")
    (entry,) = inspect_tree(root).config_files
    assert entry.path == "trivy.yaml" and entry.note == "empty"


def test_a_tree_too_large_to_vouch_for_is_an_error(tmp_path: Path) -> None:
    root, _ = _tree(tmp_path)
    for i in range(5):
        (root / f"f{i}").write_text("")
    assert inspect_tree(root, max_entries=8).outside_links == ()
    with pytest.raises(TreeTooLarge, match="more than 3 files and directories"):
        inspect_tree(root, max_entries=3)


def test_hostile_names_are_kept_verbatim_for_the_reporters_to_clean(tmp_path: Path) -> None:
    root, outside = _tree(tmp_path)
    name = "a\x1b[31mred\nline.py"
    (root / name).symlink_to(outside / "x.py")
    assert inspect_tree(root).outside_links == (name,)
