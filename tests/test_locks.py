"""Lock and requirements readers on small real-format fixtures (tests/data/locks/), and the
hostile inputs an untrusted tree can hold."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from posture_gate import locks
from posture_gate.locks import LockError

LOCKS = Path(__file__).parent / "data" / "locks"


def project(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(LOCKS / name, root)
    return root


def line_of(path: Path, text: str, after: str | None = None) -> int:
    """1-based line of the first line containing `text` (after the line containing `after`)."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1


def pins(found: locks.Inputs) -> dict[tuple[str, str], tuple[str, int]]:
    return {(p.name, p.version): (p.path, p.line) for p in found.pins}


def test_poetry_lock_beats_the_pyproject_ranges(tmp_path: Path) -> None:
    root = project(tmp_path, "poetry")
    found = locks.read(root)
    lock = root / "poetry.lock"
    assert found.files == ("poetry.lock",)  # the ranged pyproject.toml is not read at all
    assert pins(found) == {
        ("certifi", "2024.2.2"): ("poetry.lock", line_of(lock, 'version = "2024.2.2"')),
        ("pyyaml", "5.1"): ("poetry.lock", line_of(lock, 'version = "5.1"')),
        ("requests", "2.19.1"): ("poetry.lock", line_of(lock, 'version = "2.19.1"')),
        ("urllib3", "1.23"): ("poetry.lock", line_of(lock, 'version = "1.23"')),
    }
    # a git source has no version an advisory database knows: listed, not audited
    assert [(u.name, u.reason, u.line) for u in found.unaudited] == [
        ("mylib", "git source in poetry.lock", line_of(lock, 'version = "0.3.0"'))]


def test_uv_lock_skips_the_project_itself(tmp_path: Path) -> None:
    root = project(tmp_path, "uv")
    found = locks.read(root)
    lock = root / "uv.lock"
    assert pins(found) == {
        ("certifi", "2024.8.30"): ("uv.lock", line_of(lock, 'version = "2024.8.30"')),
        ("pyyaml", "5.1"): ("uv.lock", line_of(lock, 'version = "5.1"')),
        ("requests", "2.19.1"): ("uv.lock", line_of(lock, 'version = "2.19.1"')),
    }
    assert found.unaudited == ()


def test_uv_lock_forked_on_markers_keeps_both_versions(tmp_path: Path) -> None:
    found = locks.read(project(tmp_path, "uv-fork"))
    assert sorted(pins(found)) == [("pyyaml", "5.1"), ("pyyaml", "5.3")]


def test_pipfile_lock_default_and_develop(tmp_path: Path) -> None:
    root = project(tmp_path, "pipenv")
    found = locks.read(root)
    lock = root / "Pipfile.lock"
    assert pins(found) == {
        ("certifi", "2024.2.2"): ("Pipfile.lock", line_of(lock, '"certifi": {')),
        ("pyyaml", "5.1"): ("Pipfile.lock", line_of(lock, '"pyyaml": {')),
        ("requests", "2.19.1"): ("Pipfile.lock", line_of(lock, '"requests": {')),
        ("jinja2", "2.10"): ("Pipfile.lock", line_of(lock, '"jinja2": {')),
    }


def test_pdm_lock(tmp_path: Path) -> None:
    root = project(tmp_path, "pdm")
    found = locks.read(root)
    lock = root / "pdm.lock"
    assert found.files == ("pdm.lock",)
    assert pins(found)[("pyyaml", "5.1")] == ("pdm.lock", line_of(lock, 'version = "5.1"'))
    assert len(found.pins) == 3


def test_pylock_toml(tmp_path: Path) -> None:
    root = project(tmp_path, "pylock")
    found = locks.read(root)
    lock = root / "pylock.toml"
    assert pins(found) == {
        ("pyyaml", "5.1"): ("pylock.toml", line_of(lock, 'version = "5.1"')),
        ("requests", "2.19.1"): ("pylock.toml", line_of(lock, 'version = "2.19.1"')),
    }
    # vcs: not audited; the directory source is the project's own code
    assert [(u.name, u.reason) for u in found.unaudited] == [("mylib", "VCS source in pylock.toml")]


