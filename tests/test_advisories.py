"""OSV range matching, severity from CVSS vectors, the advisory index cache and the loopback
OSV server."""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from posture_gate import advisories as osv
from posture_gate import advisory_index, advisory_source, osv_server
from posture_gate.errors import UsageError
from posture_gate.model import Severity
from posture_gate.osv_server import OsvServer
from posture_gate.scanners.base import severity_from_score
from tests.conftest import ADVISORIES, EXAMPLES, cli_env, copy_webapp, run_cli

RECORD = {
    "id": "PYSEC-TEST-1",
    "aliases": ["CVE-2099-0001"],
    "affected": [{
        "package": {"name": "Demo_Pkg", "ecosystem": "PyPI"},
        "ranges": [{"type": "ECOSYSTEM", "events": [
            {"introduced": "0"}, {"fixed": "1.2"}, {"introduced": "2.0"},
            {"last_affected": "2.1"}]}],
        "versions": ["3.0-odd"],
    }],
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
}


@pytest.mark.parametrize("version, hit", [
    ("0.1", True), ("1.1.9", True), ("1.2", False), ("1.9", False), ("2.0", True),
    ("2.1", True), ("2.1.1", False), ("3.0-odd", True), ("not-a-version", False),
])
def test_range_semantics(version: str, hit: bool) -> None:
    assert osv.affects(RECORD, "PyPI", "demo-pkg", version) is hit


def test_cvss_vector_scored_and_banded() -> None:
    score = osv.cvss_of(RECORD)
    assert score is not None and score.score == 9.8 and score.version == "3.1"
    assert severity_from_score(score.score) is Severity.CRITICAL
    assert severity_from_score(9.5, cvss_v2=True) is Severity.HIGH  # v2 has no critical band
    assert severity_from_score(0.0) is Severity.INFO
    assert severity_from_score(3.9) is Severity.LOW and severity_from_score(4.0) is \
        Severity.MEDIUM and severity_from_score(7.0) is Severity.HIGH


def test_bad_vector_is_no_score() -> None:
    assert osv.score_vector("CVSS_V3", "CVSS:3.1/garbage") is None


def test_example_records_load_with_dates_as_text() -> None:
    db = osv.load(ADVISORIES)
    assert len(db.ids()) == 43  # every record of the eight pinned packages
    json.dumps([db.get(i) for i in db.ids()])  # YAML timestamps became RFC 3339 strings
    assert db.newest is not None and db.newest.endswith("Z")
    ids = sorted(r["id"] for r in db.query("PyPI", "PyYAML", "5.1"))
    assert ids == ["PYSEC-2020-176", "PYSEC-2020-96", "PYSEC-2021-142"]


