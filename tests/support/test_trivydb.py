"""The hermetic trivy support: bbolt writer, trivy DB fixture, Docker-less images, and the
real trivy 0.76 reading them (slow tests), plus the trivy adapter's image/DB-age handling."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from posture_gate.errors import ScannerError
from posture_gate.scanners.base import Job, ScanContext, ScannerSettings
from posture_gate.scanners.trivy import Trivy, db_updated_at
from tests.conftest import WEBAPP, bin_dir, copy_webapp, run_cli
from tests.support import imagebuild as ib
from tests.support.bbolt import build_bolt, check_bolt, fnv1a64, read_bolt
from tests.support.trivydb import build_tree, dump, write_metadata, write_trivy_db

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "trivy" / "advisories.yaml"
EXAMPLE = WEBAPP.parent / "container"

DEBIAN_PKGS = [ib.Pkg("libssl3", "3.0.11-1~deb12u2", "openssl"),
               ib.Pkg("zlib1g", "1:1.2.13.dfsg-1", "zlib"),
               ib.Pkg("bash", "5.2.15-2+b2")]
PYTHON = {**ib.python_dist("requests", "2.19.1"), **ib.python_dist("PyYAML", "5.1")}


# ------------------------------------------------------------------------- bbolt writer


def _bytes_tree(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {(k.encode() if isinstance(k, str) else k): _bytes_tree(v) for k, v in tree.items()}
    return tree.encode() if isinstance(tree, str) else tree


def _random_tree(rng: random.Random, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(rng.randint(0, 40)):
        key = "".join(rng.choice("abcé漢-_ 0123") for _ in range(rng.randint(1, 12)))
        if depth and rng.random() < 0.3:
            out[key] = _random_tree(rng, depth - 1)
        else:
            out[key] = bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 5, 300, 2000])))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_bolt_round_trip_random_trees(seed: int) -> None:
    rng = random.Random(seed)
    tree = {f"top{n}": _random_tree(rng, 3) for n in range(rng.randint(1, 5))}
    data = build_bolt(tree)
    assert check_bolt(data) == []
    assert read_bolt(data) == _bytes_tree(tree)


def test_bolt_shapes_big_bucket_overflow_inline_empty() -> None:
    tree = {
        "many": {f"key-{n:06d}": f"value {n}" * 3 for n in range(20_000)},  # 2 branch levels
        "big": {"one": b"x" * 1_000_000},  # a value spanning 245 pages
        "inline": {"a": "1", "b": "2"},
        "empty": {},
        "nested": {"l1": {"l2": {"l3": {"l4": {"l5": "deep"}}}}},
    }
    data = build_bolt(tree)
    assert check_bolt(data) == []
    assert read_bolt(data) == _bytes_tree(tree)
    # branch pages exist, and the 1 MB value has overflow pages
    flags = {int.from_bytes(data[p * 4096 + 8: p * 4096 + 10], "little")
             for p in range(len(data) // 4096)}
    assert {0x01, 0x02, 0x04, 0x10} <= flags


def test_bolt_meta_pages() -> None:
    data = build_bolt({"b": {"k": "v"}})
    for page in (0, 1):
        meta = data[page * 4096 + 16: page * 4096 + 16 + 64]
        assert int.from_bytes(meta[:4], "little") == 0xED0CDAED
        assert int.from_bytes(meta[4:8], "little") == 2
        assert int.from_bytes(meta[56:64], "little") == fnv1a64(meta[:56])
    with pytest.raises(ValueError, match="must be a bucket"):
        build_bolt({"b": "not a bucket"})


# ------------------------------------------------------------------------ trivy DB tree


def test_fixture_tree_layout(tmp_path: Path) -> None:
    write_trivy_db(tmp_path, FIXTURE)
    db = dump(tmp_path / "db" / "trivy.db")
    assert set(db) == {"debian 11", "debian 12", "alpine 3.19",
                       "pip::GitHub Security Advisory pip", "vulnerability", "data-source"}
    assert db["debian 12"]["openssl"]["CVE-2023-5678"] == {
        "FixedVersion": "3.0.13-1~deb12u1", "Status": 3}
    assert db["debian 12"]["zlib"]["CVE-2023-45853"] == {"Status": 5}  # will_not_fix
    pip = db["pip::GitHub Security Advisory pip"]
    assert set(pip) == {"requests", "pyyaml"}  # PyYAML normalised
    assert pip["requests"]["CVE-2023-32681"] == {
        "VulnerableVersions": [">=2.3.0, <2.31.0"], "PatchedVersions": ["2.31.0"]}
    detail = db["vulnerability"]["CVE-2023-5678"]
    assert detail["VendorSeverity"] == {"debian": 1, "nvd": 2}
    assert detail["CweIDs"] == ["CWE-606", "CWE-754"]
    assert detail["CVSS"]["nvd"]["V3Score"] == 5.3
    assert db["data-source"]["pip::GitHub Security Advisory pip"]["ID"] == "ghsa"
    assert db["data-source"]["debian 12"]["ID"] == "debian"
    assert check_bolt((tmp_path / "db" / "trivy.db").read_bytes()) == []


def test_fixture_errors() -> None:
    with pytest.raises(ValueError, match="missing 'id'"):
        build_tree({"advisories": [{"source": "debian 12", "package": "x"}]})
    with pytest.raises(ValueError, match="unknown severity"):
        build_tree({"advisories": [{"source": "debian 12", "package": "x", "id": "CVE-1",
                                    "severity": "SEVERE"}]})
    with pytest.raises(ValueError, match="no default data source"):
        build_tree({"advisories": [{"source": "gentoo 2", "package": "x", "id": "CVE-1"}]})


def test_metadata(tmp_path: Path) -> None:
    t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    write_metadata(tmp_path, updated_at=t)
    meta = json.loads((tmp_path / "db" / "metadata.json").read_text())
    assert meta == {"Version": 2, "UpdatedAt": "2024-01-01T00:00:00Z",
                    "NextUpdate": "2024-01-02T00:00:00Z", "DownloadedAt": "2024-01-01T00:00:00Z"}


# ---------------------------------------------------------------------------- images


def test_docker_archive_layout_and_reproducible(tmp_path: Path) -> None:
    layers = [ib.debian_base("12.5", DEBIAN_PKGS), PYTHON]
    a = ib.docker_archive(tmp_path / "a.tar", layers)
    b = ib.docker_archive(tmp_path / "b.tar", layers)
    assert a.path.read_bytes() == b.path.read_bytes()
    with tarfile.open(a.path) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(tar.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
        assert config["rootfs"]["diff_ids"] == list(a.diff_ids)
        for name, diff_id in zip(manifest[0]["Layers"], a.diff_ids, strict=True):
            assert name == f"{diff_id.removeprefix('sha256:')}/layer.tar"
            with tarfile.open(fileobj=tar.extractfile(name)) as layer:
                names = layer.getnames()
        assert "usr/local/lib/python3.11/site-packages/requests-2.19.1.dist-info/METADATA" \
            in names
    status = ib.dpkg_status(DEBIAN_PKGS)
    assert "Package: libssl3\nStatus: install ok installed" in status
    assert "Source: openssl\nVersion: 3.0.11-1~deb12u2" in status


# ------------------------------------------------------------------- trivy adapter (fast)


def _job(cache: Path, **meta: Any) -> Job:
    return Job(name="trivy-image", scanner="trivy", argv=("trivy",),
               meta={"scanners": ["vuln"], "cache_dir": str(cache), "skip_db_update": True,
                     "mode": "image", "image": "img.tar", **meta})


def test_db_age_reads_go_timestamps(tmp_path: Path) -> None:
    assert db_updated_at(tmp_path) is None
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "metadata.json").write_text(json.dumps(
        {"Version": 2, "UpdatedAt": "2024-06-10T06:12:07.123456789Z"}))
    assert db_updated_at(tmp_path) == datetime(2024, 6, 10, 6, 12, 7, 123456, timezone.utc)
    now = datetime(2024, 6, 20, 6, 12, 7, 123456, timezone.utc)
    updated = db_updated_at(tmp_path)
    assert updated is not None and now - updated == timedelta(days=10)
    (tmp_path / "db" / "metadata.json").write_text('{"UpdatedAt": "0001-01-01T00:00:00Z"}')
    assert db_updated_at(tmp_path) is None


def test_preflight_max_db_age(tmp_path: Path) -> None:
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path)
    write_trivy_db(tmp_path, {"advisories": []},
                   updated_at=datetime.now(timezone.utc) - timedelta(days=10))
    Trivy().preflight(_job(tmp_path, max_db_age_days=11), ctx)
    Trivy().preflight(_job(tmp_path), ctx)  # no limit: any age
    with pytest.raises(ScannerError, match=r"is 10 days old .*max_db_age_days is 9"):
        Trivy().preflight(_job(tmp_path, max_db_age_days=9), ctx)
    (tmp_path / "db" / "metadata.json").unlink()
    with pytest.raises(ScannerError, match="cannot tell the vulnerability DB's age"):
        Trivy().preflight(_job(tmp_path, max_db_age_days=9), ctx)


def test_plan_resolves_image_archive_against_cwd(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "app"
    root.mkdir()
    ib.docker_archive(tmp_path / "img" / "image.tar", [PYTHON])
    monkeypatch.chdir(tmp_path)
    ctx = ScanContext(root=root, work_dir=tmp_path / "w", images=("img/image.tar", "alpine:3"))
    settings = ScannerSettings(name="trivy", options={"fs": False, "max_db_age_days": 3})
    jobs = Trivy().plan(settings, ctx)
    assert jobs[0].argv[-2:] == ("--input", str(tmp_path / "img" / "image.tar"))
    assert jobs[0].meta["max_db_age_days"] == 3 and jobs[0].meta["image"] == "img/image.tar"
    assert jobs[1].argv[-1] == "alpine:3"


# ------------------------------------------------------------------ real trivy (slow)


def _trivy() -> str:
    exe = shutil.which("trivy", path=str(bin_dir())) or shutil.which("trivy")
    if exe is None:
        pytest.skip("trivy not installed")
    return exe


def run_trivy(target: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    argv = [_trivy(), "image", "--input", str(target), "--cache-dir", str(cache),
            "--skip-db-update", "--skip-java-db-update", "--offline-scan",
            "--skip-version-check", "--disable-telemetry", "--scanners", "vuln",
            "--format", "json", "--quiet"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def summary(doc: dict[str, Any]) -> set[tuple[Any, ...]]:
    """(Class, Type, id, package, installed, fixed, severity, source, status, DiffID)."""
    return {(r["Class"], r["Type"], v["VulnerabilityID"], v["PkgName"], v["InstalledVersion"],
             v.get("FixedVersion"), v["Severity"], v.get("SeveritySource"), v.get("Status"),
             v["Layer"]["DiffID"])
            for r in doc.get("Results") or [] for v in r.get("Vulnerabilities") or []}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trivy-cache")
    write_trivy_db(path, FIXTURE)
    return path


@pytest.fixture(scope="module")
def debian_image(tmp_path_factory: pytest.TempPathFactory) -> ib.Image:
    return ib.docker_archive(tmp_path_factory.mktemp("img") / "debian.tar",
                             [ib.debian_base("12.5", DEBIAN_PKGS), PYTHON])


def debian_expected(base: str, py: str) -> set[tuple[Any, ...]]:
    return {
        ("os-pkgs", "debian", "CVE-2023-5678", "libssl3", "3.0.11-1~deb12u2",
         "3.0.13-1~deb12u1", "LOW", "debian", "fixed", base),
        ("os-pkgs", "debian", "CVE-2023-45853", "zlib1g", "1:1.2.13.dfsg-1", None, "CRITICAL",
         "nvd", "will_not_fix", base),
        ("lang-pkgs", "python-pkg", "CVE-2018-18074", "requests", "2.19.1", "2.20.0", "HIGH",
         "ghsa", "fixed", py),
        ("lang-pkgs", "python-pkg", "CVE-2023-32681", "requests", "2.19.1", "2.31.0", "MEDIUM",
         "ghsa", "fixed", py),
        ("lang-pkgs", "python-pkg", "CVE-2020-14343", "PyYAML", "5.1", "5.4", "CRITICAL",
         "ghsa", "fixed", py),
    }


@pytest.mark.slow
def test_trivy_debian_image(cache: Path, debian_image: ib.Image) -> None:
    proc = run_trivy(debian_image.path, cache)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ArtifactType"] == "container_image"
    assert doc["Metadata"]["OS"] == {"Family": "debian", "Name": "12.5"}
    assert summary(doc) == debian_expected(*debian_image.diff_ids)
    targets = {r["Target"]: r["Class"] for r in doc["Results"]}
    assert targets == {f"{debian_image.path} (debian 12.5)": "os-pkgs", "Python": "lang-pkgs"}
    # details come from the vulnerability bucket, data source from data-source
    vuln = next(v for r in doc["Results"] for v in r["Vulnerabilities"]
                if v["VulnerabilityID"] == "CVE-2023-5678")
    assert vuln["CweIDs"] == ["CWE-606", "CWE-754"]
    assert vuln["CVSS"]["nvd"]["V3Score"] == 5.3
    assert vuln["DataSource"]["ID"] == "debian"
    assert vuln["Title"].startswith("openssl: Generating excessively long X9.42 DH keys")
    assert "Unable to get vulnerability details" not in proc.stderr


@pytest.mark.slow
def test_trivy_alpine_and_oci_layout(cache: Path, tmp_path: Path) -> None:
    alpine = ib.docker_archive(tmp_path / "alpine.tar", [ib.alpine_base(
        "3.19.1", [ib.Pkg("libcrypto3", "3.1.4-r2", "openssl"),
                   ib.Pkg("musl", "1.2.4_git20230717-r4")])])
    proc = run_trivy(alpine.path, cache)
    assert proc.returncode == 0, proc.stderr
    assert summary(json.loads(proc.stdout)) == {
        ("os-pkgs", "alpine", "CVE-2024-0727", "libcrypto3", "3.1.4-r2", "3.1.4-r5", "MEDIUM",
         "nvd", "fixed", alpine.diff_ids[0])}
    oci = ib.oci_layout(tmp_path / "oci", [ib.debian_base("12.5", DEBIAN_PKGS), PYTHON])
    proc = run_trivy(oci.path, cache)
    assert proc.returncode == 0, proc.stderr
    assert summary(json.loads(proc.stdout)) == debian_expected(*oci.diff_ids)


@pytest.mark.slow
def test_trivy_reads_multi_page_buckets(tmp_path: Path, debian_image: ib.Image) -> None:
    fixture = {"advisories": [
        *({"source": "debian 12", "package": f"pkg{n:04d}", "id": f"CVE-2000-{n:05d}",
           "fixed": "1.0", "severity": "LOW", "title": "filler " * 20} for n in range(1500)),
        *({"source": "pip::GitHub Security Advisory pip", "package": f"py{n:04d}",
           "id": f"GHSA-fill-{n:04d}", "affected": ["<1"], "severity": "LOW"}
          for n in range(1500)),
        {"source": "debian 12", "package": "zlib", "id": "CVE-2023-45853",
         "status": "will_not_fix", "vendor_severity": {"nvd": "CRITICAL"}},
        {"source": "pip::GitHub Security Advisory pip", "package": "requests",
         "id": "CVE-2023-32681", "affected": [">=2.3.0, <2.31.0"], "fixed": "2.31.0",
         "severity": "MEDIUM"}]}
    write_trivy_db(tmp_path, fixture)
    assert check_bolt((tmp_path / "db" / "trivy.db").read_bytes()) == []
    proc = run_trivy(debian_image.path, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {(s[2], s[6]) for s in summary(json.loads(proc.stdout))} == {
        ("CVE-2023-45853", "CRITICAL"), ("CVE-2023-32681", "MEDIUM")}


@pytest.mark.slow
def test_trivy_empty_cache_with_skip_db_update(tmp_path: Path,
                                               debian_image: ib.Image) -> None:
    proc = run_trivy(debian_image.path, tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "--skip-db-update cannot be specified on the first run" in proc.stderr


@pytest.mark.slow
def test_trivy_scans_silently_with_an_old_db(tmp_path: Path, debian_image: ib.Image) -> None:
    """trivy does not check the DB's age under --skip-db-update: posture-gate must."""
    write_trivy_db(tmp_path, FIXTURE, updated_at=datetime(2024, 1, 1, tzinfo=timezone.utc),
                   next_update=datetime(2024, 1, 2, tzinfo=timezone.utc))
    proc = run_trivy(debian_image.path, tmp_path)
    assert proc.returncode == 0
    assert proc.stderr == ""  # --quiet, and no warning about the age either
    assert summary(json.loads(proc.stdout)) == debian_expected(*debian_image.diff_ids)


