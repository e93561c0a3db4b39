"""trivy: misconfiguration, secrets, OS and language packages (fs and image)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..errors import ScannerError, ScannerOutputError
from ..fingerprint import canonical_advisory, code_basis, package_basis, snippet_hash
from ..model import Category, Cvss, Finding, Location, Package
from .base import (
    NOT_PROJECT_DIRS,
    Job,
    Parsed,
    ScanContext,
    ScannerSettings,
    load_json_object,
    relpath,
    require,
    severity_from_word,
    version_in_json,
)

CLASS_CATEGORY = {
    "os-pkgs": Category.OS,
    "lang-pkgs": Category.DEPENDENCY,
    "config": Category.ARCHITECTURE,
    "secret": Category.SECRET,
}
# trivy's package-manager types that are PyPI packages (so they dedup with pip-audit)
_PYPI_TYPES = {"pip", "pipenv", "poetry", "uv", "python-pkg", "conda-pkg"}
DEFAULT_FS_SCANNERS = ("misconfig", "secret")
DEFAULT_IMAGE_SCANNERS = ("vuln",)


def db_path(cache_dir: Path) -> Path:
    return cache_dir / "db" / "trivy.db"


def metadata_path(cache_dir: Path) -> Path:
    return cache_dir / "db" / "metadata.json"


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def _parse_time(text: object) -> datetime | None:
    """Go's RFC 3339 (up to nanoseconds, 'Z' or an offset); None if absent or zero."""
    m = _RFC3339.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    frac = (m.group(2) or "")[:6].ljust(6, "0")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        t = datetime.fromisoformat(f"{m.group(1)}.{frac}{zone}")
    except ValueError:
        return None
    return None if t.year <= 1 else t.astimezone(timezone.utc)