def test_missing_dir_and_broken_record(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        osv.load(tmp_path / "nope")
    (tmp_path / "bad.yaml").write_text("id: [unclosed\n")
    with pytest.raises(UsageError, match=r"bad\.yaml:\d+: not a readable OSV record"):
        osv.load(tmp_path, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()  # nothing cached for a source that failed


def test_withdrawn_records_are_not_served(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({**RECORD, "withdrawn": "2024-01-01T00:00:00Z"}))
    with pytest.raises(UsageError, match="no OSV advisory records"):
        osv.load(tmp_path)  # withdrawn only: as empty as an empty mirror
    (tmp_path / "b.json").write_text(json.dumps({**RECORD, "id": "PYSEC-TEST-2"}))
    db = osv.load(tmp_path)
    assert db.ids() == ("PYSEC-TEST-2",) and db.get("PYSEC-TEST-1") is None
    assert [r["id"] for r in db.query("PyPI", "demo-pkg", "0.1")] == ["PYSEC-TEST-2"]


def test_server_answers_query_batch_and_get() -> None:
    db = osv.load(ADVISORIES)
    with OsvServer(db) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        body = json.dumps({"package": {"name": "pyyaml", "ecosystem": "PyPI"},
                           "version": "5.1"}).encode()
        req = urllib.request.Request(server.query_url, data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            vulns = json.loads(resp.read())["vulns"]
        assert len(vulns) == 3
        batch = json.dumps({"queries": [json.loads(body), {"package": {"name": "gunicorn"},
                                                            "version": "22.0.0"}]}).encode()
        req = urllib.request.Request(server.base_url + "/v1/querybatch", data=batch,
                                     method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            results = json.loads(resp.read())["results"]
        assert [len(r["vulns"]) for r in results] == [3, 0]
        with urllib.request.urlopen(server.base_url + "/v1/vulns/PYSEC-2020-96",
                                    timeout=5) as resp:
            assert json.loads(resp.read())["id"] == "PYSEC-2020-96"


# --- the index cache: same answers as parsing every record, never stale, never corrupt ---

@functools.cache
def plain_parse(directory: Path) -> dict[str, dict[str, Any]]:
    """What the old load_dir did: every record parsed with the pure-Python YAML loader.
    (Cached: callers only read it.)"""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.yaml")):
        doc = advisory_source.jsonable(yaml.safe_load(path.read_text(encoding="utf-8")))
        if isinstance(doc, dict) and isinstance(doc.get("id"), str) and not doc.get("withdrawn"):
            out[doc["id"]] = doc
    return out


def pins() -> list[tuple[str, str]]:
    lines = (EXAMPLES / "webapp" / "requirements.txt").read_text().split()
    return [(n, v) for n, v in (line.split("==") for line in lines)]


def versions_named(records: dict[str, dict[str, Any]], name: str) -> set[str]:
    """Every version a record of `name` mentions: the edges of each range, and a few more."""
    out = {"0", "0.0.1", "99.0"}
    for rec in records.values():
        for aff in rec.get("affected") or []:
            if osv.canonical_name(aff["package"]["name"]) != osv.canonical_name(name):
                continue
            out |= {str(v) for v in aff.get("versions") or []}
            for rng in aff.get("ranges") or []:
                out |= {str(v) for ev in rng.get("events") or [] for v in ev.values()}
    return out


def write_all_zip(records: dict[str, dict[str, Any]], path: Path) -> Path:
    """The shape osv.dev publishes an ecosystem in: a zip of <ID>.json records."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for vid, rec in records.items():
            zf.writestr(f"{vid}.json", json.dumps(rec))
    return path


def assert_same_answers(db: osv.AdvisoryDB, plain: dict[str, dict[str, Any]]) -> None:
    assert set(db.ids()) == set(plain)
    assert all(db.get(i) == rec for i, rec in plain.items())
    stamps = [r[k] for r in plain.values() for k in ("modified", "published") if k in r]
    assert db.newest == max(stamps)
    for name, pinned in pins():
        for version in {pinned} | versions_named(plain, name):
            want = sorted(i for i, r in plain.items() if osv.affects(r, "PyPI", name, version))
            assert sorted(r["id"] for r in db.query("PyPI", name, version)) == want, \
                (name, version)


@pytest.mark.parametrize("kind", ["dir", "zip"])
def test_index_answers_like_parsing_every_record(tmp_path: Path, kind: str) -> None:
    plain = plain_parse(ADVISORIES)
    source = ADVISORIES if kind == "dir" else write_all_zip(plain, tmp_path / "all.zip")
    cache = tmp_path / "cache"
    cold = osv.load(source, cache_dir=cache)
    warm = osv.load(source, cache_dir=cache)
    assert (cold.cached, warm.cached) == (False, True) and cold.digest == warm.digest
    expected = json.loads((EXAMPLES / "expected-advisories.json").read_text())
    for db in (cold, warm, osv.load(source)):
        assert_same_answers(db, plain)
        for name, version in pins():  # and what examples/expected_advisories.py computed
            got = sorted(r["id"] for r in db.query("PyPI", name, version))
            assert got == expected[f"{name}=={version}"]


def test_a_record_changed_with_size_and_mtime_kept_is_not_served_stale(tmp_path: Path) -> None:
    src = shutil.copytree(ADVISORIES, tmp_path / "advisories")
    cache = tmp_path / "cache"
    assert "PYSEC-2020-96" in {r["id"] for r in osv.load(src, cache_dir=cache).query(
        "PyPI", "pyyaml", "5.1")}
    assert osv.load(src, cache_dir=cache).cached
    record = src / "pyyaml" / "PYSEC-2020-96.yaml"
    before = record.stat()
    text = record.read_text()
    record.write_text(text.replace("name: pyyaml", "name: pyyamx"))  # same size
    os.utime(record, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = record.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    db = osv.load(src, cache_dir=cache)
    assert not db.cached
    assert "PYSEC-2020-96" not in {r["id"] for r in db.query("PyPI", "pyyaml", "5.1")}
    assert [r["id"] for r in db.query("PyPI", "pyyamx", "5.1")] == ["PYSEC-2020-96"]


def test_added_and_removed_records_change_the_answers(tmp_path: Path) -> None:
    src = shutil.copytree(ADVISORIES, tmp_path / "advisories")
    cache = tmp_path / "cache"
    osv.load(src, cache_dir=cache)
    (src / "new.json").write_text(json.dumps(RECORD))
    db = osv.load(src, cache_dir=cache)
    assert not db.cached and db.get("PYSEC-TEST-1") is not None
    (src / "pyyaml" / "PYSEC-2020-96.yaml").unlink()
    db = osv.load(src, cache_dir=cache)
    assert not db.cached and db.get("PYSEC-2020-96") is None
    assert osv.load(src, cache_dir=cache).cached


def _flip_last(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


CORRUPTIONS: dict[str, Callable[[bytes, bytes], bytes]] = {
    "truncated": lambda data, other: data[:len(data) // 2],
    "one byte of a record flipped": lambda data, other: _flip_last(data),
    "empty": lambda data, other: b"",
    "not an index": lambda data, other: b"PK\x03\x04" + b"\0" * 100,
    "another source's index": lambda data, other: other,
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupt_index_is_a_miss_and_rebuilt(tmp_path: Path, corruption: str) -> None:
    cache = tmp_path / "cache"
    other_src = tmp_path / "other"
    other_src.mkdir()
    (other_src / "a.json").write_text(json.dumps(RECORD))
    other = osv.load(other_src, cache_dir=tmp_path / "other-cache")
    other_bytes = (tmp_path / "other-cache" / f"{other.digest}.idx").read_bytes()
    db = osv.load(ADVISORIES, cache_dir=cache)
    path = cache / f"{db.digest}.idx"
    path.write_bytes(CORRUPTIONS[corruption](path.read_bytes(), other_bytes))
    again = osv.load(ADVISORIES, cache_dir=cache)
    assert not again.cached
    assert_same_answers(again, plain_parse(ADVISORIES))
    assert advisory_index.decode(path.read_bytes(), db.digest) is not None  # rewritten whole
    assert osv.load(ADVISORIES, cache_dir=cache).cached


def test_an_unwritable_cache_costs_speed_not_answers(tmp_path: Path) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache directory should be")
    db = osv.load(ADVISORIES, cache_dir=blocked)
    assert not db.cached and osv.load(ADVISORIES, cache_dir=blocked).cached is False
    assert_same_answers(db, plain_parse(ADVISORIES))


def test_the_cache_keeps_the_most_recently_used_indexes(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    digests = []
    for n in range(advisory_index.KEEP + 2):
        src = tmp_path / f"src{n}"
        src.mkdir()
        (src / "a.json").write_text(json.dumps({**RECORD, "id": f"PYSEC-TEST-{n}"}))
        digests.append(osv.load(src, cache_dir=cache).digest)
        os.utime(cache / f"{digests[-1]}.idx", (1_000_000 + n, 1_000_000 + n))
    (cache / ".x.idx.123.tmp").write_text("left by a killed writer")
    os.utime(cache / ".x.idx.123.tmp", (1_000_000, 1_000_000))
    src = tmp_path / "src-last"
    src.mkdir()
    (src / "a.json").write_text(json.dumps(RECORD))
    last = osv.load(src, cache_dir=cache).digest
    kept = sorted(p.name for p in cache.iterdir())
    assert kept == sorted(f"{d}.idx" for d in [*digests[-(advisory_index.KEEP - 1):], last])


def test_hostile_zip_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = plain_parse(ADVISORIES)
    (tmp_path / "notzip.zip").write_text("id: not a zip\n")
    with pytest.raises(UsageError, match="not a readable OSV zip export"):
        osv.load(tmp_path / "notzip.zip")
    good = write_all_zip(plain, tmp_path / "all.zip").read_bytes()
    at = good.index(b"PYSEC-2020-96.json") + 200  # inside that member's compressed data
    (tmp_path / "crc.zip").write_bytes(good[:at] + bytes([good[at] ^ 0xFF]) + good[at + 1:])
    with pytest.raises(UsageError, match=r"crc\.zip: not a readable OSV zip export"):
        osv.load(tmp_path / "crc.zip")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as zf:
        zf.writestr("README.json", json.dumps({"note": "no id"}))
    with pytest.raises(UsageError, match="no OSV advisory records"):
        osv.load(tmp_path / "empty.zip")
    with zipfile.ZipFile(tmp_path / "escape.zip", "w") as zf:
        zf.writestr("../../escape.json", json.dumps(RECORD))  # read, never extracted
    assert osv.load(tmp_path / "escape.zip").ids() == ("PYSEC-TEST-1",)
    assert not (tmp_path.parent / "escape.json").exists()
    monkeypatch.setattr(advisory_source, "MAX_RECORD_BYTES", 1000)
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("PYSEC-BIG.json", json.dumps({**RECORD, "details": "x" * 5000}))
    with pytest.raises(UsageError, match="larger than 1000 bytes"):
        osv.load(tmp_path / "bomb.zip")


def test_hostile_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "advisories"
    src.mkdir()
    (src / "a.json").write_text(json.dumps(RECORD))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "b.json").write_text(json.dumps({**RECORD, "id": "PYSEC-TEST-2"}))
    (src / "linked").symlink_to(elsewhere, target_is_directory=True)  # not entered (as rglob)
    assert osv.load(src).ids() == ("PYSEC-TEST-1",)
    (src / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(UsageError, match=r"deep\.json: not a readable OSV record"):
        osv.load(src)
    (src / "deep.json").unlink()
    monkeypatch.setattr(advisory_source, "MAX_RECORD_BYTES", 1000)
    (src / "big.json").write_text(json.dumps({**RECORD, "details": "x" * 5000}))
    with pytest.raises(UsageError, match=r"big\.json: advisory record larger than 1000 bytes"):
        osv.load(src)


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_server_answers_from_a_warm_index_as_from_every_record(tmp_path: Path) -> None:
    plain = plain_parse(ADVISORIES)
    osv.load(ADVISORIES, cache_dir=tmp_path)
    warm = osv.load(ADVISORIES, cache_dir=tmp_path)
    assert warm.cached
    with OsvServer(warm) as server:
        base = server.base_url
        for name, pinned in pins():
            for version in {pinned} | versions_named(plain, name):
                q = {"package": {"name": name, "ecosystem": "PyPI"}, "version": version}
                want = sorted(i for i, r in plain.items()
                              if osv.affects(r, "PyPI", name, version))
                status, doc = _post(server.query_url, json.dumps(q).encode())
                assert status == 200 and sorted(v["id"] for v in doc.get("vulns", [])) == want
                assert all(v == plain[v["id"]] for v in doc.get("vulns", []))
                status, doc = _post(base + "/v1/querybatch",
                                    json.dumps({"queries": [q]}).encode())
                assert sorted(v["id"] for v in doc["results"][0]["vulns"]) == want
        for vid, rec in plain.items():
            assert _get(f"{base}/v1/vulns/{urllib.parse.quote(vid, safe='')}") == (200, rec)
        assert _get(f"{base}/v1/vulns/PYSEC-NOPE")[0] == 404
        # hostile requests: a 4xx answer, never a crash or a wrong match
        assert _post(server.query_url, b"{", )[0] == 400
        assert _post(server.query_url, json.dumps({"package": "pyyaml", "version": "5.1"})
                     .encode()) == (200, {})
        assert _post(base + "/v1/querybatch", json.dumps({"queries": "x"}).encode()) == \
            (200, {"results": []})
        port = urllib.parse.urlsplit(base).port
        # A body over the cap is refused from its Content-Length, before any of it is read
        # (so the headers alone get the answer; a client still sending would see EPIPE).
        for length in (b"-5", str(osv_server.MAX_BODY + 1).encode()):
            with socket.create_connection(("127.0.0.1", port or 0), timeout=5) as sock:
                sock.sendall(b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: " + length
                             + b"\r\n\r\n")
                assert sock.recv(64).startswith(b"HTTP/1.0 400")


def test_an_index_built_at_first_use_answers_like_one_built_at_once(
        tmp_path: Path) -> None:
    db = osv.load(ADVISORIES, cache_dir=tmp_path, deferred=True)
    at_once = osv.load(ADVISORIES)
    assert not db.cached and db.digest == at_once.digest  # the key is known before the index
    db.wait()
    assert db.ids() == at_once.ids() and db.newest == at_once.newest
    assert [r["id"] for r in db.query("PyPI", "pyyaml", "5.1")] == \
        [r["id"] for r in at_once.query("PyPI", "pyyaml", "5.1")]
    assert osv.load(ADVISORIES, cache_dir=tmp_path).cached  # the builder stored it


def test_a_deferred_build_that_fails_fails_every_user(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({**RECORD, "withdrawn": "2024-01-01T00:00:00Z"}))
    db = osv.load(tmp_path, cache_dir=tmp_path / "cache", deferred=True)
    with pytest.raises(UsageError, match="no OSV advisory records"):
        db.wait()
    with OsvServer(db) as server:  # pip-audit is told the service is down, never "clean"
        query = json.dumps({"package": {"name": "demo-pkg"}, "version": "0.1"}).encode()
        assert _post(server.query_url, query)[0] == 503
        assert _post(server.base_url + "/v1/querybatch", b'{"queries": []}')[0] == 503
        assert _get(server.base_url + "/v1/vulns/PYSEC-TEST-1")[0] == 503
    assert not (tmp_path / "cache").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match="no OSV advisory records"):
        osv.load(empty)  # not deferred: said at once
    db = osv.load(empty, deferred=True)
    for _ in range(2):  # deferred: to whoever asks first, and to every later user
        with pytest.raises(UsageError, match="no OSV advisory records"):
            _ = db.digest


def test_a_deferred_mirror_reads_nothing_until_asked(tmp_path: Path) -> None:
    db = osv.load(tmp_path / "not-yet", cache_dir=tmp_path / "cache", deferred=True)
    shutil.copytree(ADVISORIES, tmp_path / "not-yet")  # there by the time it is asked
    assert db.digest == osv.load(ADVISORIES).digest
    assert [r["id"] for r in db.query("PyPI", "pyyaml", "5.1")] == \
        [r["id"] for r in osv.load(ADVISORIES).query("PyPI", "pyyaml", "5.1")]


@pytest.mark.slow
def test_a_scan_with_an_all_zip_finds_what_the_directory_finds(tmp_path: Path) -> None:
    """The real pip-audit, served from an OSV zip export of the example records."""
    export = write_all_zip(plain_parse(ADVISORIES), tmp_path / "all.zip")
    root = copy_webapp(tmp_path)
    found = []
    for n, source in enumerate((ADVISORIES, export)):
        out = tmp_path / f"out{n}"
        proc = run_cli("scan", str(root), "--advisories", str(source), "--only", "pip-audit",
                       "-o", str(out), "--format", "json",
                       env=cli_env(XDG_CACHE_HOME=str(tmp_path / "xdg")))
        assert proc.returncode == 1, proc.stderr
        doc = json.loads((out / "findings.json").read_text())
        found.append(sorted((f["rule_id"], f["severity"]) for f in doc["findings"]))
    expected = json.loads((EXAMPLES / "expected-advisories.json").read_text())
    assert [i for i, _ in found[0]] == sorted(i for ids in expected.values() for i in ids)
    assert found[0] == found[1]
