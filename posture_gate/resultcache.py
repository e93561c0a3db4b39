"""The result cache: a scanner job's findings, kept under `<cache>/results/` and reused only
when every part of its key matches the run at hand.

A key is a dict of named parts (`Key.parts`): posture-gate's own code, the job, the
scanner's version and executable, its effective argv, environment and meta, the digest of
every configuration file it is handed, the scanner's policy block, and what it reads:
- file-level jobs (bandit, semgrep): the tree manifest is stored in the entry, not in the
  key, so that a changed file can be re-scanned alone (cachedrun.py);
- trivy fs: the whole tree's digest (and the DB's metadata when it looks up packages);
- pip-audit: the pinned package set and the advisory index digest (only with a local
  advisory mirror: a live service answers differently from one day to the next);
- trivy image: the image archive's digest or a `@sha256:` reference, and the DB metadata
  (only with skip_db_update: otherwise trivy may fetch a newer DB during the run).
A job no key can be built for is never cached.

Entries are read strictly (schema, key parts compared one by one, a checksum of the body,
every finding parsed): anything else is a miss, never an error and never a wrong answer.
They are written atomically, mode 0600, in directories of mode 0700, never through a link.
The cache root is trusted like the advisory mirror: whoever can write it can forge entries
(docs/security.md); scan.py never uses one inside the scanned tree.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from . import __version__, cachedir, runner, strictjson, toolpath, treedigest
from .model import Finding
from .scanners.base import Job, ScanContext, Scanner, ScannerSettings

SCHEMA = "posture-gate/result-cache/v1"
KIND = "results"
VERSIONS = "versions.json"  # executable identity -> version (ResultCache.known_version)
KEEP = 8  # entries kept per job (least recently used go first)
MAX_ENTRY_BYTES = 256 << 20
# Environment variables the tools (or the Python that runs them) read.
_ENV_PREFIXES = ("TRIVY_", "SEMGREP_", "BANDIT", "PIP_", "PYTHON")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True, kw_only=True)
class Key:
    job: str
    parts: Mapping[str, str]
    per_file: bool  # the entry carries a tree manifest; findings are kept per file

    @property
    def digest(self) -> str:
        return hashlib.sha256(_canonical(dict(self.parts)).encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Entry:
    """What a job produced: enough to rebuild its ScannerRun and findings."""

    version: str
    tested_version: bool | None
    exit_code: int | None
    raw_count: int
    warnings: tuple[str, ...]
    properties: Mapping[str, Any]
    findings: tuple[Finding, ...]
    raw: str | None = None  # the redacted raw document, republished on a hit
    files: Mapping[str, str] = field(default_factory=dict)  # per-file entries: manifest


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      default=repr)


@cache
def code_digest() -> str:
    """posture-gate's own Python code: a change to a parser must not serve old findings."""
    h = hashlib.sha256(__version__.encode())
    base = Path(__file__).resolve().parent
    for path in sorted(base.rglob("*.py")):
        h.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _executable(name: str) -> str | None:
    """The tool's resolved path and identity; None when it is not on PATH."""
    where = toolpath.which(name)
    if where is None:
        return None
    real = os.path.realpath(where)
    try:
        st = os.stat(real)
    except OSError:
        return None
    digest = treedigest.file_digest(real) if st.st_size <= (1 << 20) else None
    return f"{real}:{st.st_size}:{st.st_mtime_ns}:{digest or '-'}"


def _path_digest(path: Path) -> str | None:
    if path.is_dir():
        return treedigest.combined(treedigest.manifest(path))
    return treedigest.file_digest(path)


def _normalize(text: str, ctx: ScanContext) -> str:
    text = text.replace(str(ctx.work_dir), "<work>")
    return text.replace(ctx.osv_url, "<osv>") if ctx.osv_url else text


def _configs(job: Job, ctx: ScanContext) -> dict[str, str] | None:
    """Digest of every absolute path in argv outside the scan's temp dir (rule files, a
    trusted config, a trivy cache); None when one cannot be read. Files the plan writes
    in the temp dir are keyed by argv (semgrep's rendered pack carries its digest)."""
    argv = job.argv
    out: dict[str, str] = {}
    for flag, value in itertools.pairwise(argv):
        if job.scanner == "semgrep" and flag == "--config" and not value.startswith("/"):
            return None  # rules from a registry or URL change without telling us
    for arg in argv[1:]:
        if not arg.startswith("/") or arg.startswith(str(ctx.work_dir)):
            continue
        path = Path(arg)
        if not path.exists():
            continue
        if path == ctx.root:
            return None  # the whole tree as configuration: nothing to key on
        # rule files and trusted configs, also those of the tree: their content counts
        digest = _trivy_cache_digest(path) if _is_trivy_cache(argv, arg) else \
            _path_digest(path)
        if digest is None:
            return None
        out[arg] = digest
    return out


