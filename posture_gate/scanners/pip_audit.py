"""pip-audit: open-source dependency audit (category `dependency`)."""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .. import advisories as osv
from ..errors import ScannerError, ScannerOutputError
from ..fingerprint import canonical_advisory, package_basis
from ..model import Category, Cvss, Finding, Location, Package, Severity
from .base import (
    Job,
    Parsed,
    ScanContext,
    ScannerSettings,
    load_json_object,
    require,
    severity_from_score,
)

_REQ_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==")
_TOML_PIN = re.compile(r"[\"']\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==")


def requirement_lines(root: Path, files: list[str]) -> dict[str, tuple[str, int]]:
    """canonical package name -> (requirements file, line): where a finding points."""
    found: dict[str, tuple[str, int]] = {}
    for rel in files:
        try:
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        toml = rel.endswith(".toml")
        for n, line in enumerate(text.splitlines(), start=1):
            names = [m.group(1) for m in _TOML_PIN.finditer(line)] if toml else \
                [m.group(1) for m in [_REQ_LINE.match(line)] if m]
            for name in names:
                found.setdefault(osv.canonical_name(name), (rel, n))
    return found


def pyproject_pins(path: Path) -> list[str]:
    """[project].dependencies of a pyproject.toml, each required to be pinned with ==."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScannerError("pip-audit", f"cannot read {path.name}: {exc}") from None
    deps = doc.get("project", {}).get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise ScannerError("pip-audit", f"{path.name}: [project].dependencies is not a list")
    unpinned = [d for d in deps if "==" not in d.split(";")[0]]
    if unpinned:
        raise ScannerError("pip-audit", f"{path.name}: dependency not pinned with ==: "
                           f"{unpinned[0]}", "pin it, or set pip-audit.resolve: true")
    return [d for d in deps if d.strip()]


class PipAudit:
    name = "pip-audit"
    executable = "pip-audit"
    distribution: str | None = "pip_audit"
    # 1 means "vulnerabilities found" but also "crashed": parse decides (JSON or not).
    ok_exit_codes = frozenset({0, 1})
    forbidden_args = frozenset({"-o", "--output", "--fix", "--cache-dir", "-r", "--requirement",
        "-i", "--index-url", "--extra-index-url"})
    tested_versions = frozenset({"2.10.1"})

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        opts = settings.options
        reqs = [str(r) for r in opts.get("requirements") or []]
        project = opts.get("project")
        if not reqs and not project:
            reqs = sorted(p.name for p in ctx.root.glob("requirements*.txt") if p.is_file())
            if not reqs and (ctx.root / "pyproject.toml").is_file():
                project = "."
        if not reqs and not project:
            raise ScannerError(self.name, f"nothing to audit: no requirements*.txt or "
                               f"pyproject.toml in {ctx.root}",
                               "name them under scanners.pip-audit, or disable pip-audit")
        for r in reqs:
            if not (ctx.root / r).is_file():
                raise ScannerError(self.name, f"requirements file not found: {r}")
        argv = [self.executable, "-f", "json", "--progress-spinner", "off",
                "--cache-dir", str(ctx.work_dir / "pip-audit-cache")]
        resolve = bool(opts.get("resolve", False))
        manifests = reqs
        if reqs:
            for r in reqs:
                argv += ["-r", r]
        elif resolve:
            argv.append(str(project))
            manifests = [f"{project}/pyproject.toml".removeprefix("./")]
        else:
            # pip-audit resolves a project with pip (a virtualenv, index access); to audit
            # exactly what is pinned we hand it the project's pins as a requirements file.
            pinned = pyproject_pins(ctx.root / str(project) / "pyproject.toml")
            pins = ctx.work_dir / "pyproject-pins.txt"
            pins.write_text("".join(f"{line}\n" for line in pinned), encoding="utf-8")
            argv += ["-r", str(pins)]
            manifests = [str(Path(str(project)) / "pyproject.toml").removeprefix("./")]
        if not resolve:
            # Audit exactly what is pinned; no virtualenv, no index access.
            argv += ["--no-deps", "--disable-pip"]
        osv_url = ctx.osv_url or opts.get("osv_url")
        if osv_url:
            argv += ["-s", "osv", "--osv-url", str(osv_url)]
        elif opts.get("service"):
            argv += ["-s", str(opts["service"])]
        argv += list(settings.extra_args)
        return [Job(name=self.name, scanner=self.name, argv=tuple(argv),
                    required=settings.required, timeout=settings.timeout,
                    meta={"requirements": manifests,
                          "osv_url": str(osv_url) if osv_url else None,
                          "fetch_severity": bool(opts.get("fetch_severity", True))})]

    def version_argv(self) -> list[str]:
        return [self.executable, "--version"]

    def parse_version(self, text: str) -> str | None:
        m = re.search(r"pip-audit\s+(\d+\.\d+\.\d+\S*)", text)
        return m.group(1) if m else None

    def output_version(self, data: bytes) -> str | None:
        return None  # not in pip-audit's JSON

    def preflight(self, job: Job, ctx: ScanContext) -> None:
        return None

    def parse(self, data: bytes, job: Job, ctx: ScanContext, version: str) -> Parsed:
        doc = load_json_object(data, self.name)
        deps = require(doc, "dependencies", list, self.name)
        manifests = list(job.meta.get("requirements") or ["requirements.txt"])
        where = requirement_lines(ctx.root, manifests)
        fetcher = _Fetcher(job.meta.get("osv_url") if job.meta.get("fetch_severity") else None,
                           ctx.advisories)
        findings: list[Finding] = []
        warnings: list[str] = []
        raw = 0
        for i, dep in enumerate(deps):
            if not isinstance(dep, dict):
                raise ScannerOutputError(self.name, f"unexpected output shape: dependencies[{i}]")
            name = require(dep, "name", str, self.name, f"dependencies[{i}].")
            if "skip_reason" in dep:
                warnings.append(f"not audited: {name} ({dep['skip_reason']})")
                continue
            ver = require(dep, "version", str, self.name, f"dependencies[{i}].")
            vulns = require(dep, "vulns", list, self.name, f"dependencies[{i}].")
            manifest, line = where.get(osv.canonical_name(name), (manifests[0], 1))
            for v in vulns:
                raw += 1
                if not isinstance(v, dict) or not isinstance(v.get("id"), str):
                    raise ScannerOutputError(self.name, f"unexpected vulnerability in {name}")
                ids = [v["id"], *sorted(str(a) for a in v.get("aliases") or [])]
                severity, source, score = fetcher.severity(ids, name)
                fixes = tuple(str(x) for x in v.get("fix_versions") or [])
                findings.append(Finding(
                    fingerprint=package_basis(category="dependency", ecosystem="pypi", name=name,
                                              advisory=canonical_advisory(ids), manifest=manifest),
                    scanner=self.name,
                    scanner_version=version,
                    found_by=(self.name,),
                    rule_id=v["id"],
                    category=Category.DEPENDENCY,
                    severity=severity,
                    severity_source=source,
                    cvss=score,
                    title=f"{name} {ver}: {v['id']}",
                    message=" ".join(str(v.get("description") or "").split())[:2000],
                    location=Location(path=manifest, start_line=line, end_line=line),
                    package=Package(ecosystem="PyPI", name=name, version=ver,
                                    fixed_versions=fixes, purl=f"pkg:pypi/{name}@{ver}"),
                    identifiers=tuple(dict.fromkeys(ids)),
                    references=(f"https://osv.dev/vulnerability/{v['id']}",),
                ))
        return Parsed(findings=tuple(findings), raw_count=raw, warnings=tuple(warnings))

    def redact(self, doc: Any) -> Any:
        return doc  # ids, versions and advisory text only


class _Fetcher:
    """Severity for pip-audit's ids: local records first, then the OSV API pip-audit used."""

    def __init__(self, osv_url: str | None, local: osv.AdvisoryDB | None) -> None:
        self.base = osv_url.rsplit("/v1/", 1)[0] if osv_url and "/v1/" in osv_url else None
        self.local = local
        self._cache: dict[str, Mapping[str, Any] | None] = {}

    def record(self, vuln_id: str) -> Mapping[str, Any] | None:
        if self.local is not None and (rec := self.local.get(vuln_id)) is not None:
            return rec
        if self.base is None or not self.base.startswith(("http://", "https://")):
            return None
        if vuln_id not in self._cache:
            try:
                url = f"{self.base}/v1/vulns/{vuln_id}"
                with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - http(s) only
                    self._cache[vuln_id] = json.loads(resp.read())
            except (OSError, ValueError):
                self._cache[vuln_id] = None
        return self._cache[vuln_id]

    def severity(self, ids: list[str], package: str) -> tuple[Severity, str | None, Cvss | None]:
        for vid in ids:  # the reported id first, then its aliases (GHSA records carry CVSS)
            rec = self.record(vid)
            if rec is None:
                continue
            score = osv.cvss_of(rec, package)
            if score is not None:
                sev = severity_from_score(score.score, cvss_v2=score.version == "2")
                return sev, f"{vid} CVSS {score.version}", score
            word = osv.word_severity(rec)
            if word is not None:
                return word, f"{vid} database_specific.severity", None
        return Severity.UNKNOWN, None, None
