"""semgrep: code security lint with local rule files (category `code`)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from .. import excludes as exclude
from .. import priority, yamlfast
from ..errors import ScannerError, ScannerOutputError
from ..model import Category, Suppression
from ..textutil import one_line
from ..titles import semgrep_title
from .base import (
    BOOLEAN,
    FALSE_ONLY,
    NOT_PROJECT_DIRS,
    STRINGS,
    SUBSET,
    SUPERSET,
    TRUE_ONLY,
    Job,
    Option,
    Parsed,
    Refusal,
    ScanContext,
    Scanner,
    ScannerSettings,
    code_finding,
    confidence_from_word,
    cwe_ids,
    forbidden_arg,
    frozen,
    line_number,
    load_json_object,
    objects,
    one_of,
    optional,
    path_text,
    relpath,
    require,
    severity_from_word,
    strings,
    version_in_json,
)
from .semgrep_errors import error_kind, explain

BUNDLED = "bundled"  # policy shorthand for the rule pack shipped in the package


def bundled_rules() -> Path:
    return Path(str(resources.files("posture_gate") / "rules" / "semgrep" / "python.yml"))


# semgrep 1.185.0's built-in ignore list (used when no .semgrepignore is read), from its
# semgrep-core; gitignore syntax.
DEFAULT_IGNORES = (".git", ".svn", ".hg", "_darcs", "CVS", "build/", "vendor/", "dist/",
                   "*.min.js", ".env/", ".tox/", "node_modules/", ".npm/", ".yarn/", ".venv/",
                   "_opam/", "_build/", "_cargo/", "test/", "tests/", "testsuite/",
                   "*_test.go")
_GITIGNORE_SPECIAL = re.compile(r"([\\*?\[\]!# ])")


def _gitignore_literal(rel: str) -> str:
    """A repo-relative path as a gitignore pattern matching only itself."""
    return _GITIGNORE_SPECIAL.sub(r"\\\1", rel)


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
            doc = yamlfast.safe_load(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yamlfast.Error):
            continue  # semgrep itself refuses the file, and the scan fails with its reason
        ids |= _ids(doc)
    return ids


def _ids(doc: Any) -> set[str]:
    return {rule["id"] for rule in ((doc or {}).get("rules", []) if isinstance(doc, dict)
                                    else []) if isinstance(rule, dict)
            and isinstance(rule.get("id"), str)}


def bundled_as_json(work_dir: Path) -> tuple[Path, set[str]]:
    """The bundled pack rendered as JSON in the scan's work dir, and its rule ids. semgrep
    parses a YAML config with a pure-Python YAML 1.2 parser and dumps it again (~0.1-0.2 s
    of the lead job); a .json one with json. Our own pack only: a test checks that semgrep's
    parser reads it exactly as ours does. The name carries the content digest, so the
    result cache's key (which reads argv, not files in the work dir) follows the rules."""
    doc = yamlfast.safe_load(bundled_rules().read_text(encoding="utf-8"))
    data = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()
    path = work_dir / "semgrep-rules" / f"bundled-{hashlib.sha256(data).hexdigest()[:16]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, _ids(doc)


# semgrep's OCaml command line (osemgrep, semgrep-core run under that name), not its Python
# one: the `semgrep` script execs semgrep-core, which for `scan` execs pysemgrep, whose
# imports alone cost ~1 s of CPU before any work. osemgrep gives the same results, errors
# and paths for every option the plan passes (tests/scanners/test_semgrep_engine.py);
# djangogirls: 1.91 -> 0.55 s wall, 2.2 -> 0.8 s CPU.
ENGINE = ("scan", "--experimental")