def _is_trivy_cache(argv: Sequence[str], arg: str) -> bool:
    return any(a == "--cache-dir" and b == arg for a, b in itertools.pairwise(argv))


def _trivy_cache_digest(path: Path) -> str:
    """trivy's cache dir: the DB, Java DB and checks bundle are known by their metadata."""
    found = {}
    for meta in sorted(path.glob("*/metadata.json")) + sorted(path.glob("*/*/metadata.json")):
        found[meta.relative_to(path).as_posix()] = treedigest.file_digest(meta) or "-"
    return _canonical(found)


def _env(job: Job, ctx: ScanContext) -> str:
    inherited = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
    given = {k: _normalize(v, ctx) for k, v in job.env.items() if k not in job.speed_env}
    return _canonical({"inherited": inherited, "job": given})


def _image_identity(image: str, root: Path) -> str | None:
    """An image is known by content only: a saved archive's digest or a pinned reference."""
    path = Path(image) if Path(image).is_absolute() else root / image
    if path.is_file():
        return treedigest.file_digest(path)
    return image if re.search(r"@sha256:[0-9a-f]{64}$", image) else None


def _inputs(job: Job, ctx: ScanContext, tree: Mapping[str, str] | None) -> str | None:
    """The key part for what a whole-job entry read; None: not cacheable."""
    meta = job.meta
    if job.scanner == "pip-audit":
        if ctx.advisories is None or meta.get("osv_url") != ctx.osv_url or "pins" not in meta:
            return None
        return _canonical({"pins": meta.get("pins"), "unaudited": meta.get("unaudited"),
                           "advisories": ctx.advisories.digest})
    if job.scanner == "trivy":
        vuln = "vuln" in (meta.get("scanners") or ())
        if vuln and not meta.get("skip_db_update"):
            return None  # trivy may fetch a newer DB during the run
        if meta.get("mode") == "image":
            image = _image_identity(str(meta.get("image")), ctx.root)
            return None if image is None else _canonical({"image": image})
    elif job.scanner != "zizmor":
        return None
    # trivy fs and zizmor are keyed by the whole tree (zizmor is handed the workflows and
    # actions, but which other files an audit reads is zizmor's business)
    return None if tree is None else treedigest.combined(tree)


def build_key(scanner: Scanner, job: Job, ctx: ScanContext, settings: ScannerSettings | None,
              version: str | None, tree: Mapping[str, str] | None,
              per_file: bool) -> Key | None:
    """The job's key, or None when it cannot be cached."""
    exe = _executable(scanner.executable)
    configs = _configs(job, ctx)
    if version is None or exe is None or configs is None:
        return None
    parts = {
        "schema": SCHEMA, "posture_gate": code_digest(), "job": job.name,
        "scanner": scanner.name, "version": version, "executable": exe,
        "argv": _canonical([_normalize(a, ctx) for a in job.result_argv]),
        "env": _env(job, ctx), "configs": _canonical(configs),
        "meta": _normalize(_canonical(dict(job.meta)), ctx),
        "policy": _canonical(_settings(settings)),
        "honoured": _canonical(sorted(ctx.honor_repo_config)),
    }
    if per_file:
        if tree is None:
            return None
        # config files the tree may hand its scanner: a change re-scans everything
        # (a manifest's paths are "/"-joined: the name is what follows the last "/")
        parts["tree_config"] = _canonical({rel: d for rel, d in tree.items() if
                                           rel.rpartition("/")[2] in ctx.honor_repo_config})
    else:
        inputs = _inputs(job, ctx, tree)
        if inputs is None:
            return None
        parts["inputs"] = inputs
    return Key(job=job.name, parts=parts, per_file=per_file)


def _settings(settings: ScannerSettings | None) -> Any:
    if settings is None:
        return None
    return {"name": settings.name, "enabled": settings.enabled, "required": settings.required,
            "timeout": settings.timeout, "args": list(settings.extra_args),
            "options": dict(settings.options)}


