"""OSV advisory records: loading through the index cache, version matching and severity.

Used twice: to serve `--advisories DIR|ZIP` to pip-audit on 127.0.0.1 (osv_server.py)
and to give pip-audit's findings a severity from the record's CVSS vector, which
pip-audit itself drops.

Loading reads the source's bytes for its digest (advisory_source.py) and, when the cache
holds an index for that digest (advisory_index.py), parses nothing else: `get` and `query`
decode only the records they return. The index is built (every record parsed) on a miss;
a scan defers that to pip-audit's first query, when every scanner is already running.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from packaging.version import InvalidVersion, Version

from . import advisory_index, advisory_source
from .advisory_index import Index
from .errors import UsageError
from .model import Cvss, Severity

_T = TypeVar("_T")


def canonical_name(name: str) -> str:
    """PEP 503 normalisation, the form pip-audit and PyPI use."""
    return re.sub(r"[-_.]+", "-", name).lower()


def package_key(ecosystem: str, name: str) -> str:
    return f"{ecosystem.lower()}:{canonical_name(name)}"


class _Mirror:
    """The advisory source, read (for its digest) and indexed (from the cache, or built)
    once each, by whoever needs it first; the others wait. load(deferred=True) leaves both
    to the first use: in a scan, the result cache's key for pip-audit (the digest), then
    the scan itself once every scanner has started. (A build is a second of CPU for the
    PyPI database and holds the GIL: on a thread of its own it slowed the planning.)"""

    def __init__(self, source: Path, cache_dir: Path | None) -> None:
        self._source, self._cache_dir = source, cache_dir
        self._lock = threading.RLock()
        self._snapshot: advisory_source.Snapshot | None = None
        self._index: Index | None = None
        self._error: Exception | None = None
        self.cached = False  # the index came from the cache (nothing was parsed)

    def _once(self, step: Callable[[], _T]) -> _T:
        with self._lock:
            if self._error is not None:
                raise self._error
            try:
                return step()
            except Exception as exc:  # every later user gets the same error
                self._error = exc
                raise

    def snapshot(self) -> advisory_source.Snapshot:
        def read() -> advisory_source.Snapshot:
            if self._snapshot is None:
                snapshot = advisory_source.read(self._source)
                if not snapshot.files:
                    raise _empty(snapshot.source)
                self._snapshot = snapshot
            return self._snapshot
        return self._once(read)

    def index(self) -> Index:
        def fetch_or_build() -> Index:
            if self._index is None:
                snapshot = self.snapshot()
                cached = advisory_index.fetch(self._cache_dir, snapshot.digest) \
                    if self._cache_dir is not None else None
                self.cached = cached is not None
                self._index = cached or _built(snapshot, self._cache_dir)
            return self._index
        return self._once(fetch_or_build)


@dataclass(frozen=True)
class AdvisoryDB:
    mirror: _Mirror = field(repr=False)
    _records: dict[str, Mapping[str, Any]] = field(default_factory=dict, init=False,
                                                   repr=False, compare=False)

    @property
    def index(self) -> Index:
        return self.mirror.index()

    @property
    def digest(self) -> str:
        """The source's content digest (read, not indexed): equal digests, equal answers."""
        return self.mirror.snapshot().digest

    @property
    def cached(self) -> bool:
        """The index came from the cache (nothing was parsed)."""
        self.mirror.index()
        return self.mirror.cached

    def wait(self) -> None:
        """Until the index is there (built now if nobody needed it yet); raises what
        reading or building it raised (an empty mirror)."""
        self.mirror.index()

    @property
    def newest(self) -> str | None:
        """Newest `modified`/`published` timestamp of the records served, shown in reports."""
        return self.index.newest

    def ids(self) -> tuple[str, ...]:
        return tuple(self.index.spans)

    def raw(self, vuln_id: str) -> bytes | None:
        """The record as JSON bytes, as the index holds it."""
        span = self.index.spans.get(vuln_id)
        return None if span is None else self.index.body[span[0]:span[0] + span[1]]

    def get(self, vuln_id: str) -> Mapping[str, Any] | None:
        record = self._records.get(vuln_id)
        if record is None:
            blob = self.raw(vuln_id)
            if blob is None:
                return None
            record = self._records.setdefault(vuln_id, json.loads(blob))
        return record

    def matching_ids(self, ecosystem: str, name: str, version: str) -> list[str]:
        return [i for i in self.index.by_package.get(package_key(ecosystem, name), ())
                if affects(self.get(i) or {}, ecosystem, name, version)]

    def query(self, ecosystem: str, name: str, version: str) -> list[Mapping[str, Any]]:
        return [r for i in self.matching_ids(ecosystem, name, version)
                if (r := self.get(i)) is not None]


def load(source: Path, *, cache_dir: Path | None = None,
         deferred: bool = False) -> AdvisoryDB:
    """The OSV records of a directory (*.json/*.yaml/*.yml below it) or an OSV zip export,
    withdrawn ones skipped. With `cache_dir`, the index is read from / written to it. With
    `deferred`, nothing is read until first needed (the scanners need not wait for records
    only pip-audit asks about); errors are then raised to whoever needs them first."""
    db = AdvisoryDB(_Mirror(source, cache_dir))
    if not deferred:
        db.wait()
    return db


def _built(snapshot: advisory_source.Snapshot, cache_dir: Path | None) -> Index:
    index = build(snapshot)
    if cache_dir is not None:
        advisory_index.store(cache_dir, index)
    return index


