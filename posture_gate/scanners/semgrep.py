"""semgrep: code security lint with local rule files (category `code`)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import ScannerError, ScannerOutputError
from ..model import Suppression
from .base import (
    NOT_PROJECT_DIRS,
    Job,
    Parsed,
    ScanContext,
    ScannerSettings,
    code_finding,
    confidence_from_word,
    cwe_ids,
    load_json_object,
    relpath,
    require,
    severity_from_word,
    version_in_json,
)

BUNDLED = "bundled"  # policy shorthand for the rule pack shipped in the package


def bundled_rules() -> Path:
    return Path(str(resources.files("posture_gate") / "rules" / "semgrep" / "python.yml"))


def _is_registry(config: str) -> bool:
    # p/python, r/..., auto, or a URL: resolved by semgrep over the network.
    return config == "auto" or config.startswith(("p/", "r/", "s/", "http://", "https://"))


def _rule_files(config: Path) -> list[Path]:
    if config.is_dir():
        return sorted(p for p in config.rglob("*") if p.suffix in (".yml", ".yaml"))
    return [config]


def rule_ids(config: Path) -> set[str]:
    """The ids declared in local rule files, to undo semgrep's path prefix on check_id."""
    ids: set[str] = set()
    for f in _rule_files(config):
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        for rule in (doc or {}).get("rules", []) if isinstance(doc, dict) else []:
            if isinstance(rule, dict) and isinstance(rule.get("id"), str):
                ids.add(rule["id"])
    return ids


class Semgrep:
    name = "semgrep"
    executable = "semgrep"
    distribution: str | None = "semgrep"
    # Run without --error: 0 means the scan completed whatever it found.
    ok_exit_codes = frozenset({0})
    forbidden_args = frozenset({"-o", "--output", "--config", "-c", "--project-root"})
    tested_versions = frozenset({"1.185.0"})

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        opts = settings.options
        configs: list[str] = []
        local_ids: set[str] = set()
        for raw in opts.get("config") or [BUNDLED]:
            value = str(raw)
            if value == BUNDLED:
                path = bundled_rules()
            elif _is_registry(value):
                configs.append(value)
                continue
            else:
                path = (ctx.root / value) if not Path(value).is_absolute() else Path(value)
                if not path.exists():
                    raise ScannerError(self.name, f"rule config not found: {value}")
            configs.append(str(path.resolve()))
            local_ids |= rule_ids(path)
        argv = [self.executable, "scan", "--json", "--metrics=off", "--disable-version-check",
                # nosemgrep results are reported with is_ignored and the policy decides.
                "--disable-nosem", "--quiet"]
        for c in configs:
            argv += ["--config", c]
        # semgrep's built-in ignore list knows .venv but not venv
        for e in (*NOT_PROJECT_DIRS, *ctx.exclude_dirs, *(opts.get("exclude") or [])):
            argv += ["--exclude", str(e)]
        if opts.get("no_git_ignore", True):
            argv.append("--no-git-ignore")
        argv += list(settings.extra_args)
        argv += [str(p) for p in opts.get("paths") or ["."]]
        env = {"SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off",
               # keep semgrep's settings/log files out of $HOME and out of each other's way
               "SEMGREP_SETTINGS_FILE": str(ctx.work_dir / "semgrep-settings.yml"),
               "SEMGREP_LOG_FILE": str(ctx.work_dir / "semgrep.log")}
        return [Job(name=self.name, scanner=self.name, argv=tuple(argv), env=env,
                    required=settings.required, timeout=settings.timeout,
                    meta={"rule_ids": sorted(local_ids)})]

    def version_argv(self) -> list[str]:
        return [self.executable, "--version", "--disable-version-check"]

    def parse_version(self, text: str) -> str | None:
        m = re.search(r"(\d+\.\d+\.\d+)", text)
        return m.group(1) if m else None

    def output_version(self, data: bytes) -> str | None:
        return version_in_json(data, "version")

    def preflight(self, job: Job, ctx: ScanContext) -> None:
        return None

    def parse(self, data: bytes, job: Job, ctx: ScanContext, version: str) -> Parsed:
        doc = load_json_object(data, self.name)
        results = require(doc, "results", list, self.name)
        errors = require(doc, "errors", list, self.name)
        warnings = []
        for e in errors:
            if not isinstance(e, dict):
                continue
            msg = " ".join(str(e.get("message", e.get("type", "?"))).split())
            if e.get("level") == "error":
                raise ScannerOutputError(self.name, f"reported an error: {msg[:300]}")
            warnings.append(msg[:300])
        ids = sorted(job.meta.get("rule_ids", ()), key=len, reverse=True)
        lines = ctx.lines()
        findings = []
        for i, r in enumerate(results):
            if not isinstance(r, dict):
                raise ScannerOutputError(self.name, f"unexpected output shape: results[{i}]")
            where = f"results[{i}]."
            check_id = require(r, "check_id", str, self.name, where)
            rule = next((x for x in ids if check_id == x or check_id.endswith("." + x)),
                        check_id)
            path = relpath(require(r, "path", str, self.name, where), ctx.root)
            start = require(require(r, "start", dict, self.name, where), "line", int, self.name)
            end = require(require(r, "end", dict, self.name, where), "line", int, self.name)
            extra = require(r, "extra", dict, self.name, where)
            meta: dict[str, Any] = extra["metadata"] if isinstance(extra.get("metadata"),
                                                                   dict) else {}
            source = lines.line_range(path, start, end)
            refs = meta.get("references") or []
            owasp = meta.get("owasp") or []
            idents = cwe_ids(meta.get("cwe")) + [
                "OWASP-" + str(o).split(" ")[0] for o in (owasp if isinstance(owasp, list)
                                                         else [owasp])]
            findings.append(code_finding(
                scanner=self.name, version=version, rule=rule, path=path, start=start, end=end,
                source=source, severity=severity_from_word(extra.get("severity")),
                confidence=confidence_from_word(meta.get("confidence")),
                title=rule, message=" ".join(str(extra.get("message", "")).split()),
                identifiers=tuple(idents),
                references=tuple(u for u in (refs if isinstance(refs, list) else [refs])
                                 if isinstance(u, str)),
                suppression=(Suppression(kind="inline", reason="# nosemgrep in source")
                             if extra.get("is_ignored") else None),
            ))
        return Parsed(findings=tuple(findings), raw_count=len(results), warnings=tuple(warnings))

    def redact(self, doc: Any) -> Any:
        if isinstance(doc, dict):
            for r in doc.get("results") or []:
                extra = r.get("extra") if isinstance(r, dict) else None
                if isinstance(extra, dict):
                    extra.pop("lines", None)
        return doc
