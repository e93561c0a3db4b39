"""Write a trivy vulnerability DB (``<cache>/db/trivy.db`` + ``metadata.json``) from a
readable advisory fixture, in pure Python, so the real trivy can scan with no network.

Layout written (trivy-db schema 2, see docs/trivy-offline.md section 1)::

    "<platform>"  e.g. "debian 12", "alpine 3.19", "pip::GitHub Security Advisory pip"
        "<package>"   (OS: the *source* package; pip: lower-case, "_" -> "-")
            "<vuln id>" -> Advisory JSON  {FixedVersion, Status} | {VulnerableVersions,
                                           PatchedVersions}
    "vulnerability"
        "<vuln id>" -> {Title, Description, Severity, CweIDs, VendorSeverity, CVSS, ...}
    "data-source"
        "<platform>" -> {ID, Name, URL}

Fixture (YAML, see tests/fixtures/trivy/advisories.yaml)::

    advisories:
      - source: debian 12             # the platform bucket
        package: openssl              # dpkg Source: name
        id: CVE-2023-5678
        fixed: 3.0.13-1~deb12u1       # OS: FixedVersion (omit = unfixed); lang: patched
        affected: [">=2.3.0, <2.31.0"]  # lang only: VulnerableVersions
        status: fixed                 # optional (OS), one of STATUSES
        severity: LOW                 # the source's own severity (VendorSeverity[<source id>])
        vendor_severity: {nvd: MEDIUM}  # optional, more VendorSeverity entries
        title: ...
        description: ...
        cvss: {nvd: {V3Vector: "CVSS:3.1/...", V3Score: 5.3}}
        cwe: [CWE-754]
        references: [https://...]
        published: "2023-11-06T16:15:42Z"
    data_sources:                     # optional: override/extend DATA_SOURCES
      "debian 12": {ID: debian, Name: Debian Security Tracker, URL: https://...}

The same vulnerability id may appear under several sources; its detail record is
merged (VendorSeverity united, other fields taken from the first entry that has them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .bbolt import read_bolt, write_bolt

SCHEMA_VERSION = 2
SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")  # VendorSeverity integers
STATUSES = ("unknown", "not_affected", "affected", "fixed", "under_investigation",
            "will_not_fix", "fix_deferred", "end_of_life")

# data-source records trivy-db writes for the platforms used here
_GHSA_URL = "https://github.com/advisories?query=type%3Areviewed+ecosystem%3A"
DATA_SOURCES: dict[str, dict[str, str]] = {
    "debian": {"ID": "debian", "Name": "Debian Security Tracker",
               "URL": "https://salsa.debian.org/security-tracker-team/security-tracker"},
    "alpine": {"ID": "alpine", "Name": "Alpine Secdb", "URL": "https://secdb.alpinelinux.org/"},
    "ubuntu": {"ID": "ubuntu", "Name": "Ubuntu CVE Tracker",
               "URL": "https://git.launchpad.net/ubuntu-cve-tracker"},
}
_CASE_SENSITIVE = {"go", "cocoapods", "julia"}


def data_source(platform: str) -> dict[str, str]:
    """The ``data-source`` record for a platform bucket name."""
    if "::" in platform:
        eco, name = platform.split("::", 1)
        return {"ID": "ghsa", "Name": name, "URL": _GHSA_URL + eco.lower()} \
            if "GitHub Security Advisory" in name else {"ID": eco.lower(), "Name": name, "URL": ""}
    family = platform.split(" ", 1)[0].lower()
    if family not in DATA_SOURCES:
        raise ValueError(f"no default data source for {platform!r}; add it under data_sources:")
    return dict(DATA_SOURCES[family])


def package_key(platform: str, name: str) -> str:
    """The package bucket name trivy looks up (trivy-db NormalizePkgName)."""
    if "::" not in platform:
        return name
    eco = platform.split("::", 1)[0].lower()
    if eco == "pip":
        return name.lower().replace("_", "-")
    return name if eco in _CASE_SENSITIVE else name.lower()


def _severity(word: str) -> int:
    w = str(word).upper()
    if w not in SEVERITIES:
        raise ValueError(f"unknown severity {word!r} (one of {', '.join(SEVERITIES)})")
    return SEVERITIES.index(w)


def _as_list(x: Any) -> list[str]:
    if x is None or x == "":
        return []
    return [str(v) for v in x] if isinstance(x, list) else [str(x)]


def build_tree(fixture: Mapping[str, Any]) -> dict[str, Any]:
    """Fixture -> nested {bucket: {bucket: {key: json bytes}}} for bbolt.write_bolt."""
    overrides = {str(k): dict(v) for k, v in (fixture.get("data_sources") or {}).items()}
    tree: dict[str, Any] = {}
    details: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, str]] = {}
    for n, adv in enumerate(fixture.get("advisories") or []):
        try:
            platform, package, vid = str(adv["source"]), str(adv["package"]), str(adv["id"])
        except KeyError as exc:
            raise ValueError(f"advisories[{n}]: missing {exc.args[0]!r}") from None
        src = overrides.get(platform) or data_source(platform)
        sources[platform] = src
        record: dict[str, Any] = {}
        if "::" in platform:
            if adv.get("affected"):
                record["VulnerableVersions"] = _as_list(adv["affected"])
            if adv.get("fixed"):
                record["PatchedVersions"] = _as_list(adv["fixed"])
            if adv.get("unaffected"):
                record["UnaffectedVersions"] = _as_list(adv["unaffected"])
        else:
            if adv.get("fixed"):
                record["FixedVersion"] = str(adv["fixed"])
            if adv.get("status"):
                record["Status"] = STATUSES.index(str(adv["status"]))
            if adv.get("package_severity"):
                record["Severity"] = _severity(adv["package_severity"])
            if adv.get("vendor_ids"):
                record["VendorIDs"] = _as_list(adv["vendor_ids"])
        bucket = tree.setdefault(platform, {}).setdefault(package_key(platform, package), {})
        if vid in bucket:
            raise ValueError(f"advisories[{n}]: {vid} twice for {package} in {platform}")
        bucket[vid] = _json(record)

        d = details.setdefault(vid, {})
        vendor = d.setdefault("VendorSeverity", {})
        if adv.get("severity"):
            vendor[src["ID"]] = _severity(adv["severity"])
            d.setdefault("Severity", str(adv["severity"]).upper())
        for sid, word in (adv.get("vendor_severity") or {}).items():
            vendor[str(sid)] = _severity(word)
        for key, field in (("title", "Title"), ("description", "Description"),
                           ("published", "PublishedDate"), ("modified", "LastModifiedDate")):
            if adv.get(key) and field not in d:
                d[field] = str(adv[key])
        if adv.get("cwe") and "CweIDs" not in d:
            d["CweIDs"] = _as_list(adv["cwe"])
        if adv.get("references") and "References" not in d:
            d["References"] = _as_list(adv["references"])
        for sid, entry in (adv.get("cvss") or {}).items():
            d.setdefault("CVSS", {})[str(sid)] = dict(entry)
    tree["vulnerability"] = {vid: _json(d) for vid, d in details.items()}
    tree["data-source"] = {p: _json(s) for p, s in sources.items()}
    return tree


def from_trivy_fixtures(docs: Iterable[list[dict[str, Any]]]) -> dict[str, Any]:
    """trivy's own test-fixture shape ({bucket, pairs: [{bucket|key, ...}]}) -> tree."""
    def pairs(items: list[dict[str, Any]], into: dict[str, Any]) -> dict[str, Any]:
        for item in items:
            if "bucket" in item:
                pairs(item.get("pairs") or [], into.setdefault(str(item["bucket"]), {}))
            else:
                into[str(item["key"])] = _json(item["value"])
        return into

    tree: dict[str, Any] = {}
    for doc in docs:
        pairs(doc, tree)
    return tree


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def rfc3339(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_metadata(cache: Path, *, updated_at: datetime | None = None,
                   next_update: datetime | None = None,
                   downloaded_at: datetime | None = None,
                   version: int = SCHEMA_VERSION) -> Path:
    """``<cache>/db/metadata.json``. Defaults: updated now, next update in 24 h,
    downloaded = updated (so trivy without --skip-db-update would not re-download)."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    updated = updated_at or now
    meta = {"Version": version,
            "NextUpdate": rfc3339(next_update or updated + timedelta(hours=24)),
            "UpdatedAt": rfc3339(updated),
            "DownloadedAt": rfc3339(downloaded_at or updated)}
    path = cache / "db" / "metadata.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meta, indent=2) + "\n")
    return path


def load_fixture(path: Path) -> dict[str, Any]:
    import yaml  # test dependency (PyYAML is a runtime dependency of posture-gate too)

    doc = yaml.safe_load(path.read_text())
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a mapping with 'advisories'")
    return doc


def write_trivy_db(cache: Path, fixture: Mapping[str, Any] | Path, **metadata: Any) -> Path:
    """Write ``<cache>/db/trivy.db`` and ``metadata.json``; returns the trivy.db path.
    ``metadata`` goes to write_metadata (updated_at, next_update, downloaded_at, version)."""
    doc = load_fixture(fixture) if isinstance(fixture, Path) else fixture
    db = write_bolt(cache / "db" / "trivy.db", build_tree(doc))
    write_metadata(cache, **metadata)
    return db


def dump(db: Path) -> dict[str, Any]:
    """Read a trivy.db back: {bucket: {...: decoded JSON}} (for tests and debugging)."""
    def conv(node: Any) -> Any:
        if isinstance(node, dict):
            return {k.decode(): conv(v) for k, v in node.items()}
        return json.loads(node)
    return dict(conv(read_bolt(db.read_bytes())))