# ------------------------------------------------------- posture-gate end to end (slow)


@pytest.mark.slow
def test_posture_gate_scans_example_image(tmp_path: Path) -> None:
    _trivy()
    build = subprocess.run([str(bin_dir() / "python"), str(EXAMPLE / "build.py"),
                            "--out-dir", str(tmp_path)], capture_output=True, text=True,
                           timeout=120, check=False)
    assert build.returncode == 0, build.stderr
    root = copy_webapp(tmp_path)
    image = str(tmp_path / "image.tar")
    args = ("scan", str(root), "--policy", str(EXAMPLE / "posture-gate.yml"), "--image", image,
            "--trivy-cache-dir", str(tmp_path / "trivy-cache"))
    proc = run_cli(*args, "-o", str(tmp_path / "out"))
    assert proc.returncode == 1, proc.stdout + proc.stderr  # os: critical zlib finding
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    (run,) = doc["scanners"]
    assert run["status"] == "ok" and run["properties"]["db_updated_at"]
    got = {(f["category"], f["rule_id"], f["package"]["name"], f["severity"])
           for f in doc["findings"]}
    assert got == {
        ("os", "CVE-2023-5678", "libssl3", "low"), ("os", "CVE-2023-5678", "openssl", "low"),
        ("os", "CVE-2023-45853", "zlib1g", "critical"),
        ("dependency", "CVE-2019-20477", "PyYAML", "critical"),
        ("dependency", "CVE-2020-1747", "PyYAML", "critical"),
        ("dependency", "CVE-2020-14343", "PyYAML", "critical"),
        ("dependency", "CVE-2018-18074", "requests", "high"),
        ("dependency", "CVE-2023-32681", "requests", "medium")}
    assert all(f["location"] is None and f["image"] == image and f["layer"]
               for f in doc["findings"])

    # the same DB made 40 days old: max_db_age_days (30) fails the run before trivy runs
    old = subprocess.run([str(bin_dir() / "python"), str(EXAMPLE / "build.py"),
                          "--out-dir", str(tmp_path), "--db-age-days", "40"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert old.returncode == 0, old.stderr
    proc = run_cli(*args, "-o", str(tmp_path / "out2"))
    assert proc.returncode == 2
    assert "is 40 days old" in proc.stderr and "max_db_age_days is 30" in proc.stderr

    # --scanner-option (the generic form of --trivy-cache-dir) wins over the policy file:
    # the CI owner allows 50 days, and the same old DB scans
    proc = run_cli("scan", str(root), "--policy", str(EXAMPLE / "posture-gate.yml"),
                   "--image", image, "-o", str(tmp_path / "out3"),
                   "--scanner-option", f"trivy.cache_dir={tmp_path / 'trivy-cache'}",
                   "--scanner-option", "trivy.max_db_age_days=50")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "out3" / "findings.json").read_text())
    assert [s["status"] for s in doc["scanners"]] == ["ok"] and len(doc["findings"]) == 8


def test_offline_scan_alone_does_not_skip_the_db_download(tmp_path: Path) -> None:
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path, images=("alpine:3",))
    (job,) = Trivy().plan(ScannerSettings(name="trivy", options={
        "fs": False, "offline_scan": True, "cache_dir": str(tmp_path / "none")}), ctx)
    assert "--offline-scan" in job.argv and "--skip-db-update" not in job.argv
    Trivy().preflight(job, ctx)  # trivy will download the DB: nothing to check before
