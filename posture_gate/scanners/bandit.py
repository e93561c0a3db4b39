"""bandit: code security lint (category `code`)."""

from __future__ import annotations

import re
from typing import Any

from ..errors import ScannerOutputError
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
)

# bandit quotes the matched literal in these tests' messages: it may be a credential.
_QUOTES_VALUE = {"B105", "B106", "B107"}
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
# bandit's own defaults plus directories that are never the project's code, written as
# "*/NAME/*" globs: bandit turns a bare name that exists as a directory into "NAME/*",
# which never matches its "./NAME/..." paths.
_BANDIT_DEFAULTS = ("__pycache__", ".eggs", ".svn", "CVS", ".bzr", ".hg")
DEFAULT_EXCLUDES = (*(f"*/{d}/*" for d in (*NOT_PROJECT_DIRS, *_BANDIT_DEFAULTS)), "*.egg")
_NOSEC = re.compile(r"#\s*nosec\b:?\s*([A-Za-z0-9_, ]*)")


def redact_text(test_id: str, text: str) -> str:
    if test_id in _QUOTES_VALUE:
        return _QUOTED.sub("'[redacted]'", text)
    return text


class Bandit:
    name = "bandit"
    executable = "bandit"
    distribution: str | None = "bandit"
    # 0 no issues, 1 issues found; 2 is a usage/config error.
    ok_exit_codes = frozenset({0, 1})
    forbidden_args = frozenset({"-o", "--output", "--ini", "-c", "--configfile", "-b",
        "--baseline"})
    tested_versions = frozenset({"1.9.4"})

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        opts = settings.options
        paths = [str(p) for p in opts.get("paths") or ["."]]
        argv = [self.executable, "-r", *paths, "-f", "json", "-q",
                # nosec lines are reported and marked suppressed by us, so the
                # policy (allow_inline_suppressions) decides whether they count.
                "--ignore-nosec"]
        # -x replaces bandit's default list, so ours always carries it along.
        excludes = [*DEFAULT_EXCLUDES, *(f"*/{d}/*" for d in ctx.exclude_dirs),
                    *(str(e) for e in opts.get("exclude") or [])]
        argv += ["-x", ",".join(excludes)]
        if opts.get("skip"):
            argv += ["-s", ",".join(opts["skip"])]
        argv += list(settings.extra_args)
        return [Job(name=self.name, scanner=self.name, argv=tuple(argv),
                    required=settings.required, timeout=settings.timeout,
                    meta={"allow_parse_errors": bool(opts.get("allow_parse_errors", False))})]

    def version_argv(self) -> list[str]:
        return [self.executable, "--version"]

    def parse_version(self, text: str) -> str | None:
        m = re.search(r"bandit\s+(\d+\.\d+\.\d+\S*)", text)
        return m.group(1) if m else None

    def output_version(self, data: bytes) -> str | None:
        return None  # not in bandit's JSON

    def preflight(self, job: Job, ctx: ScanContext) -> None:
        return None

    def parse(self, data: bytes, job: Job, ctx: ScanContext, version: str) -> Parsed:
        doc = load_json_object(data, self.name)
        results = require(doc, "results", list, self.name)
        errors = require(doc, "errors", list, self.name)
        warnings: list[str] = []
        problems = [f"{e.get('filename', '?')}: {e.get('reason', '?')}"
                    for e in errors if isinstance(e, dict)]
        if problems:
            if not job.meta.get("allow_parse_errors"):
                raise ScannerOutputError(
                    self.name, f"could not analyse {len(problems)} file(s): {problems[0]}",
                    "files bandit cannot parse are not scanned; fix them or set "
                    "bandit.allow_parse_errors: true",
                )
            warnings += [f"not analysed: {p}" for p in problems]
        lines = ctx.lines()
        findings = []
        for i, r in enumerate(results):
            if not isinstance(r, dict):
                raise ScannerOutputError(self.name, f"unexpected output shape: results[{i}]")
            where = f"results[{i}]."
            test_id = require(r, "test_id", str, self.name, where)
            filename = require(r, "filename", str, self.name, where)
            line = require(r, "line_number", int, self.name, where)
            line_range = r.get("line_range") or [line]
            end = max(x for x in line_range if isinstance(x, int)) if line_range else line
            path = relpath(filename, ctx.root)
            source = lines.line_range(path, line, end)
            cwe = r.get("issue_cwe") or {}
            findings.append(code_finding(
                scanner=self.name, version=version, rule=test_id, path=path, start=line,
                end=end, source=source,
                severity=severity_from_word(r.get("issue_severity")),
                confidence=confidence_from_word(r.get("issue_confidence")),
                title=str(r.get("test_name") or test_id),
                message=redact_text(test_id, str(r.get("issue_text", ""))),
                identifiers=tuple(cwe_ids(cwe.get("id") if isinstance(cwe, dict) else None)),
                references=tuple(u for u in (r.get("more_info"),) if isinstance(u, str)),
                suppression=_inline(test_id, str(r.get("test_name", "")), source),
            ))
        return Parsed(findings=tuple(findings), raw_count=len(results), warnings=tuple(warnings))

    def redact(self, doc: Any) -> Any:
        if isinstance(doc, dict):
            for r in doc.get("results") or []:
                if isinstance(r, dict):
                    r.pop("code", None)
                    if isinstance(r.get("issue_text"), str):
                        r["issue_text"] = redact_text(str(r.get("test_id")), r["issue_text"])
        return doc


def _inline(test_id: str, test_name: str, source: str) -> Suppression | None:
    """bandit's own `# nosec` / `# nosec B602,B607` syntax on the flagged lines."""
    for m in _NOSEC.finditer(source):
        listed = {t.strip() for t in m.group(1).replace(",", " ").split() if t.strip()}
        if not listed or test_id in listed or test_name in listed:
            return Suppression(kind="inline", reason="# nosec in source")
    return None

