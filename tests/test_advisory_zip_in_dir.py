"""An osv.dev all.zip export placed next to PYSEC records in one advisories directory."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from posture_gate import advisories, advisory_source
from posture_gate.errors import UsageError

from .conftest import ADVISORIES

GHSA = Path(__file__).parent / "data" / "advisories-ghsa"


def ghsa_zip(path: Path) -> Path:
    """The GHSA fixtures as osv.dev lays out an export: <id>.json at the top."""
    with zipfile.ZipFile(path, "w") as zf:
        for record in sorted(GHSA.rglob("GHSA-*.json")):
            zf.write(record, record.name)
    return path


def test_records_in_a_zip_next_to_the_directory_are_read(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(ADVISORIES, mirror)
    before = advisory_source.read(mirror).digest
    ghsa_zip(mirror / "all.zip")
    db = advisories.load(mirror)
    record = db.get("GHSA-8q59-q68h-6hv4")
    assert record is not None and record["database_specific"]["severity"] == "CRITICAL"
    assert db.get("PYSEC-2021-142") is not None  # the directory's records are still there
    assert "GHSA-8q59-q68h-6hv4" in db.matching_ids("PyPI", "pyyaml", "5.1")
    after = advisory_source.read(mirror).digest
    assert after != before  # the zip's records are part of the cache key
    ghsa_zip(mirror / "all.zip")  # same content rewritten: same key
    assert advisory_source.read(mirror).digest == after


def test_a_corrupt_zip_in_the_directory_is_an_error(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(ADVISORIES, mirror)
    (mirror / "all.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UsageError, match=r"all\.zip: not a readable OSV zip export"):
        advisory_source.read(mirror)