def _empty(source: Path) -> UsageError:
    # An empty mirror would make every package look clean.
    return UsageError(f"{source}: no OSV advisory records found (.json/.yaml with an 'id'); "
                      "an empty advisory directory would audit nothing")


def build(snapshot: advisory_source.Snapshot) -> Index:
    records: dict[str, Mapping[str, Any]] = {}
    by_package: dict[str, list[str]] = {}
    newest: str | None = None
    for doc in advisory_source.parse(snapshot):
        if doc.get("withdrawn"):
            continue
        records[doc["id"]] = doc
        for stamp in (doc.get("modified"), doc.get("published")):
            if isinstance(stamp, str) and (newest is None or stamp > newest):
                newest = stamp
        for aff in _dicts(doc.get("affected")):
            pkg = aff.get("package")
            if isinstance(pkg, dict) and isinstance(pkg.get("name"), str):
                key = package_key(str(pkg.get("ecosystem", "")), pkg["name"])
                by_package.setdefault(key, []).append(doc["id"])
    if not records:
        raise _empty(snapshot.source)
    return advisory_index.pack(
        digest=snapshot.digest, newest=newest, records=records,
        by_package={k: tuple(dict.fromkeys(v)) for k, v in by_package.items()})


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The mappings of a list field; a hostile record's other shapes are ignored."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _in_range(events: Iterable[Mapping[str, Any]], v: Version) -> bool:
    """OSV ECOSYSTEM range semantics: sorted events open and close intervals."""
    affected = False
    points: list[tuple[Version, str]] = []
    for ev in events:
        for kind in ("introduced", "fixed", "last_affected", "limit"):
            if kind in ev:
                raw = str(ev[kind])
                pv = Version("0") if raw == "0" else _version(raw)
                if pv is not None:
                    points.append((pv, kind))
    # introduced before fixed at the same version: an empty interval, not affected
    order = {"introduced": 0, "fixed": 1, "last_affected": 2, "limit": 3}
    points.sort(key=lambda p: (p[0], order[p[1]]))
    for pv, kind in points:
        if kind == "introduced" and v >= pv:
            affected = True
        elif (kind in ("fixed", "limit") and v >= pv) or (kind == "last_affected" and v > pv):
            affected = False
    return affected


def affects(record: Mapping[str, Any], ecosystem: str, name: str, version: str) -> bool:
    v = _version(version)
    for aff in _dicts(record.get("affected")):
        pkg = aff.get("package")
        if not isinstance(pkg, dict):
            continue
        if str(pkg.get("ecosystem", "")).lower() != ecosystem.lower():
            continue
        if canonical_name(str(pkg.get("name", ""))) != canonical_name(name):
            continue
        if version in [str(x) for x in aff.get("versions") or []]:
            return True
        if v is None:
            continue
        for rng in _dicts(aff.get("ranges")):
            if rng.get("type") in ("ECOSYSTEM", "SEMVER") \
                    and _in_range(_dicts(rng.get("events")), v):
                return True
    return False


def fixed_versions(record: Mapping[str, Any], name: str) -> list[str]:
    out = []
    for aff in record.get("affected") or []:
        if canonical_name(str((aff.get("package") or {}).get("name", ""))) != canonical_name(name):
            continue
        for rng in aff.get("ranges") or []:
            out += [str(ev["fixed"]) for ev in rng.get("events") or [] if "fixed" in ev]
    return sorted(set(out), key=lambda s: (_version(s) or Version("0"), s))


_CVSS_PREFERENCE = ("CVSS_V3", "CVSS_V4", "CVSS_V2")


def cvss_of(record: Mapping[str, Any], package: str | None = None) -> Cvss | None:
    """The record's CVSS vector (v3 preferred, like trivy and GitLab) and its base score."""
    entries = list(record.get("severity") or [])
    for aff in record.get("affected") or []:
        name = str((aff.get("package") or {}).get("name", ""))
        if package is None or canonical_name(name) == canonical_name(package):
            entries += list(aff.get("severity") or [])
    for kind in _CVSS_PREFERENCE:
        for e in entries:
            if isinstance(e, dict) and e.get("type") == kind and isinstance(e.get("score"), str):
                parsed = score_vector(kind, e["score"])
                if parsed is not None:
                    return parsed
    return None


def score_vector(kind: str, vector: str) -> Cvss | None:
    import cvss as cvsslib  # local: only needed when a record carries a vector

    try:
        if kind == "CVSS_V3":
            c3 = cvsslib.CVSS3(vector)
            ver = "3.1" if vector.startswith("CVSS:3.1") else "3.0"
            return Cvss(version=ver, vector=vector, score=float(c3.base_score))
        if kind == "CVSS_V4":
            return Cvss(version="4.0", vector=vector, score=float(cvsslib.CVSS4(vector).base_score))
        if kind == "CVSS_V2":
            return Cvss(version="2", vector=vector, score=float(cvsslib.CVSS2(vector).base_score))
    except Exception:
        return None
    return None


_GHSA_WORDS = {"CRITICAL": Severity.CRITICAL, "HIGH": Severity.HIGH,
               "MODERATE": Severity.MEDIUM, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}


def word_severity(record: Mapping[str, Any]) -> Severity | None:
    word = (record.get("database_specific") or {}).get("severity")
    return _GHSA_WORDS.get(str(word).upper()) if word else None
