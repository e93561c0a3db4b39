"""The last snapshot of a root, kept for the next scan of it."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from posture_gate import treedigest, treememo


def _root(tmp_path: Path, name: str = "t") -> Path:
    root = tmp_path / name
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("import os\n")
    (root / "app.py").write_text("eval(x)\n")
    return root


def _memo(folder: Path, root: Path) -> Path:
    return folder / treememo.FOLDER / treememo._name(root)


def test_a_snapshot_round_trips(tmp_path: Path) -> None:
    root, folder = _root(tmp_path), tmp_path / "results"
    snap = treedigest.snapshot(root)
    treememo.save(folder, root, snap)
    back = treememo.load(folder, root)
    assert back is not None
    assert (dict(back.files), dict(back.stats), back.started_ns) == \
        (dict(snap.files), dict(snap.stats), snap.started_ns)
    assert stat.S_IMODE(_memo(folder, root).stat().st_mode) == 0o600
    assert treememo.load(folder, tmp_path / "other") is None  # each root its own


@pytest.mark.parametrize("damage", [
    lambda doc: doc.update(schema="posture-gate/tree-memo/v0"),
    lambda doc: doc.update(root="/elsewhere"),
    lambda doc: doc.update(started_ns="1"),
    lambda doc: doc.update(started_ns=True),
    lambda doc: doc["files"]["app.py"].__setitem__(5, "not a digest"),
    lambda doc: doc["files"]["app.py"].__setitem__(1, -1),
    lambda doc: doc["files"]["app.py"].__setitem__(1, 1.5),
    lambda doc: doc["files"]["app.py"].pop(),
    lambda doc: doc.update(files=[]),
])
def test_a_memo_of_another_shape_remembers_nothing(tmp_path: Path, damage: object) -> None:
    root, folder = _root(tmp_path), tmp_path / "results"
    treememo.save(folder, root, treedigest.snapshot(root))
    doc = json.loads(_memo(folder, root).read_text())
    damage(doc)  # type: ignore[operator]
    _memo(folder, root).write_text(json.dumps(doc))
    assert treememo.load(folder, root) is None


def test_a_file_name_that_is_not_utf8_is_remembered_as_its_bytes(tmp_path: Path) -> None:
    # a name the tree chose: its memo must still load, and name that very file
    root, folder = _root(tmp_path), tmp_path / "results"
    (root / os.fsdecode(b"\xff\xfe.py")).write_bytes(b"eval(x)\n")
    snap = treedigest.snapshot(root)
    treememo.save(folder, root, snap)
    back = treememo.load(folder, root)
    assert back is not None and dict(back.files) == dict(snap.files)
    assert os.fsdecode(b"\xff\xfe.py") in back.files


def test_a_truncated_or_linked_memo_remembers_nothing(tmp_path: Path) -> None:
    root, folder = _root(tmp_path), tmp_path / "results"
    treememo.save(folder, root, treedigest.snapshot(root))
    memo = _memo(folder, root)
    good = memo.read_bytes()
    for bad in (good[:-10], b"[" * 100_000 + b"]" * 100_000, good.replace(b"{", b"{\xc3\xa9", 1)):
        memo.write_bytes(bad)  # cut short, nested past the stack, not ASCII
        assert treememo.load(folder, root) is None
    planted = tmp_path / "planted.json"
    planted.write_bytes(good)
    memo.unlink()
    memo.symlink_to(planted)
    assert treememo.load(folder, root) is None
    treememo.save(folder, root, treedigest.snapshot(root))  # replaces the link, not through
    assert not memo.is_symlink() and planted.read_bytes() == good


def test_nothing_is_written_when_nothing_was_read(tmp_path: Path) -> None:
    root, folder = _root(tmp_path), tmp_path / "results"
    snap = treedigest.snapshot(root)
    treememo.save(folder, root, replace(snap, reused=len(snap.files)))
    assert not _memo(folder, root).exists()


def test_at_most_keep_roots_are_remembered(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    roots = [_root(tmp_path, f"r{i}") for i in range(treememo.KEEP + 3)]
    for i, root in enumerate(roots):
        treememo.save(folder, root, treedigest.snapshot(root))
        os.utime(_memo(folder, root), (1000 + i, 1000 + i))  # the order they were used in
    kept = sorted(p.name for p in (folder / treememo.FOLDER).iterdir())
    assert len(kept) == treememo.KEEP
    assert treememo.load(folder, roots[-1]) is not None
    assert treememo.load(folder, roots[0]) is None
