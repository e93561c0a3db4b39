"""pip-audit: open-source dependency audit (category `dependency`).

pip-audit is handed one requirements file that posture-gate writes: the exact pins read from the
project's requirements files (includes followed), lock files or pyproject.toml (posture_gate/
locks.py), with `--no-deps --disable-pip`, so that it audits what is pinned, nothing more and
nothing less. Findings point at the file and line where each pin is written. A package it could
not audit fails the run unless a trusted policy accepts it by name (`allow_unaudited`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from .. import advisories as osv
from .. import locks
from ..errors import ScannerError, ScannerOutputError
from ..fingerprint import canonical_advisory, package_basis
from ..model import Category, Finding, Location, Package, Severity
from . import pip_audit_errors
from .base import (
    BOOLEAN,
    STRING,
    STRINGS,
    SUBSET,
    Enriched,
    Job,
    Option,
    Parsed,
    ScanContext,
    Scanner,
    ScannerSettings,
    frozen,
    load_json_object,
    objects,
    optional,
    require,
    shape_error,
    strings,
)
from .pip_audit_severity import Fetcher

PINS_FILE = "pip-audit-pins.txt"
LISTED = 3  # unaudited packages named in the error; the rest are counted

_REQ_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==")
_TOML_PIN = re.compile(r"[\"']\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==")


def requirement_lines(root: Path, files: list[str]) -> dict[str, tuple[str, int]]:
    """canonical package name -> (requirements file, line), for `resolve: true` runs, where
    pip decides the versions and only the names can be located."""
    found: dict[str, tuple[str, int]] = {}
    for rel in files:
        try:
            path = (root / rel).resolve()
            if not path.is_relative_to(root.resolve()) or not path.is_file():
                continue  # only ever the tree's own regular files
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        toml = rel.endswith(".toml")
        for n, line in enumerate(text.splitlines(), start=1):
            names = [m.group(1) for m in _TOML_PIN.finditer(line)] if toml else \
                [m.group(1) for m in [_REQ_LINE.match(line)] if m]
            for name in names:
                found.setdefault(osv.canonical_name(name), (rel, n))
    return found


def pins_text(pins: Iterable[locks.Pin]) -> str:
    """The requirements file pip-audit reads. pip-audit keeps one pin per name as spelled,
    so a second version of a package (a lock may fork on markers) is written with another
    spelling of the same name; pip-audit prints the canonical name either way."""
    seen: dict[str, int] = {}
    out = []
    for p in pins:
        k = seen.get(p.name, 0)
        seen[p.name] = k + 1
        out.append(f"{_spelling(p.name, k)}=={p.version}\n")
    return "".join(out)


def _spelling(name: str, k: int) -> str:
    """The k-th distinct spelling of a canonical name: letters upper-cased by the bits of k."""
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    if k >= 1 << len(letters):
        raise ScannerError("pip-audit", f"{name}: {k + 1} versions pinned; cannot audit them")
    chars = list(name)
    for bit, i in enumerate(letters):
        if k >> bit & 1:
            chars[i] = chars[i].upper()
    return "".join(chars)


@dataclass(frozen=True, kw_only=True)
class _Skipped:
    name: str
    version: str | None
    reason: str

    def text(self) -> str:
        reason = re.sub(rf":\s*{re.escape(self.name)}\s*\([^)]*\)\s*$", "", self.reason,
                        flags=re.IGNORECASE)
        return f"{self.name}{' ' + self.version if self.version else ''} ({reason.strip()})"


class PipAudit(Scanner):
    name = "pip-audit"
    executable = "pip-audit"
    distribution = "pip_audit"
    pin = "pip-audit==2.10.1"
    categories = (Category.DEPENDENCY,)
    options = frozen({
        "requirements": Option(schema=STRINGS),
        "project": Option(schema=STRING),
        "resolve": Option(schema=BOOLEAN),
        "service": Option(schema={"enum": ["osv", "pypi"]}),
        "osv_url": Option(schema={"type": "string", "pattern": "^https?://"}),
        "fetch_severity": Option(schema=BOOLEAN, default=True),
        "allow_unaudited": Option(schema={
            **STRINGS, "uniqueItems": True,
            "description": "Packages (by name) that pip-audit may fail to audit (git/URL "
            "sources, not found by the advisory service) without failing the run; each is "
            "reported as a warning. Any other unaudited package makes pip-audit fail (exit 2 "
            "when required). Trusted policy only: a repository-local policy may not set it."},
            trust=SUBSET, default=[]),
    })
    presets = frozen({"default": {}, "strict": {}, "nightly": {"required": True}})
    gitlab_reports = frozenset({"dependency_scanning"})
    information_uri = "https://github.com/pypa/pip-audit"
    merge_rank = 0
    # the shortest but zizmor's on the apps measured (0.55 to 0.8 s beside semgrep's 0.6 to
    # 2.2): it starts after semgrep, and its plan, which reads the lock file, runs after
    # semgrep has started (0.12 s for paperless-ngx's uv.lock)
    cost = 1
    freshness = frozen({"advisories_newest": "newest advisory record"})
    # 1 means "vulnerabilities found" but also "crashed": parse decides (JSON or not).
    ok_exit_codes = frozenset({0, 1})
    forbidden_args = frozenset({"-o", "--output", "--fix", "--cache-dir", "-r", "--requirement",
        "-i", "--index-url", "--extra-index-url"})
    tested_versions = frozenset({"2.10.1"})

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        opts = settings.options
        reqs = [str(r) for r in opts.get("requirements") or []]
        project = str(opts["project"]) if opts.get("project") else None
        argv = [self.executable, "-f", "json", "--progress-spinner", "off",
                "--cache-dir", str(ctx.work_dir / "pip-audit-cache")]
        meta: dict[str, Any] = {
            "allow_unaudited": tuple(sorted({canonicalize_name(str(n))
                                             for n in opts.get("allow_unaudited") or []}))}
        # pip-audit runs `python -m pip`: with the tree as its cwd, a pip/ package there would
        # be imported and run. The pinned audit needs no tree (it reads one file we wrote),
        # so it runs in the scan's private dir; `resolve` (trusted policy only) builds the
        # project, which runs its code anyway.
        cwd: Path | None = None
        try:
            if opts.get("resolve", False):
                argv += self._resolved(ctx, reqs, project, meta)
            else:
                argv += self._pinned(ctx, reqs, project, meta)
                cwd = ctx.work_dir
        except locks.LockError as exc:
            raise ScannerError(self.name, locks.printable(str(exc))) from None
        osv_url = ctx.osv_url or opts.get("osv_url")
        if osv_url:
            argv += ["-s", "osv", "--osv-url", str(osv_url)]
        elif opts.get("service"):
            argv += ["-s", str(opts["service"])]
        argv += list(settings.extra_args)
        meta |= {"osv_url": str(osv_url) if osv_url else None,
                 "fetch_severity": bool(opts.get("fetch_severity", True))}
        return [Job(name=self.name, scanner=self.name, argv=tuple(argv), cwd=cwd,
                    required=settings.required, timeout=settings.timeout, meta=meta)]

    def _pinned(self, ctx: ScanContext, reqs: list[str], project: str | None,
                meta: dict[str, Any]) -> list[str]:
        """Audit exactly what is pinned: no virtualenv, no index access."""
        found = locks.read(ctx.root, requirements=reqs, project=project)
        meta |= {"pins": found.pins, "unaudited": found.unaudited, "inputs": found.files}
        if not found.pins:
            refused = _refused(found.unaudited, meta["allow_unaudited"])
            if refused:
                raise ScannerError(self.name, _unaudited_message(refused))
            raise ScannerError(self.name, f"nothing to audit: {', '.join(found.files)} pin "
                               "no package", "0 packages audited is not a pass")
        pins = ctx.work_dir / PINS_FILE
        pins.write_text(pins_text(found.pins), encoding="utf-8")
        return ["-r", str(pins), "--no-deps", "--disable-pip"]

    def _resolved(self, ctx: ScanContext, reqs: list[str], project: str | None,
                  meta: dict[str, Any]) -> list[str]:
        """`resolve: true`: pip resolves (and may build) the project; only names are
        located. The includes are still checked to stay inside the tree."""
        if not reqs and not project:
            reqs = sorted(p.name for p in ctx.root.glob("requirements*.txt") if p.is_file())
            project = None if reqs else "."
        if reqs:
            locks.check_includes(ctx.root, reqs)
            meta["requirements"] = reqs
            return [a for r in reqs for a in ("-r", r)]
        meta["requirements"] = [str(Path(str(project)) / "pyproject.toml")]
        return [str(project)]

    def explain_failure(self, stderr: str) -> str | None:
        return pip_audit_errors.explain(stderr)

    def parse_version(self, text: str) -> str | None:
        m = re.search(r"pip-audit\s+(\d+\.\d+\.\d+\S*)", text)
        return m.group(1) if m else None

    def parse(self, data: bytes, job: Job, ctx: ScanContext, version: str, *,
              exit_code: int = 0) -> Parsed:
        audited, skipped = _read_output(data, self.name, exit_code)
        pins: Sequence[locks.Pin] | None = job.meta.get("pins")
        at: dict[tuple[str, str], locks.Pin] = {(p.name, p.version): p for p in pins or ()}
        if pins is not None:
            _check_coverage(audited, skipped, at, self.name)
        by_name: dict[str, list[str]] = {}
        for p in pins or ():
            by_name.setdefault(p.name, []).append(p.version)
        unaudited = [_Skipped(name=u.name, version=None, reason=f"{u.reason}, {u.path}:{u.line}")
                     for u in job.meta.get("unaudited") or ()]
        for name, reason in skipped:
            versions = by_name.get(canonicalize_name(name), [])
            said = re.search(r"\(([^()\s]+)\)\s*$", reason)  # "...: flask (2.0.1)"
            unaudited.append(_Skipped(name=name, reason=reason, version=versions[0] if
                                      len(versions) == 1 else said.group(1) if said else None))
        allow = tuple(job.meta.get("allow_unaudited") or ())
        refused = _refused(unaudited, allow)
        if refused:
            raise ScannerError(self.name, _unaudited_message(refused))
        if not audited:
            raise ScannerError(self.name, "audited 0 packages")
        warnings = [f"not audited, accepted by allow_unaudited: {u.text()}"
                    for u in unaudited]

        manifests = list(job.meta.get("requirements") or ["requirements.txt"])
        where = requirement_lines(ctx.root, manifests) if pins is None else {}
        findings: list[Finding] = []
        counts: dict[str, int] = dict.fromkeys(job.meta.get("inputs") or manifests, 0)
        for name, ver, vulns in audited:
            pin = at.get((name, ver))
            manifest, line = (pin.path, pin.line) if pin else \
                where.get(osv.canonical_name(name), (manifests[0], 1))
            counts[manifest] = counts.get(manifest, 0) + 1
            for v in vulns:
                ids = [v["id"], *sorted(v.get("aliases") or [])]
                findings.append(Finding(
                    fingerprint=package_basis(category="dependency", ecosystem="pypi", name=name,
                                              advisory=canonical_advisory(ids), manifest=manifest),
                    scanner=self.name,
                    scanner_version=version,
                    found_by=(self.name,),
                    rule_id=v["id"],
                    category=Category.DEPENDENCY,
                    severity=Severity.UNKNOWN,  # until enrich() looks it up
                    title=f"{name} {ver}: {v['id']}",
                    message=" ".join(str(v.get("description") or "").split())[:2000],
                    location=Location(path=manifest, start_line=line, end_line=line),
                    package=Package(ecosystem="PyPI", name=name, version=ver,
                                    fixed_versions=tuple(v["fix_versions"]),
                                    purl=f"pkg:pypi/{name}@{ver}"),
                    identifiers=tuple(dict.fromkeys(ids)),
                    references=(f"https://osv.dev/vulnerability/{v['id']}",),
                ))
        return Parsed(findings=tuple(findings), raw_count=len(findings),
                      warnings=tuple(warnings),
                      properties={"inputs": counts, "audited": len(audited),
                                  "unaudited_accepted": len(unaudited),
                                  # every audited pin, for the CycloneDX SBOM
                                  "packages": [{"ecosystem": "PyPI", "name": n, "version": v,
                                                "purl": f"pkg:pypi/{n}@{v}"}
                                               for n, v, _ in audited]})

    def enrich(self, findings: tuple[Finding, ...], job: Job, ctx: ScanContext) -> Enriched:
        """Severities from local records, then the OSV API, on their own budget."""
        fetcher = Fetcher(job.meta.get("osv_url") if job.meta.get("fetch_severity") else None,
                          ctx.advisories)
        out = []
        for f in findings:
            if f.package is None:
                out.append(f)
                continue
            severity, source, score = fetcher.severity(list(f.identifiers), f.package.name)
            out.append(f.with_(severity=severity, severity_source=source, cvss=score))
        props = {"advisories_newest": ctx.advisories.newest} \
            if ctx.advisories is not None else {}
        return Enriched(findings=tuple(out), warnings=tuple(fetcher.warnings()),
                        properties=props)


_Audited = tuple[str, str, list[dict[str, Any]]]


def _read_output(data: bytes, scanner: str, exit_code: int
                 ) -> tuple[list[_Audited], list[tuple[str, str]]]:
    """pip-audit's JSON, every field it documents type-checked; (audited, skipped)."""
    doc = load_json_object(data, scanner)
    deps = objects(require(doc, "dependencies", list, scanner), scanner, "dependencies")
    objects(require(doc, "fixes", list, scanner), scanner, "fixes")
    audited: list[_Audited] = []
    skipped: list[tuple[str, str]] = []
    for i, dep in enumerate(deps):
        at = f"dependencies[{i}]."
        name = require(dep, "name", str, scanner, at)
        if "skip_reason" in dep:
            skipped.append((name, require(dep, "skip_reason", str, scanner, at)))
            continue
        ver = require(dep, "version", str, scanner, at)
        vulns = objects(require(dep, "vulns", list, scanner, at), scanner, f"{at}vulns")
        for j, v in enumerate(vulns):
            vat = f"{at}vulns[{j}]."
            require(v, "id", str, scanner, vat)
            strings(require(v, "fix_versions", list, scanner, vat), scanner, f"{vat}fix_versions")
            aliases = optional(v, "aliases", list, scanner, vat)
            if aliases is not None:
                strings(aliases, scanner, f"{vat}aliases")
            optional(v, "description", str, scanner, vat)
        audited.append((name, ver, vulns))
    found = sum(len(v) for _, _, v in audited)
    if exit_code == 1 and not found:
        raise ScannerOutputError(scanner, "exited 1 (vulnerabilities found) but reported none")
    if exit_code == 0 and found:
        raise ScannerOutputError(scanner, f"exited 0 (none found) but reported {found} "
                                 "vulnerabilities")
    return audited, skipped