def test_named_pylock_files_are_read(tmp_path: Path) -> None:
    root = project(tmp_path, "pylock")
    (root / "pylock.toml").rename(root / "pylock.dev.toml")
    assert locks.read(root).files == ("pylock.dev.toml",)


def test_nested_includes_relative_to_the_including_file(tmp_path: Path) -> None:
    root = project(tmp_path, "nested")
    found = locks.read(root)
    assert found.files == ("requirements.txt", "requirements/prod.txt", "requirements/base.txt",
                           "requirements/constraints.txt")
    assert pins(found) == {
        ("pyyaml", "5.1"): ("requirements/base.txt", 2),  # continued with --hash on line 3
        ("certifi", "2024.2.2"): ("requirements/base.txt", 4),
        # `requests` is unpinned in prod.txt and pinned by the constraints file
        ("requests", "2.19.1"): ("requirements/constraints.txt", 1),
        ("urllib3", "1.23"): ("requirements/constraints.txt", 2),
    }


def test_an_include_twice_or_in_a_cycle_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r a.txt\n-r a.txt\npyyaml==5.1\n")
    (tmp_path / "a.txt").write_text("-r requirements.txt\nrequests==2.19.1\n")
    found = locks.read(tmp_path)
    assert found.files == ("requirements.txt", "a.txt")
    assert sorted(pins(found)) == [("pyyaml", "5.1"), ("requests", "2.19.1")]


@pytest.mark.parametrize("line", ["-r /etc/passwd", "-r ../../outside.txt",
                                  "--requirement=../../outside.txt", "-c ~/constraints.txt",
                                  "-r link.txt"])
def test_an_include_that_leaves_the_root_is_refused_unread(tmp_path: Path, line: str) -> None:
    root = tmp_path / "a" / "repo"
    root.mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    outside.write_text("leaked==1.0\n")
    (root / "link.txt").symlink_to(outside)
    (root / "requirements.txt").write_text(f"pyyaml==5.1\n{line}\n")
    with pytest.raises(LockError) as exc:
        locks.read(root)
    assert str(exc.value).startswith("requirements.txt:2: include ")
    assert "leaves the scanned tree; not read" in str(exc.value)


def test_an_include_that_is_a_url_is_never_fetched(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r https://example.invalid/r.txt\n")
    with pytest.raises(LockError, match=r"^requirements.txt:1: include .* is a URL; not fetched"):
        locks.read(tmp_path)


def test_a_lock_or_requirements_symlink_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "secret.lock").write_text('[[package]]\nname = "x"\nversion = "1"\n')
    (root / "uv.lock").symlink_to(tmp_path / "secret.lock")
    with pytest.raises(LockError, match=r"^uv.lock leaves the scanned tree; not read$"):
        locks.read(root)
    (root / "uv.lock").unlink()
    (root / "requirements.txt").symlink_to("/etc/passwd")
    with pytest.raises(LockError, match=r"^requirements.txt leaves the scanned tree"):
        locks.read(root)


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "requirements.txt")  # reading it would block forever
    with pytest.raises(LockError, match="not a regular file"):
        locks.read(tmp_path)


def test_size_cap(tmp_path: Path) -> None:
    with open(tmp_path / "poetry.lock", "wb") as fh:
        fh.truncate(locks.MAX_FILE_BYTES + 1)
    with pytest.raises(LockError, match="larger than 32 MiB"):
        locks.read(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_bytes(b"pyyaml==5.1 # \xff\n")
    with pytest.raises(LockError, match=r"^requirements.txt: not UTF-8"):
        locks.read(tmp_path)


@pytest.mark.parametrize("version", ['"1.0\\n--index-url http://evil.invalid"', '"1.0 ; x"',
                                     '"latest"'])
def test_a_version_that_is_not_a_version_never_reaches_pip_audit(tmp_path: Path,
                                                                 version: str) -> None:
    (tmp_path / "uv.lock").write_text(
        'version = 1\n\n[[package]]\nname = "pyyaml"\n'
        f'version = {version}\nsource = {{ registry = "https://pypi.org/simple" }}\n')
    with pytest.raises(LockError, match=r"^uv.lock:5: pyyaml: invalid version"):
        locks.read(tmp_path)


def test_a_name_that_is_not_a_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pdm.lock").write_text(
        '[[package]]\nname = "x\\n-r /etc/passwd"\nversion = "1.0"\n')
    with pytest.raises(LockError, match="invalid package name"):
        locks.read(tmp_path)