class ResultCache:
    """`<root>/results/<job>/<key digest>.json`; per-file keys leave out the tree, so one
    entry per configuration holds the latest manifest."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: Key) -> Path | None:
        job_dir = cachedir.private_dir(self.folder, _SAFE_NAME.sub("_", key.job))
        return None if job_dir is None else job_dir / f"{key.digest}.json"

    def load(self, key: Key) -> Entry | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            with os.fdopen(fd, "rb") as fh:
                data = fh.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        entry = decode(data, key)
        if entry is not None:
            with contextlib.suppress(OSError):
                os.utime(path)
        return entry

    def known_version(self, scanner: Scanner) -> str | None:
        """The scanner's version without starting it: from its dist-info (a Python tool) or
        as remembered for this executable (path, size, mtime) by remember_version. None: a
        binary not seen before; its run prints the version (trivy --version would cost
        ~0.1 s before any scanner starts)."""
        installed = runner.installed_version(scanner.executable, scanner.distribution)
        if installed:
            return installed
        exe = _executable(scanner.executable)
        known = self._versions()
        return known.get(exe) if exe is not None else None

    def remember_version(self, scanner: Scanner, version: str) -> None:
        exe = _executable(scanner.executable)
        if exe is None or cachedir.private_dir(self.folder) is None:
            return
        kept = dict(list(self._versions().items())[-31:])  # a few executables, never more
        with contextlib.suppress(OSError, ValueError):
            cachedir.write_private(self.folder / VERSIONS,
                                   _canonical({**kept, exe: version}).encode())

    def _versions(self) -> dict[str, str]:
        """The remembered versions; a missing or damaged file remembers nothing."""
        try:
            fd = os.open(self.folder / VERSIONS, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as fh:
                doc = strictjson.load_bytes(fh.read(1 << 20))
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in doc.items() if isinstance(v, str)} \
            if isinstance(doc, dict) else {}

    def store(self, key: Key, entry: Entry) -> bool:
        """Write the entry; False when the cache cannot be written (the scan goes on)."""
        path = self._path(key)
        if path is None:
            return False
        try:
            cachedir.write_private(path, encode(key, entry))
        except (OSError, ValueError):
            return False
        _prune(path.parent, keep=path.name)
        return True


def encode(key: Key, entry: Entry) -> bytes:
    body = {"key": dict(key.parts), "per_file": key.per_file, "version": entry.version,
            "tested_version": entry.tested_version, "exit_code": entry.exit_code,
            "raw_count": entry.raw_count, "warnings": list(entry.warnings),
            "properties": dict(entry.properties),
            "findings": [f.to_dict() for f in entry.findings],
            "raw": entry.raw, "files": dict(entry.files)}
    text = _canonical(body)
    checksum = hashlib.sha256(text.encode()).hexdigest()
    return _canonical({"schema": SCHEMA, "sha256": checksum, "body": text}).encode()


def decode(data: bytes, key: Key) -> Entry | None:
    """The entry in `data` when it is whole and was stored under exactly `key`."""
    try:
        outer = strictjson.load_bytes(data)
        if not isinstance(outer, dict) or outer.get("schema") != SCHEMA \
                or not isinstance(outer.get("body"), str):
            return None
        text = outer["body"]
        if hashlib.sha256(text.encode()).hexdigest() != outer.get("sha256"):
            return None
        body = strictjson.loads(text)
        return _entry(body, key)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _entry(body: Any, key: Key) -> Entry | None:
    if not isinstance(body, dict) or body.get("key") != dict(key.parts) \
            or body.get("per_file") is not key.per_file:
        return None
    files = body.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return None
    findings = body.get("findings")
    warnings = body.get("warnings")
    if not isinstance(findings, list) or not isinstance(warnings, list) \
            or not all(isinstance(w, str) for w in warnings):
        return None
    raw = body.get("raw")
    version, count = body.get("version"), body.get("raw_count")
    tested, code, props = body.get("tested_version"), body.get("exit_code"), body.get("properties")
    if not isinstance(version, str) or type(count) is not int or count < 0 \
            or not (raw is None or isinstance(raw, str)) or not isinstance(props, dict) \
            or not (tested is None or isinstance(tested, bool)) \
            or not (code is None or type(code) is int):
        return None
    return Entry(version=version, tested_version=tested, exit_code=code, raw_count=count,
                 warnings=tuple(warnings), properties=props,
                 findings=tuple(Finding.from_dict(f, f"findings[{i}].")
                                for i, f in enumerate(findings)),
                 raw=raw, files=files)


def _prune(folder: Path, *, keep: str) -> None:
    """At most KEEP entries per job (least recently used go first), no abandoned temp files."""
    cachedir.prune(folder, keep=keep, most=KEEP, is_entry=lambda n: n.endswith(".json"),
                   is_temp=lambda n: n.endswith(".tmp"))