def _check_coverage(audited: list[_Audited], skipped: list[tuple[str, str]],
                    handed: Mapping[tuple[str, str], locks.Pin], scanner: str) -> None:
    """Every pin handed over has a result, and nothing else does."""
    got = {(n, v) for n, v, _ in audited}
    if len(got) != len(audited):
        twice = next(k for k in got if sum((n, v) == k for n, v, _ in audited) > 1)
        raise shape_error(scanner, f"two results for {twice[0]} {twice[1]}")
    extra = sorted(got - set(handed))
    if extra:
        raise shape_error(scanner, f"a result for {extra[0][0]} {extra[0][1]}, which it was "
                          "not asked about")
    skipped_names = {canonicalize_name(n) for n, _ in skipped}
    missing = [k for k in handed if k not in got and k[0] not in skipped_names]
    if missing:
        listed = ", ".join(f"{n} {v}" for n, v in missing[:LISTED])
        raise ScannerOutputError(scanner, f"no result for {len(missing)} of the {len(handed)} "
                                 f"package(s) it was asked about: {listed}")


def _refused(unaudited: Iterable[Any], allow: Iterable[str]) -> list[Any]:
    accepted = set(allow)
    return [u for u in unaudited if canonicalize_name(u.name) not in accepted]


def _unaudited_message(refused: Sequence[Any]) -> str:
    items = [u.text() if isinstance(u, _Skipped) else f"{u.name} ({u.reason}, {u.path}:{u.line})"
             for u in refused]
    more = ", ..." if len(items) > LISTED else ""
    return (f"{len(items)} package(s) could not be audited: {', '.join(items[:LISTED])}{more} "
            "(a trusted policy may accept them by name: pip-audit.allow_unaudited)")