@pytest.mark.parametrize("text, message", [
    ("[[package]\n", r"^poetry.lock: not valid TOML \(.*line 1"),
    ('package = "x"\n', r"^poetry.lock: package is str"),
    ("package = [1]\n", r"^poetry.lock: package\[0\] is int"),
    ('[[package]]\nversion = "1.0"\n', r"^poetry.lock: package\[0\] has no name"),
    ('[[package]]\nname = "x"\nversion = 1\n', r"^poetry.lock:3: package\[0\].version is int"),
    ('[[package]]\nname = "x"\nversion = "1"\nsource = 3\n', r"source.type is not a string"),
])
def test_malformed_lock_files_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "poetry.lock").write_text(text)
    with pytest.raises(LockError, match=message):
        locks.read(tmp_path)


def test_malformed_pipfile_lock(tmp_path: Path) -> None:
    (tmp_path / "Pipfile.lock").write_text('{"default": {"pyyaml": {"version": ">=5"}}}')
    with pytest.raises(LockError, match=r"^Pipfile.lock:1: default.pyyaml.version is not '==X'"):
        locks.read(tmp_path)
    (tmp_path / "Pipfile.lock").write_text('{"default": []}')
    with pytest.raises(LockError, match=r"^Pipfile.lock: default is list"):
        locks.read(tmp_path)


def test_an_unpinned_requirement_without_a_lock_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("pyyaml==5.1\n\nrequests>=2  # a range\n")
    with pytest.raises(LockError, match=r"^requirements.txt:3: 'requests>=2' is not pinned"):
        locks.read(tmp_path)


def test_a_range_is_covered_by_a_lock_that_satisfies_it(tmp_path: Path) -> None:
    root = project(tmp_path, "uv")
    (root / "requirements.txt").write_text("requests>=2.19\n")
    found = locks.read(root)
    assert found.files == ("requirements.txt", "uv.lock")
    (root / "requirements.txt").write_text("requests>=2.20\n")
    with pytest.raises(LockError, match=r"^requirements.txt:1: 'requests>=2.20' is not "
                                        r"satisfied by the pin requests==2.19.1 \(uv.lock:"):
        locks.read(root)


def test_pyproject_without_a_lock(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "d"\nversion = "1"\ndependencies = [\n  "PyYAML==5.1",\n'
        '  "requests>=2",\n]\n')
    with pytest.raises(LockError, match=r"^pyproject.toml:6: dependency not pinned with ==: "
                                        "requests>=2"):
        locks.read(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry.dependencies]\npython = "^3.10"\npyyaml = "5.1"\n'
        'requests = {version = "==2.19.1", optional = true}\nflask = "^2"\n')
    with pytest.raises(LockError, match=r"^pyproject.toml:5: dependency not pinned: flask"):
        locks.read(tmp_path)