def db_updated_at(cache_dir: Path) -> datetime | None:
    """UpdatedAt from `<cache>/db/metadata.json`; None when missing or unreadable."""
    try:
        doc = json.loads(metadata_path(cache_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return _parse_time(doc.get("UpdatedAt")) if isinstance(doc, dict) else None


def _check_db_age(cache: Path, max_days: int, now: datetime | None = None) -> None:
    updated = db_updated_at(cache)
    if updated is None:
        raise ScannerError(
            "trivy", f"cannot tell the vulnerability DB's age: no readable UpdatedAt in "
            f"{metadata_path(cache)} (max_db_age_days is {max_days})",
            "refresh the cache with 'trivy image --download-db-only'")
    age = (now or datetime.now(timezone.utc)) - updated
    if age > timedelta(days=max_days):
        raise ScannerError(
            "trivy", f"vulnerability DB in {cache} is {age.days} days old (UpdatedAt "
            f"{updated:%Y-%m-%dT%H:%M:%SZ}; max_db_age_days is {max_days})",
            "refresh the cache with 'trivy image --download-db-only' or raise max_db_age_days")


class Trivy:
    name = "trivy"
    executable = "trivy"
    distribution: str | None = None  # a Go binary: its version is in its output
    ok_exit_codes = frozenset({0})  # never pass --exit-code: 1 must mean "fatal"
    forbidden_args = frozenset({"-o", "--output", "-c", "--config", "--ignorefile",
        "--secret-config", "--cache-dir", "--server", "--config-check", "--config-data"})
    tested_versions = frozenset({"0.76.0"})

    def _common(self, opts: Any, ctx: ScanContext, scanners: list[str]) -> list[str]:
        cache = Path(str(opts.get("cache_dir"))) if opts.get("cache_dir") else \
            ctx.work_dir / "trivy-cache"
        if not cache.is_absolute():
            cache = ctx.root / cache
        argv = ["--format", "json", "--quiet", "--scanners", ",".join(scanners),
                "--cache-dir", str(cache), "--skip-version-check", "--disable-telemetry"]
        if "misconfig" in scanners:
            argv.append("--skip-check-update")  # embedded checks; no network fetch
        if opts.get("skip_db_update"):
            argv += ["--skip-db-update", "--skip-java-db-update"]
        if opts.get("offline_scan"):
            argv.append("--offline-scan")
        for repo in opts.get("db_repository") or []:
            argv += ["--db-repository", str(repo)]
        for repo in opts.get("java_db_repository") or []:
            argv += ["--java-db-repository", str(repo)]
        return argv

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        opts = settings.options
        jobs = []
        fs_scanners = [str(s) for s in opts.get("scanners") or DEFAULT_FS_SCANNERS]
        common = self._common(opts, ctx, fs_scanners)
        meta = {"scanners": fs_scanners, "cache_dir": common[common.index("--cache-dir") + 1],
                # --offline-scan does not concern the DB (TRIVY_OFFLINE.md section 4)
                "skip_db_update": bool(opts.get("skip_db_update")),
                "max_db_age_days": opts.get("max_db_age_days")}
        if opts.get("fs", True):
            argv = [self.executable, "fs", *common]
            skips = [*(f"**/{d}" for d in NOT_PROJECT_DIRS), *ctx.exclude_dirs,
                     *(str(d) for d in opts.get("skip_dirs") or [])]
            for skip in skips:
                argv += ["--skip-dirs", skip]
            argv += [*settings.extra_args, "."]
            jobs.append(Job(name=self.name, scanner=self.name, argv=tuple(argv),
                            required=settings.required, timeout=settings.timeout,
                            meta={**meta, "mode": "fs"}))
        image_scanners = [str(s) for s in opts.get("image_scanners") or DEFAULT_IMAGE_SCANNERS]
        for n, image in enumerate(ctx.images):
            common = self._common(opts, ctx, image_scanners)
            tarball = _image_archive(image, ctx.root)
            source = ["--input", str(tarball)] if tarball else [image]
            jobs.append(Job(
                name=f"{self.name}-image" + (f"-{n + 1}" if n else ""), scanner=self.name,
                argv=(self.executable, "image", *common, *settings.extra_args, *source),
                required=settings.required, timeout=settings.timeout,
                meta={**meta, "scanners": image_scanners, "mode": "image", "image": image}))
        return jobs

    def version_argv(self) -> list[str]:
        return [self.executable, "--version"]

    def parse_version(self, text: str) -> str | None:
        m = re.search(r"Version:\s*(\d+\.\d+\.\d+\S*)", text)
        return m.group(1) if m else None

    def output_version(self, data: bytes) -> str | None:
        return version_in_json(data, "Trivy", "Version")

    def preflight(self, job: Job, ctx: ScanContext) -> None:
        if "vuln" in job.meta.get("scanners", ()) and job.meta.get("skip_db_update"):
            cache = Path(str(job.meta["cache_dir"]))
            if not db_path(cache).is_file():
                raise ScannerError(
                    self.name, f"no vulnerability DB in cache directory {cache} "
                    f"(expected {db_path(cache)})",
                    "copy a trivy DB there or allow the download; see README 'Air-gapped'")
            # trivy itself scans with a DB of any age under --skip-db-update, silently
            max_days = job.meta.get("max_db_age_days")
            if isinstance(max_days, int):
                _check_db_age(cache, max_days)

    def parse(self, data: bytes, job: Job, ctx: ScanContext, version: str) -> Parsed:
        doc = load_json_object(data, self.name)
        if doc.get("SchemaVersion") != 2:
            raise ScannerOutputError(self.name, f"unexpected SchemaVersion "
                                     f"{doc.get('SchemaVersion')!r} (expected 2)")
        results = doc.get("Results") or []
        if not isinstance(results, list):
            raise ScannerOutputError(self.name, "unexpected output shape: 'Results' is not a list")
        image = job.meta.get("image")
        lines = ctx.lines()
        findings: list[Finding] = []
        raw = 0
        for i, res in enumerate(results):
            if not isinstance(res, dict):
                raise ScannerOutputError(self.name, f"unexpected output shape: Results[{i}]")
            cls = res.get("Class")
            category = CLASS_CATEGORY.get(str(cls))
            if category is None:
                continue  # license results are not security findings
            target = str(res.get("Target", ""))
            # In an image, a lang-pkgs Target is a language name ("Python") and the
            # packages are files inside the image: no repository location.
            in_image = image is not None and category is Category.DEPENDENCY
            path = relpath(target, ctx.root) \
                if category is not Category.OS and not in_image else None
            if category in (Category.OS, Category.DEPENDENCY):
                items = res.get("Vulnerabilities") or []
                raw += len(items)
                findings += [self._vuln(v, res, category, path, image, version)
                             for v in self._dicts(items, i, "Vulnerabilities")]
            elif category is Category.ARCHITECTURE:
                items = res.get("Misconfigurations") or []
                raw += len(items)
                for m in self._dicts(items, i, "Misconfigurations"):
                    findings.append(self._misconfig(m, path or target, lines, version, image))
            else:
                items = res.get("Secrets") or []
                raw += len(items)
                for s in self._dicts(items, i, "Secrets"):
                    findings.append(self._secret(s, path or target, version, image))
        props: dict[str, Any] = {"mode": job.meta.get("mode", "fs")}
        if image:
            props["image"] = image
        if "vuln" in job.meta.get("scanners", ()) and job.meta.get("cache_dir"):
            # the DB trivy actually used (it may have downloaded a newer one)
            cache = Path(str(job.meta["cache_dir"]))
            updated = db_updated_at(cache)
            if updated is not None:
                props["db_updated_at"] = f"{updated:%Y-%m-%dT%H:%M:%SZ}"
            max_days = job.meta.get("max_db_age_days")
            if isinstance(max_days, int):
                _check_db_age(cache, max_days)
        return Parsed(findings=tuple(findings), raw_count=raw, properties=props)

    def _dicts(self, items: Any, i: int, key: str) -> list[dict[str, Any]]:
        if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
            raise ScannerOutputError(self.name, f"unexpected output shape: Results[{i}].{key}")
        return items

    def _vuln(self, v: dict[str, Any], res: dict[str, Any], category: Category,
              path: str | None, image: str | None, version: str) -> Finding:
        vid = require(v, "VulnerabilityID", str, self.name, "Vulnerability.")
        name = require(v, "PkgName", str, self.name, "Vulnerability.")
        installed = str(v.get("InstalledVersion", ""))
        rtype = str(res.get("Type", ""))
        ecosystem = "PyPI" if rtype in _PYPI_TYPES else rtype
        ids = [vid, *sorted(str(x) for x in v.get("VendorIDs") or [])]
        fixed = tuple(x.strip() for x in str(v.get("FixedVersion") or "").split(",") if x.strip())
        purl = (v.get("PkgIdentifier") or {}).get("PURL")
        line = _package_line(res, name, installed)
        # a repository manifest, or (OS packages, packages inside an image) the image
        manifest = path if path is not None else f"{image or ''}:{ecosystem}"
        cvss = _cvss(v)
        layer = v.get("Layer") or {}
        return Finding(
            fingerprint=package_basis(category=category.value, ecosystem=ecosystem, name=name,
                                      advisory=canonical_advisory(ids),
                                      manifest=manifest),
            scanner=self.name,
            scanner_version=version,
            found_by=(self.name,),
            rule_id=vid,
            category=category,
            severity=severity_from_word(v.get("Severity")),
            severity_source=f"trivy {v['SeveritySource']}" if v.get("SeveritySource") else None,
            cvss=cvss,
            title=f"{name} {installed}: {vid}",
            message=" ".join(str(v.get("Title") or v.get("Description") or vid).split())[:2000],
            location=Location(path=path, start_line=line, end_line=line) if path else None,
            package=Package(ecosystem=ecosystem, name=name, version=installed or None,
                            fixed_versions=fixed, purl=purl if isinstance(purl, str) else None),
            identifiers=tuple(dict.fromkeys([*ids, *(str(c) for c in v.get("CweIDs") or [])])),
            references=tuple(u for u in [v.get("PrimaryURL")] if isinstance(u, str)),
            image=image,
            layer=(layer.get("DiffID") or layer.get("Digest")) if isinstance(layer, dict) else None,
        )

    def _misconfig(self, m: dict[str, Any], path: str, lines: Any, version: str,
                   image: str | None) -> Finding:
        mid = require(m, "ID", str, self.name, "Misconfiguration.")
        cause = m.get("CauseMetadata") or {}
        start, end = cause.get("StartLine"), cause.get("EndLine")
        start = start if isinstance(start, int) and start > 0 else None
        end = end if isinstance(end, int) and end > 0 else start
        message = " ".join(str(m.get("Message") or m.get("Title") or mid).split())
        source = lines.line_range(path, start, end) if image is None else ""
        content = snippet_hash(f"{source}\n{message}")
        return Finding(
            fingerprint=code_basis(category="architecture", rule_key=f"trivy:{mid}", path=path,
                                   content=content),
            content_hash=content,
            scanner=self.name,
            scanner_version=version,
            found_by=(self.name,),
            rule_id=mid,
            category=Category.ARCHITECTURE,
            severity=severity_from_word(m.get("Severity")),
            title=" ".join(str(m.get("Title") or mid).split()),
            message=message,
            location=Location(path=path, start_line=start, end_line=end),
            references=tuple(u for u in [m.get("PrimaryURL")] if isinstance(u, str)),
            image=image,
        )

    def _secret(self, s: dict[str, Any], path: str, version: str, image: str | None) -> Finding:
        rule = require(s, "RuleID", str, self.name, "Secret.")
        start = s.get("StartLine") if isinstance(s.get("StartLine"), int) else None
        end = s.get("EndLine") if isinstance(s.get("EndLine"), int) else start
        # trivy masks the value in Match with '*'; hash only that masked form and never
        # copy Match, Code or Content into a finding.
        content = snippet_hash(str(s.get("Match") or ""))
        title = " ".join(str(s.get("Title") or rule).split())
        layer = s.get("Layer") or {}
        return Finding(
            fingerprint=code_basis(category="secret", rule_key=f"trivy:{rule}", path=path,
                                   content=content),
            content_hash=content,
            scanner=self.name,
            scanner_version=version,
            found_by=(self.name,),
            rule_id=rule,
            category=Category.SECRET,
            severity=severity_from_word(s.get("Severity")),
            title=title,
            message=f"{title} found in {path} (value not shown)",
            location=Location(path=path, start_line=start, end_line=end),
            identifiers=("CWE-798",),
            image=image,
            layer=(layer.get("DiffID") or layer.get("Digest")) if isinstance(layer, dict) else None,
        )

    def redact(self, doc: Any) -> Any:
        for res in doc.get("Results") or [] if isinstance(doc, dict) else []:
            if not isinstance(res, dict):
                continue
            for s in res.get("Secrets") or []:
                if isinstance(s, dict):
                    for key in ("Match", "Code", "Content"):
                        s.pop(key, None)
            for m in res.get("Misconfigurations") or []:
                cause = m.get("CauseMetadata") if isinstance(m, dict) else None
                if isinstance(cause, dict):
                    cause.pop("Code", None)
        return doc


def _image_archive(image: str, root: Path) -> Path | None:
    """An image given as a local archive (docker save tarball) or OCI layout directory:
    as typed (relative to the working directory), else relative to the scanned root.
    None means a registry/daemon reference. The path is absolute: trivy runs in root."""
    p = Path(image)
    for candidate in ([p] if p.is_absolute() else [Path.cwd() / p, root / p]):
        if candidate.is_file() or (candidate / "index.json").is_file():
            return candidate.absolute()
    return None


def _package_line(res: dict[str, Any], name: str, version: str) -> int:
    for p in res.get("Packages") or []:
        if isinstance(p, dict) and p.get("Name") == name and p.get("Version") == version:
            for loc in p.get("Locations") or []:
                if isinstance(loc, dict) and isinstance(loc.get("StartLine"), int):
                    return max(1, int(loc["StartLine"]))
    return 1


def _cvss(v: dict[str, Any]) -> Cvss | None:
    table = v.get("CVSS") or {}
    if not isinstance(table, dict):
        return None
    order = [v.get("SeveritySource"), "nvd", "ghsa", *table.keys()]
    for src in order:
        entry = table.get(src) if isinstance(src, str) else None
        if isinstance(entry, dict):
            if entry.get("V3Vector") and entry.get("V3Score") is not None:
                vec = str(entry["V3Vector"])
                return Cvss(version="3.1" if vec.startswith("CVSS:3.1") else "3.0",
                            vector=vec, score=float(entry["V3Score"]))
            if entry.get("V40Vector") and entry.get("V40Score") is not None:
                return Cvss(version="4.0", vector=str(entry["V40Vector"]),
                            score=float(entry["V40Score"]))
    return None


