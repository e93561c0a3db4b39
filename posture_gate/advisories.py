"""OSV advisory records on disk: loading, version matching and severity.

Used twice: to serve `--advisories DIR` to pip-audit on 127.0.0.1 (osv_server.py)
and to give pip-audit's findings a severity from the record's CVSS vector, which
pip-audit itself drops.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from .errors import UsageError
from .model import Cvss, Severity


def canonical_name(name: str) -> str:
    """PEP 503 normalisation, the form pip-audit and PyPI use."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True, kw_only=True)
class AdvisoryDB:
    records: Mapping[str, Mapping[str, Any]]  # id -> record
    by_package: Mapping[str, tuple[str, ...]]  # (ecosystem lower, canonical name) key -> ids
    newest: str | None  # newest `modified`/`published` timestamp, shown in reports

    def get(self, vuln_id: str) -> Mapping[str, Any] | None:
        return self.records.get(vuln_id)

    def query(self, ecosystem: str, name: str, version: str) -> list[Mapping[str, Any]]:
        key = f"{ecosystem.lower()}:{canonical_name(name)}"
        return [self.records[i] for i in self.by_package.get(key, ())
                if affects(self.records[i], ecosystem, name, version)]


def load_dir(directory: Path) -> AdvisoryDB:
    """Every *.json / *.yaml / *.yml OSV record below `directory`; withdrawn ones skipped."""
    if not directory.is_dir():
        raise UsageError(f"{directory}: advisories directory not found")
    records: dict[str, Mapping[str, Any]] = {}
    by_package: dict[str, list[str]] = {}
    newest: str | None = None
    for path in sorted(directory.rglob("*")):
        if path.suffix not in (".json", ".yaml", ".yml") or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
            doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            where = f":{line + 1}" if line is not None else ""
            raise UsageError(f"{path}{where}: not a readable OSV record ({type(exc).__name__})") \
                from None
        doc = _jsonable(doc)
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
            continue  # READMEs, notices and other data files are not records
        if doc.get("withdrawn"):
            continue
        records[doc["id"]] = doc
        for stamp in (doc.get("modified"), doc.get("published")):
            if isinstance(stamp, str) and (newest is None or stamp > newest):
                newest = stamp
        for aff in doc.get("affected") or []:
            pkg = aff.get("package") or {}
            if isinstance(pkg.get("name"), str):
                key = f"{str(pkg.get('ecosystem', '')).lower()}:{canonical_name(pkg['name'])}"
                by_package.setdefault(key, []).append(doc["id"])
    if not records:
        # An empty mirror would make every package look clean.
        raise UsageError(f"{directory}: no OSV advisory records found (.json/.yaml with an "
                         "'id'); an empty advisory directory would audit nothing")
    return AdvisoryDB(records=records,
                      by_package={k: tuple(dict.fromkeys(v)) for k, v in by_package.items()},
                      newest=newest)


def _jsonable(value: Any) -> Any:
    """YAML turns unquoted timestamps into datetimes; OSV (and pip-audit) want RFC 3339."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date):
        return value.isoformat() + "T00:00:00Z"
    return value


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
    for aff in record.get("affected") or []:
        pkg = aff.get("package") or {}
        if str(pkg.get("ecosystem", "")).lower() != ecosystem.lower():
            continue
        if canonical_name(str(pkg.get("name", ""))) != canonical_name(name):
            continue
        if version in [str(x) for x in aff.get("versions") or []]:
            return True
        if v is None:
            continue
        for rng in aff.get("ranges") or []:
            if rng.get("type") in ("ECOSYSTEM", "SEMVER") and _in_range(rng.get("events") or [], v):
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