def test_pinned_pyproject_locates_each_pin(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "d"\nversion = "1"\ndependencies = [\n  "PyYAML==5.1",\n'
        '  "requests==2.19.1",\n]\n\n[tool.poetry.dependencies]\nurllib3 = "1.23"\n')
    assert pins(locks.read(tmp_path)) == {("pyyaml", "5.1"): ("pyproject.toml", 5),
                                          ("requests", "2.19.1"): ("pyproject.toml", 6),
                                          ("urllib3", "1.23"): ("pyproject.toml", 10)}


def test_url_and_path_requirements(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "pyyaml==5.1\n"
        "mylib @ https://example.invalid/mylib-1.0.tar.gz\n"
        "-e git+https://example.invalid/other.git#egg=other\n"
        "-e .\n"
        "./vendored/pkg\n"
        "local @ file:///src/local\n"
        "./wheels/requests-2.19.1-py3-none-any.whl\n"
        "built @ file:///wheels/built-1.0.tar.gz\n")
    found = locks.read(tmp_path)
    assert sorted(pins(found)) == [("pyyaml", "5.1")]
    assert [(u.name, u.reason, u.line) for u in found.unaudited] == [
        ("mylib", "direct URL requirement", 2), ("other", "editable URL requirement", 3),
        ("./wheels/requests-2.19.1-py3-none-any.whl", "direct archive requirement", 7),
        ("built", "direct archive requirement", 8)]


def test_nothing_to_audit(tmp_path: Path) -> None:
    with pytest.raises(LockError, match=r"^nothing to audit: no requirements"):
        locks.read(tmp_path)


def test_explicit_requirements_and_project(tmp_path: Path) -> None:
    root = project(tmp_path, "nested")
    found = locks.read(root, requirements=["requirements/base.txt"])
    assert found.files == ("requirements/base.txt",)
    shutil.copytree(LOCKS / "uv", root / "svc")
    assert locks.read(root, project="svc").files == ("svc/uv.lock",)
    with pytest.raises(LockError, match="leaves the scanned tree"):
        locks.read(root, requirements=["/etc/passwd"])


def test_names_from_the_tree_reach_messages_without_control_characters(tmp_path: Path) -> None:
    (tmp_path / "poetry.lock").write_text(
        '[[package]]\nname = "evil\\u001b[2J"\nversion = "1.0"\n\n[package.source]\n'
        'type = "svn\\u001b]0;x\\u0007"\nurl = "https://example.invalid/x"\n')
    found = locks.read(tmp_path)
    assert [(u.name, u.reason) for u in found.unaudited] == [
        ("evil?[2J", "svn?]0;x? source in poetry.lock")]


@pytest.mark.parametrize("lock, entry, kind", [
    ("poetry.lock", '[package.source]\ntype = "file"\nurl = "vendor/x-1.0.whl"\n', "file"),
    ("poetry.lock", '[package.source]\ntype = "url"\nurl = "https://e.invalid/x.whl"\n', "url"),
    ("uv.lock", 'source = { path = "vendor/x-1.0-py3-none-any.whl" }\n', "path"),
    ("uv.lock", 'source = { url = "https://e.invalid/x-1.0.tar.gz" }\n', "url"),
    ("pdm.lock", 'path = "vendor/x-1.0.tar.gz"\n', "archive"),
    ("pylock.toml", 'archive = {path = "vendor/x-1.0.whl", hashes = {sha256 = "00"}}\n',
     "archive"),
])
def test_archives_are_not_audited_by_name(tmp_path: Path, lock: str, entry: str,
                                          kind: str) -> None:
    key = "packages" if lock == "pylock.toml" else "package"
    (tmp_path / lock).write_text(f'[[{key}]]\nname = "x"\nversion = "1.0"\n{entry}')
    found = locks.read(tmp_path)
    assert found.pins == ()
    assert [(u.name, u.reason) for u in found.unaudited] == [("x", f"{kind} source in {lock}")]


@pytest.mark.parametrize("lock, entry", [
    ("poetry.lock", '[package.source]\ntype = "directory"\nurl = "libs/x"\n'),
    ("uv.lock", 'source = { directory = "libs/x" }\n'),
    ("uv.lock", 'source = { path = "libs/x" }\n'),
    ("pdm.lock", 'path = "libs/x"\n'),
    ("pylock.toml", 'directory = {path = "libs/x"}\n'),
])
def test_source_directories_are_the_projects_own_code(tmp_path: Path, lock: str,
                                                       entry: str) -> None:
    key = "packages" if lock == "pylock.toml" else "package"
    (tmp_path / lock).write_text(f'[[{key}]]\nname = "x"\nversion = "1.0"\n{entry}')
    found = locks.read(tmp_path)
    assert found.pins == () and found.unaudited == ()
