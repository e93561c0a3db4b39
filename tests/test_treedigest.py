"""The tree's manifest, and telling after a scan whether the tree still holds it."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from posture_gate import treedigest
from posture_gate.scanners.base import Weight


def _tree(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("import os\n")
    (root / "src" / "b.py").write_text("eval(x)\n")
    (root / "README.md").write_text("hello\n")
    return root


def _settled(snap: treedigest.Snapshot) -> treedigest.Snapshot:
    """As if the walk began long after every file was last written (the usual case: a
    checkout seconds before the scan); files written in tests are younger than RACY_NS."""
    return replace(snap, started_ns=snap.started_ns + 10 * treedigest.RACY_NS)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = treedigest._read

    def counting(path: str | Path) -> tuple[str, treedigest.Identity] | None:
        seen.append(os.path.basename(path))
        return real(path)
    monkeypatch.setattr(treedigest, "_read", counting)
    return seen


def test_the_snapshot_is_the_manifest(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t")
    snap = treedigest.snapshot(root)
    assert dict(snap.files) == treedigest.manifest(root)
    assert sorted(snap.stats) == sorted(snap.files) == ["README.md", "src/a.py", "src/b.py"]


def test_a_settled_tree_is_checked_from_file_status_alone(tmp_path: Path,
                                                          reads: list[str]) -> None:
    root = _tree(tmp_path / "t")
    snap = _settled(treedigest.snapshot(root))
    reads.clear()
    assert treedigest.unchanged(snap, root)
    assert reads == []


def test_files_written_just_before_the_walk_are_read_again(tmp_path: Path,
                                                           reads: list[str]) -> None:
    # git's racily clean entries: a write in the same timestamp tick as the one the status
    # shows would leave the status as it was, so only the bytes can tell
    root = _tree(tmp_path / "t")
    snap = treedigest.snapshot(root)
    reads.clear()
    assert treedigest.unchanged(snap, root)
    assert sorted(reads) == ["README.md", "a.py", "b.py"]
    # the same status with other bytes hashed: settled, the status is believed; racy, not
    forged = replace(snap, files={**snap.files, "src/b.py": "0" * 64})
    assert treedigest.unchanged(_settled(forged), root)
    assert not treedigest.unchanged(forged, root)


def test_a_rewrite_that_keeps_size_and_mtime_is_seen(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t")
    target = root / "src" / "b.py"
    before = target.stat()
    snap = _settled(treedigest.snapshot(root))
    target.write_text("exec(x)\n")  # as long as "eval(x)\n"
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert target.stat().st_size == before.st_size
    assert not treedigest.unchanged(snap, root)  # the ctime moved: read, and it differs


def test_a_file_replaced_by_one_with_the_same_bytes_is_unchanged(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t")
    snap = _settled(treedigest.snapshot(root))
    twin = tmp_path / "twin.py"
    twin.write_text("eval(x)\n")
    os.replace(twin, root / "src" / "b.py")  # another inode: read again, same digest
    assert treedigest.unchanged(snap, root)
    twin.write_text("exec(y)\n")
    os.replace(twin, root / "src" / "b.py")
    assert not treedigest.unchanged(snap, root)


def test_added_deleted_and_relinked_files_are_changes(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t")
    snap = _settled(treedigest.snapshot(root))
    (root / "src" / "c.py").write_text("")
    assert not treedigest.unchanged(snap, root)
    (root / "src" / "c.py").unlink()
    assert treedigest.unchanged(snap, root)
    (root / "README.md").unlink()
    assert not treedigest.unchanged(snap, root)
    # a link that now leads to other bytes: a change; a FIFO planted beside: never read
    (root / "README.md").symlink_to(root / "src" / "a.py")
    assert not treedigest.unchanged(snap, root)
    (root / "README.md").unlink()
    (root / "README.md").write_text("hello\n")
    os.mkfifo(root / "src" / "pipe.py")
    assert treedigest.unchanged(snap, root)


def test_the_walk_skips_what_the_snapshot_skips(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t")
    (root / "report").mkdir()
    (root / "report" / "findings.json").write_text("{}")
    snap = _settled(treedigest.snapshot(root, exclude_dirs=("report",)))
    (root / "report" / "findings.json").write_text('{"new": 1}')  # our own output
    (root / ".git").mkdir()
    (root / ".git" / "index").write_text("x")
    assert treedigest.unchanged(snap, root, exclude_dirs=("report",))


def test_an_earlier_snapshot_spares_reading_what_did_not_change(tmp_path: Path,
                                                                reads: list[str]) -> None:
    root = _tree(tmp_path / "t")
    known = _settled(treedigest.snapshot(root))
    (root / "src" / "b.py").write_text("exec(y)\n")  # same size, a new ctime
    (root / "src" / "c.py").write_text("")
    reads.clear()
    snap = treedigest.snapshot(root, known=known)
    assert sorted(reads) == ["b.py", "c.py"] and snap.reused == 2
    assert dict(snap.files) == treedigest.manifest(root)
    assert snap.stats["src/a.py"] == known.stats["src/a.py"]


def test_an_earlier_snapshot_is_believed_only_for_files_settled_before_it(
        tmp_path: Path, reads: list[str]) -> None:
    root = _tree(tmp_path / "t")
    known = treedigest.snapshot(root)  # every file written just before it: racy
    forged = replace(known, files={**known.files, "src/b.py": "0" * 64})
    reads.clear()
    snap = treedigest.snapshot(root, known=forged)
    assert snap.reused == 0 and len(reads) == 3
    assert snap.files["src/b.py"] == known.files["src/b.py"]
    # settled, the same status is taken at its word (the memo is trusted as the cache is)
    assert treedigest.snapshot(root, known=_settled(forged)).files["src/b.py"] == "0" * 64


def test_a_tree_read_on_two_threads_is_the_tree_read_on_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past _THREADED_FROM files the snapshot reads on two threads (the smallest files up,
    the largest down): every readable file once, in the walk's order, with the digest and
    status one thread reads; a FIFO, a dangling link and an unreadable file are left out
    either way."""
    root = tmp_path / "t"
    for n in range(150):
        part = root / f"d{n % 7}"
        part.mkdir(parents=True, exist_ok=True)
        (part / f"f{n}.py").write_bytes(os.urandom(n * 997 % 300_000))
    os.mkfifo(root / "pipe.py")
    (root / "gone.py").symlink_to(root / "nowhere.py")
    (root / "d0" / "secret.py").write_text("x")
    (root / "d0" / "secret.py").chmod(0)
    got: list[str] = []
    real = treedigest._read

    def threads_seen(path: str | Path) -> tuple[str, treedigest.Identity] | None:
        got.append(threading.current_thread().name)
        return real(path)
    monkeypatch.setattr(treedigest, "_read", threads_seen)
    two = treedigest.snapshot(root)
    assert len(set(got)) == 2, "read on one thread only"
    monkeypatch.setattr(treedigest, "_THREADED_FROM", 10**9)
    got.clear()
    one = treedigest.snapshot(root)
    assert len(set(got)) == 1
    assert list(two.files.items()) == list(one.files.items())  # the walk's order too
    assert two.stats == one.stats
    expected = 150 if os.geteuid() != 0 else 151  # root reads a mode 000 file
    assert len(one.files) == expected and "pipe.py" not in one.files \
        and "gone.py" not in one.files


