"""fsutil: writes never through a symlink, the umask respected, capped reads."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from posture_gate.errors import InputError, UsageError
from posture_gate.fsutil import (
    FILE_MODE,
    UMASK,
    TooLarge,
    check_output_dir,
    ensure_dir,
    read_capped,
    read_input_bytes,
    write_atomic,
)
from tests.support.clirun import CliFixture


def precious(path: Path) -> Path:
    path.write_text("precious\n")
    return path


def test_write_atomic_replaces_a_link_instead_of_following_it(tmp_path: Path) -> None:
    target = precious(tmp_path / "target")
    link = tmp_path / "findings.json"
    link.symlink_to(target)
    write_atomic(link, "new\n")
    assert target.read_text() == "precious\n"
    assert not link.is_symlink() and link.read_text() == "new\n"


def test_write_atomic_with_base_replaces_linked_directories(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "raw").symlink_to(elsewhere)
    write_atomic(out / "raw" / "deep" / "x.json", "{}", base=out)
    assert list(elsewhere.iterdir()) == []
    assert stat.S_ISDIR(os.lstat(out / "raw").st_mode)
    assert (out / "raw" / "deep" / "x.json").read_text() == "{}"


def test_ensure_dir_replaces_a_planted_file(tmp_path: Path) -> None:
    precious(tmp_path / "raw")
    assert ensure_dir(tmp_path, "raw").is_dir()


def test_files_get_the_umask_mode_not_0600(tmp_path: Path) -> None:
    write_atomic(tmp_path / "report.html", "<p>")
    assert FILE_MODE == 0o666 & ~UMASK
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == FILE_MODE


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    precious(tmp_path / "findings.json")
    with pytest.raises(TypeError):
        write_atomic(tmp_path / "findings.json", 42)  # type: ignore[arg-type]
    assert [p.name for p in tmp_path.iterdir()] == ["findings.json"]
    assert (tmp_path / "findings.json").read_text() == "precious\n"


def test_read_capped_stops_at_the_cap(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 10)
    assert read_capped(tmp_path / "f", 10) == b"x" * 10
    with pytest.raises(TooLarge, match="larger than 9 bytes"):
        read_capped(tmp_path / "f", 9)
    with pytest.raises(TooLarge, match="larger than 1 KiB"):
        read_capped(Path("/dev/zero"), 1024)


def _write_to_reader(fifo: Path, data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError):  # the reader stopped at its cap
        fifo.write_bytes(data)


def test_read_capped_reads_what_states_no_size_in_chunks(tmp_path: Path) -> None:
    # a pipe states size 0: its 200 KiB come in several reads, all kept, and the cap holds
    fifo = tmp_path / "fifo"
    for limit, expected in ((1 << 20, b"ab" * (100 << 10)), (150 << 10, None)):
        os.mkfifo(fifo)
        writer = threading.Thread(target=_write_to_reader, args=(fifo, b"ab" * (100 << 10)),
                                  daemon=True)
        writer.start()
        try:
            if expected is None:
                with pytest.raises(TooLarge):
                    read_capped(fifo, limit)
            else:
                assert read_capped(fifo, limit) == expected
        finally:
            with contextlib.suppress(OSError):  # a writer still blocked: let it finish
                os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
            writer.join(timeout=10)
            fifo.unlink()
    # a regular file: exactly its bytes, at any size around the chunk
    for size in (0, 1, (64 << 10) - 1, 64 << 10, (64 << 10) + 1, 3 << 20):
        (tmp_path / "f").write_bytes(os.urandom(size))
        assert read_capped(tmp_path / "f", 4 << 20) == (tmp_path / "f").read_bytes()


def test_read_input_errors_are_input_errors(tmp_path: Path) -> None:
    (tmp_path / "f.json").write_bytes(b"x" * 2048)
    with pytest.raises(InputError) as err:
        read_input_bytes(tmp_path / "f.json", 1024, "findings file")
    assert err.value.one_line() == \
        f"{tmp_path / 'f.json'}: findings file is larger than 1 KiB (the limit)"
    with pytest.raises(InputError, match="findings file not found"):
        read_input_bytes(tmp_path / "absent.json", 1024, "findings file")


def test_read_input_of_a_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read findings file"):
        read_input_bytes(tmp_path, 1024, "findings file")


def test_gate_on_a_non_utf8_findings_file_is_exit_2_one_line(tmp_path: Path,
                                                            cli: CliFixture) -> None:
    (tmp_path / "findings.json").write_bytes(b'{"a": "\xff"}')
    proc = cli("gate", str(tmp_path / "findings.json"))
    assert proc.returncode == 2
    assert proc.stderr == (f"posture-gate: error: {tmp_path / 'findings.json'}: findings file "
                           "is not UTF-8 (byte 7)\n")


def test_output_dir_link_inside_the_tree_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "report").symlink_to(tmp_path)
    with pytest.raises(UsageError, match="is a symlink inside the scanned tree"):
        check_output_dir(root / "report", root)
    with pytest.raises(UsageError):
        check_output_dir(root / "report" / "sub", root)
    check_output_dir(root / "real", root)  # not there yet: fine
    (tmp_path / "ci-link").symlink_to(root)
    check_output_dir(tmp_path / "ci-link" / "out", root)  # the CI owner's link: trusted


def test_write_atomic_takes_chunks(tmp_path: Path) -> None:
    chunks: list[str | bytes] = ["{", b'"a": ', "\"\u00fc\"}"]
    write_atomic(tmp_path / "r.json", iter(chunks))
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == '{"a": "\u00fc"}'


def test_atomic_batch_renames_all_only_when_all_are_written(tmp_path: Path) -> None:
    from posture_gate.fsutil import AtomicBatch

    old = [precious(tmp_path / name) for name in ("a.json", "b.sarif", "c.xml")]
    link_target = precious(tmp_path / "elsewhere")
    (tmp_path / "c.xml").unlink()
    (tmp_path / "c.xml").symlink_to(link_target)

    def failing() -> Iterator[str]:
        yield "half"
        raise RuntimeError("reporter failed midway")

    with pytest.raises(RuntimeError), AtomicBatch() as batch:
        batch.write(tmp_path / "a.json", "new a")
        batch.write(tmp_path / "b.sarif", failing())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.sarif", "c.xml",
                                                          "elsewhere"]
    assert all(p.read_text() == "precious\n" for p in old)

    with AtomicBatch() as batch:
        batch.write(tmp_path / "a.json", iter(["new ", "a"]))
        batch.write(tmp_path / "c.xml", "new c")
        assert (tmp_path / "a.json").read_text() == "precious\n"  # nothing renamed yet
    assert (tmp_path / "a.json").read_text() == "new a"
    assert not (tmp_path / "c.xml").is_symlink() and (tmp_path / "c.xml").read_text() == "new c"
    assert link_target.read_text() == "precious\n"
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == FILE_MODE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.sarif", "c.xml",
                                                          "elsewhere"]


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_atomic_batch_syncs_every_file_before_the_first_rename(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from posture_gate import fsutil

    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("sync " + os.readlink(f"/proc/self/fd/{fd}").split("/")[-1][:7])
        real_fsync(fd)

    def replace(src: str, dst: Path) -> None:
        events.append(f"rename {Path(dst).name}")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    before = _open_fds()
    chunks: list[str | bytes] = [b"b", "b"]
    with fsutil.AtomicBatch() as batch:
        batch.write(tmp_path / "a.json", "a")
        batch.write(tmp_path / "b.sarif", iter(chunks))
    assert events == ["sync .a.json", "sync .b.sari", "rename a.json", "rename b.sarif"]
    assert (tmp_path / "b.sarif").read_text() == "bb"
    assert _open_fds() == before  # the worker closed each descriptor


def test_a_failed_sync_renames_nothing_and_leaves_no_temp(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from posture_gate import fsutil

    old = precious(tmp_path / "a.json")
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").split("/")[-1].startswith(".b.sarif"):
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    before = _open_fds()
    with pytest.raises(OSError, match="Input/output"), fsutil.AtomicBatch() as batch:
        batch.write(tmp_path / "a.json", "new a")
        batch.write(tmp_path / "b.sarif", "new b")
        batch.write(tmp_path / "c.xml", "new c")
    assert old.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    assert _open_fds() == before


def test_a_signal_during_the_renames_waits_until_all_are_done(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import signal
    import threading

    from posture_gate import fsutil

    class Stopped(Exception):
        pass

    def handler(signum: int, frame: object) -> None:
        raise Stopped(signum)

    old = [precious(tmp_path / name) for name in ("a.json", "b.sarif", "c.xml")]
    real_replace = os.replace
    renamed: list[str] = []

    def replace(src: str, dst: Path) -> None:
        if not renamed:  # between the first rename and the rest. To the main thread: in
            # posture-gate every other thread blocks SIGTERM (workers.py), so the kernel
            # gives it to main; pytest-xdist's own threads do not block it
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)
        real_replace(src, dst)
        renamed.append(Path(dst).name)

    monkeypatch.setattr(os, "replace", replace)
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with pytest.raises(Stopped), fsutil.AtomicBatch() as batch:
            for path in old:
                batch.write(path, f"new {path.name}")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert renamed == ["a.json", "b.sarif", "c.xml"]
    assert [p.read_text() for p in old] == ["new a.json", "new b.sarif", "new c.xml"]