def jobs() -> int:
    """semgrep's parallelism: half the cores this process may run on. Its default, every
    core, runs OCaml domains that share one heap and collect it together: on 2 cores -j 2
    spent 60 % more CPU than -j 1 for 3 % less wall (semgrep alone on 1,011 files: 15.5 vs
    9.8 s CPU, 8.8 vs 9.0 s), and beside the other scanners a scan is CPU bound."""
    return max(1, priority.cores() // 2)


def _sets_jobs(args: Sequence[str]) -> bool:
    # the forbidden-flag reader knows every spelling (-j 3, -j3, --jobs=3, a cluster); two
    # -j flags are refused by semgrep: the scan would fail, not run slower
    return forbidden_arg(args, frozenset({"-j", "--jobs"})) is not None


# semgrep's error levels, and its severity words (legacy and the newer five-level scale)
_LEVELS = frozenset({"error", "warn", "info"})
_SEVERITIES = frozenset({"ERROR", "WARNING", "INFO", "INVENTORY", "EXPERIMENT", "CRITICAL",
                         "HIGH", "MEDIUM", "LOW"})


def _str_or_strings(meta: dict[str, Any], key: str, scanner: str, where: str) -> list[str]:
    """A rule metadata field that rule authors write as one string or a list of them."""
    value = optional(meta, key, (str, list), scanner, where)
    if value is None:
        return []
    return [value] if isinstance(value, str) else strings(value, scanner, f"{where}{key}")


class Semgrep(Scanner):
    name = "semgrep"
    executable = "semgrep"
    distribution = "semgrep"
    pin = "semgrep==1.185.0"
    categories = (Category.CODE,)
    options = frozen({
        "config": Option(schema=STRINGS, trust=SUPERSET, default=[BUNDLED]),
        "paths": Option(schema=STRINGS, default=["."]),
        "exclude": Option(schema=STRINGS, trust=SUBSET, default=[]),
        "no_git_ignore": Option(schema=BOOLEAN, trust=TRUE_ONLY, default=True),
        "allow_analysis_errors": Option(schema=BOOLEAN, trust=FALSE_ONLY, default=False),
    })
    presets = frozen({"default": {"config": [BUNDLED]}, "strict": {"config": [BUNDLED]},
               "nightly": {"required": False, "config": [BUNDLED]}})
    gitlab_reports = frozenset({"sast"})
    information_uri = "https://semgrep.dev/"
    config_files = honourable = frozenset({".semgrepignore"})
    merge_rank = 2
    cost = 2  # as osemgrep, behind trivy and bandit on every tree measured
    # Run without --error: 0 means the scan completed whatever it found.
    ok_exit_codes = frozenset({0})
    forbidden_args = frozenset({
        # write files (or post to a URL: -o) or rewrite the scanned sources (--autofix)
        "-o", "--output", "--emacs-output", "--gitlab-sast-output", "--gitlab-secrets-output",
        "--json-output", "--junit-xml-output", "--sarif-output", "--text-output",
        "--vim-output", "-a", "--autofix", "--dryrun", "--no-dryrun",
        # fetch rules, engines or data, or send anything over the network
        "--config", "-c", "-f", "--remote", "--validate", "--pro", "--pro-intrafile",
        "--pro-languages", "--pro-path-sensitive", "--secrets", "--historical-secrets",
        "--allow-untrusted-validators", "--allow-local-builds", "--metrics",
        "--enable-version-check", "--trace", "--trace-endpoint", "--baseline-commit",
        # osemgrep's own: profiles sent to a server, transitive reachability, "living on
        # the edge", and --legacy, which swaps the engine the plan was tested with
        "--profile", "--x-tr", "--x-enable-transitive-reachability", "--develop", "--legacy",
        # read configuration from the tree: ignore files, .gitignore, nosemgrep comments
        "--project-root", "--x-semgrepignore-filename", "--use-git-ignore", "--enable-nosem",
        "--semgrepignore-v2", "--novcs"})
    tested_versions = frozenset({"1.185.0"})

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        opts = settings.options
        configs: list[str] = []
        local_ids: set[str] = set()
        for raw in opts.get("config") or [BUNDLED]:
            value = str(raw)
            if value == BUNDLED:
                rendered, ids = bundled_as_json(ctx.work_dir)
                configs.append(str(rendered))
                local_ids |= ids
                continue
            if _is_registry(value):
                configs.append(value)
                continue
            else:
                path = (ctx.root / value) if not Path(value).is_absolute() else Path(value)
                if not path.exists():
                    raise ScannerError(self.name, f"rule config not found: {value}")
            configs.append(str(path.resolve()))
            local_ids |= rule_ids(path)
        # a trusted policy's -j wins (and is keyed: it is the policy's); ours goes first, so
        # the cache key finds it before anything a policy or a narrowed run could add
        speed = () if _sets_jobs(settings.extra_args) else ("--jobs", str(jobs()))
        argv = [self.executable, *ENGINE, *speed, "--json", "--metrics=off",
                "--disable-version-check",
                # nosemgrep results are reported with is_ignored and the policy decides.
                "--disable-nosem", "--quiet"]
        for c in configs:
            argv += ["--config", c]
        reads_all = forbidden_arg(settings.extra_args, frozenset({"--max-target-bytes"})) is None
        if reads_all:
            # semgrep passes over a file above 1 MB with no error, and the tree could hide
            # code from every rule in one: each file is read (one too big or too odd for
            # its rules times out, which fails the run: allow_analysis_errors)
            argv += ["--max-target-bytes", "0"]
        # semgrep's built-in ignore list knows .venv but not venv
        for e in (*NOT_PROJECT_DIRS, *exclude.semgrep(ctx.exclude_dirs, root_relative=True),
                  *exclude.semgrep(opts.get("exclude") or [])):
            argv += ["--exclude", str(e)]
        if ".semgrepignore" not in ctx.honor_repo_config:
            # semgrep reads every .semgrepignore in the tree (the root's replaces its
            # built-in list); this flag drops them all and the built-in list with them,
            # so that list is given back as excludes (the tree cannot unsay it either).
            argv.append("--x-ignore-semgrepignore-files")
            for e in DEFAULT_IGNORES:
                argv += ["--exclude", e]
        if opts.get("no_git_ignore", True):
            argv.append("--no-git-ignore")
        if opts.get("no_git_ignore", True) or ctx.outside_links:
            # the project is the scanned root: no ignore file above it is read, and the
            # anchored excludes below are relative to it (not to an enclosing git repo)
            argv += ["--project-root", "."]
        # semgrep 1.185.0 follows no symlink; excluded all the same should that change
        for rel in ctx.outside_links:
            argv += ["--exclude", "/" + _gitignore_literal(rel)]
        argv += list(settings.extra_args)
        argv += [str(p) for p in opts.get("paths") or ["."]]
        env = {"SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off",
               "NO_COLOR": "1",
               # keep semgrep's settings/log files out of $HOME and out of each other's way
               "SEMGREP_SETTINGS_FILE": str(ctx.work_dir / "semgrep-settings.yml"),
               "SEMGREP_LOG_FILE": str(ctx.work_dir / "semgrep.log")}
        return [Job(name=self.name, scanner=self.name, argv=tuple(argv), env=env,
                    required=settings.required, timeout=settings.timeout,
                    meta={"rule_ids": sorted(local_ids), "allow_analysis_errors":
                          bool(opts.get("allow_analysis_errors", False)),
                          "reads_every_file": reads_all},
                    speed_args=speed)]

    def precommit(self, settings: ScannerSettings,
                  python_files: Sequence[str]) -> ScannerSettings | None:
        """Exactly the Python files being committed (none: not run). It costs the hook
        semgrep's start-up (~0.3 s), but without it a finding bandit rates low and the
        full scan rates high once merged with semgrep's (B105 + pg-hardcoded-password)
        would pass the commit and fail CI."""
        if not python_files:
            return None
        return replace(settings, options={**settings.options, "paths": list(python_files)})

    def explain_failure(self, stderr: str) -> str | None:
        return explain(stderr)

    def version_argv(self) -> list[str]:
        return [self.executable, "--version", "--disable-version-check"]

    def parse_version(self, text: str) -> str | None:
        m = re.search(r"(\d+\.\d+\.\d+)", text)
        return m.group(1) if m else None

    def output_version(self, data: bytes) -> str | None:
        return version_in_json(data, "version")

    def parse(self, data: bytes, job: Job, ctx: ScanContext, version: str, *,
              exit_code: int = 0) -> Parsed:
        doc = load_json_object(data, self.name)
        results = objects(require(doc, "results", list, self.name), self.name, "results")
        errors = objects(require(doc, "errors", list, self.name), self.name, "errors")
        if exit_code != 0:  # run without --error: any other code is a failure
            raise ScannerOutputError(self.name, f"exited with code {exit_code}")
        warnings: list[str] = []
        unanalysed: dict[str, list[str]] = {}  # path: what semgrep said of it
        for i, e in enumerate(errors):
            where = f"errors[{i}]."
            level = one_of(require(e, "level", str, self.name, where), _LEVELS, self.name,
                           f"{where}level")
            message = optional(e, "message", str, self.name, where)
            path = optional(e, "path", str, self.name, where)
            kind = error_kind(e)
            msg = one_line(message if message is not None else kind or "?")
            if level == "error":
                raise ScannerOutputError(self.name, f"reported an error: {msg}")
            # a file a rule timed out on, ran out of memory on, or could not (wholly) parse
            # was not analysed: the file the code under review can plant to hide in
            if path is not None:
                unanalysed.setdefault(path, []).append(msg)
            else:
                warnings.append(msg)
        if unanalysed and not job.meta.get("allow_analysis_errors"):
            first = next(iter(unanalysed.values()))[0]
            raise ScannerOutputError(
                self.name, f"could not analyse {len(unanalysed)} file(s): {first}",
                "what semgrep could not analyse is not scanned; fix the file, raise its "
                "--timeout, or set semgrep.allow_analysis_errors: true")
        warnings += [f"not analysed: {m}" for ms in unanalysed.values() for m in ms]
        ids = sorted(job.meta.get("rule_ids", ()), key=len, reverse=True)
        lines = ctx.lines()
        findings = []
        for i, r in enumerate(results):
            where = f"results[{i}]."
            check_id = require(r, "check_id", str, self.name, where)
            rule = next((x for x in ids if check_id == x or check_id.endswith("." + x)),
                        check_id)
            path = relpath(path_text(require(r, "path", str, self.name, where), self.name,
                                     f"{where}path"), ctx.root)
            start = line_number(require(require(r, "start", dict, self.name, where), "line",
                                        int, self.name, f"{where}start."), self.name,
                                f"{where}start.line")
            end = line_number(require(require(r, "end", dict, self.name, where), "line", int,
                                      self.name, f"{where}end."), self.name,
                              f"{where}end.line")
            extra = require(r, "extra", dict, self.name, where)
            severity = one_of(require(extra, "severity", str, self.name, f"{where}extra."),
                              _SEVERITIES, self.name, f"{where}extra.severity")
            message = require(extra, "message", str, self.name, f"{where}extra.")
            ignored = optional(extra, "is_ignored", bool, self.name, f"{where}extra.")
            meta: dict[str, Any] = optional(extra, "metadata", dict, self.name,
                                            f"{where}extra.") or {}
            at = f"{where}extra.metadata."
            refs = _str_or_strings(meta, "references", self.name, at)
            owasp = _str_or_strings(meta, "owasp", self.name, at)
            cwe = _str_or_strings(meta, "cwe", self.name, at)
            confidence = optional(meta, "confidence", str, self.name, at)
            source = lines.line_range(path, start, end)
            idents = cwe_ids(cwe) + ["OWASP-" + o.split(" ")[0] for o in owasp]
            findings.append(code_finding(
                scanner=self.name, version=version, rule=rule, path=path, start=start, end=end,
                source=source, severity=severity_from_word(severity),
                confidence=confidence_from_word(confidence),
                title=semgrep_title(rule, message), message=" ".join(message.split()),
                identifiers=tuple(idents),
                references=tuple(refs),
                suppression=(Suppression(kind="inline", reason="# nosemgrep in source")
                             if ignored else None),
            ))
        # coverage's "too large" (a file over semgrep's size limit) is no reason under none
        reads_all = {"reads_every_file": True} if job.meta.get("reads_every_file") else {}
        return Parsed(findings=tuple(findings), raw_count=len(results), warnings=tuple(warnings),
                      properties=reads_all)

    def redact(self, doc: Any) -> Any:
        results = doc.get("results") if isinstance(doc, dict) else None
        for r in results if isinstance(results, list) else []:
            extra = r.get("extra") if isinstance(r, dict) else None
            if isinstance(extra, dict):
                extra.pop("lines", None)
        return doc

    def local_refusals(self, trusted: Mapping[str, Any],
                       local: Mapping[str, Any]) -> list[Refusal]:
        """Rules from the registry or a URL reach the network: trusted policy only."""
        return [(("config", i), "rules from the semgrep registry or a URL reach the network; "
                 "only the trusted policy may name them")
                for i, cfg in enumerate(local.get("config") or [])
                if _is_registry(str(cfg)) and cfg not in (trusted.get("config") or [])]