def test_an_interrupted_snapshot_leaves_the_helper_no_more_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM's exception raised on the main thread while the tree is hashed: the helper
    thread ends with the file it is reading, not after the rest of the tree."""
    root = tmp_path / "t"
    root.mkdir()
    for n in range(200):
        (root / f"f{n}.py").write_bytes(b"x" * n)
    helper_reads: list[str] = []
    helper_started = threading.Event()
    main_raised = threading.Event()
    real = treedigest._read

    def reading(path: str | Path) -> tuple[str, treedigest.Identity] | None:
        if threading.current_thread() is threading.main_thread():
            helper_started.wait(30)
            main_raised.set()
            raise KeyboardInterrupt
        helper_reads.append(os.path.basename(path))
        helper_started.set()
        main_raised.wait(30)
        return real(path)
    monkeypatch.setattr(treedigest, "_read", reading)
    with pytest.raises(KeyboardInterrupt):
        treedigest.snapshot(root)
    assert 1 <= len(helper_reads) <= 2, helper_reads  # 199 left to it without the stop


def test_weight_counts_python_and_the_rest_by_size(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "app.py").write_bytes(b"x" * 100)
    (tmp_path / "setup.py").write_bytes(b"y" * 20)
    (tmp_path / "notes.txt").write_bytes(b"z" * 30)
    (tmp_path / "py").write_bytes(b"w" * 7)  # a name ending in "py" is not Python
    assert treedigest.weight(treedigest.snapshot(tmp_path)) == Weight(python=120, other=37)
