"""bandit: code security lint (category `code`)."""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import excludes as exclude
from ..errors import ScannerError, ScannerOutputError
from ..model import Category, Suppression
from ..titles import bandit_title
from .base import (
    BOOLEAN,
    FALSE_ONLY,
    NOT_PROJECT_DIRS,
    STRINGS,
    SUBSET,
    Job,
    Option,
    Parsed,
    ScanContext,
    Scanner,
    ScannerSettings,
    Weight,
    code_finding,
    confidence_from_word,
    cwe_ids,
    frozen,
    honoured_config,
    is_kind,
    kind_name,
    line_number,
    load_json_object,
    objects,
    one_of,
    optional,
    path_text,
    relpath,
    require,
    severity_from_word,
    shape_error,
)

# A tree with more Python than this, and more than all else, is led by bandit (lead_cost):
# LEADS is above every scanner's cost (trivy's 4).
LEAD_BYTES = 4 << 20
LEADS = 5
# bandit quotes the matched literal in these tests' messages: it may be a credential.
_QUOTES_VALUE = {"B105", "B106", "B107"}
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
# bandit's own defaults plus directories that are never the project's code, written as
# "*/NAME/*" globs: bandit turns a bare name that exists as a directory into "NAME/*",
# which never matches its "./NAME/..." paths.
_BANDIT_DEFAULTS = ("__pycache__", ".eggs", ".svn", "CVS", ".bzr", ".hg")
# Test code is skipped as semgrep's built-in list skips it (test/, tests/, testsuite/), so
# that the two agree: asserts (B101) and fixtures there never gate. Scan the test directory
# as its own root (`posture-gate scan tests`) to gate it.
DEFAULT_EXCLUDES = (*(f"*/{d}/*" for d in (*NOT_PROJECT_DIRS, *_BANDIT_DEFAULTS,
                                            *exclude.TEST_DIRS)), "*.egg")
_RANKS = frozenset({"UNDEFINED", "LOW", "MEDIUM", "HIGH"})
_NOSEC = re.compile(r"#\s*nosec\b:?\s*([A-Za-z0-9_, ]*)")


def redact_text(test_id: str, text: str) -> str:
    if test_id in _QUOTES_VALUE:
        return _QUOTED.sub("'[redacted]'", text)
    return text


class Bandit(Scanner):
    name = "bandit"
    executable = "bandit"
    distribution = "bandit"
    pin = "bandit==1.9.4"
    categories = (Category.CODE,)
    options = frozen({
        "paths": Option(schema=STRINGS, default=["."]),
        "exclude": Option(schema=STRINGS, trust=SUBSET, default=[]),
        "skip": Option(schema=STRINGS, trust=SUBSET, default=[]),
        "allow_parse_errors": Option(schema=BOOLEAN, trust=FALSE_ONLY, default=False),
    })
    presets = frozen({"default": {}, "strict": {}, "nightly": {"required": False}})
    gitlab_reports = frozenset({"sast"})
    information_uri = "https://bandit.readthedocs.io/"
    config_files = frozenset({".bandit", "pyproject.toml", "setup.cfg"})
    honourable = frozenset({".bandit", "pyproject.toml"})  # setup.cfg: never read
    merge_rank = 1
    cost = 3
    shardable = True  # single-threaded: the floor of a scan of a large Python tree
    # 0 no issues, 1 issues found; 2 is a usage/config error.
    ok_exit_codes = frozenset({0, 1})
    # -o writes a file; --ini, -c and -b read configuration or a baseline posture-gate
    # does not own; -p selects a profile from such a config file.
    forbidden_args = frozenset({"-o", "--output", "--ini", "-c", "--configfile", "-b",
                                "--baseline", "-p", "--profile"})
    tested_versions = frozenset({"1.9.4"})

    def lead_cost(self, tree: Weight | None) -> int:
        """Above trivy's on a large tree that is mostly Python: bandit, single-threaded, takes
        about 1.3 s a MB of it here, and trivy's time grows with the rest of the tree (its
        secret scan). Led by trivy, bandit started 10 nice levels down beside semgrep: yt-dlp
        (10.2 MB of Python, 2.2 MB else) took 17.58 s against 15.94 s led by bandit,
        interleaved, medians of 4; sqlmap (7.2 MB, 1.6 MB else; semgrep as long as bandit)
        was even. Where the rest of the tree is larger, trivy's scan of it is long too:
        pydantic-ai (19.5 MB, 167 MB else) took 19.3 s led by trivy against 22.2 s led by
        bandit, and paperless-ngx (4.2 MB, 105 MB else) 6.15 s against 6.34 s."""
        if tree is not None and tree.python > LEAD_BYTES and tree.python > tree.other:
            return LEADS
        return self.cost

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        opts = settings.options
        paths = [str(p) for p in opts.get("paths") or ["."]]
        argv = [self.executable, "-r", *paths, "-f", "json", "-q",
                # nosec lines are reported and marked suppressed by us, so the
                # policy (allow_inline_suppressions) decides whether they count.
                "--ignore-nosec"]
        # bandit os.walks its targets for a .bandit file and takes its options (skips,
        # excludes, even an output file): it always gets an ini file chosen here.
        ini = honoured_config(ctx, ".bandit")
        ini_opts = _ini_options(ini) if ini else {}
        argv += ["--ini", str(ini or _empty_ini(ctx.work_dir))]
        # pyproject.toml [tool.bandit] is read only when given with -c
        config = honoured_config(ctx, "pyproject.toml")
        if config:
            argv += ["-c", str(config)]
        # -x replaces bandit's default list, so ours always carries it along; and it
        # overrides an honoured .bandit's exclude, which is therefore added to it.
        excludes = [*DEFAULT_EXCLUDES, *exclude.bandit(ctx.exclude_dirs, root_relative=True),
                    *exclude.bandit(opts.get("exclude") or []),
                    *_split(ini_opts.get("exclude")),
                    *_outside_link_excludes(paths, ctx)]
        argv += ["-x", ",".join(excludes)]
        skips = [*(opts.get("skip") or []), *_split(ini_opts.get("skips"))] \
            if opts.get("skip") else []
        if skips:
            argv += ["-s", ",".join(skips)]
        argv += list(settings.extra_args)
        return [Job(name=self.name, scanner=self.name, argv=tuple(argv),
                    required=settings.required, timeout=settings.timeout,
                    meta={"allow_parse_errors": bool(opts.get("allow_parse_errors", False))})]

    def parse_version(self, text: str) -> str | None:
        m = re.search(r"bandit\s+(\d+\.\d+\.\d+\S*)", text)
        return m.group(1) if m else None

    def parse(self, data: bytes, job: Job, ctx: ScanContext, version: str, *,
              exit_code: int = 0) -> Parsed:
        doc = load_json_object(data, self.name)
        results = objects(require(doc, "results", list, self.name), self.name, "results")
        errors = objects(require(doc, "errors", list, self.name), self.name, "errors")
        _check_exit(exit_code, len(results), job.argv)
        _check_totals(require(doc, "metrics", dict, self.name), results, job.argv)
        warnings: list[str] = []
        problems = [f"{require(e, 'filename', str, self.name, f'errors[{i}].')}: "
                    f"{require(e, 'reason', str, self.name, f'errors[{i}].')}"
                    for i, e in enumerate(errors)]
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
            where = f"results[{i}]."
            test_id = require(r, "test_id", str, self.name, where)
            test_name = require(r, "test_name", str, self.name, where)
            filename = path_text(require(r, "filename", str, self.name, where), self.name,
                                 f"{where}filename")
            line = line_number(require(r, "line_number", int, self.name, where), self.name,
                               f"{where}line_number")
            line_range = require(r, "line_range", list, self.name, where)
            for n, x in enumerate(line_range):
                if not is_kind(x, int):
                    raise shape_error(self.name, f"{where}line_range[{n}] is {kind_name(x)}")
                line_number(x, self.name, f"{where}line_range[{n}]")
            end = max([line, *line_range])
            severity = one_of(require(r, "issue_severity", str, self.name, where), _RANKS,
                              self.name, f"{where}issue_severity")
            confidence = one_of(require(r, "issue_confidence", str, self.name, where), _RANKS,
                                self.name, f"{where}issue_confidence")
            text = require(r, "issue_text", str, self.name, where)
            more_info = optional(r, "more_info", str, self.name, where)
            cwe = optional(r, "issue_cwe", dict, self.name, where) or {}
            cwe_id = optional(cwe, "id", int, self.name, f"{where}issue_cwe.")
            path = relpath(filename, ctx.root)
            source = lines.line_range(path, line, end)
            findings.append(code_finding(
                scanner=self.name, version=version, rule=test_id, path=path, start=line,
                end=end, source=source,
                severity=severity_from_word(severity),
                confidence=confidence_from_word(confidence),
                title=bandit_title(test_id, test_name),
                message=redact_text(test_id, text),
                identifiers=tuple(cwe_ids(cwe_id)),
                references=(more_info,) if more_info else (),
                suppression=_inline(test_id, test_name, source),
            ))
        return Parsed(findings=tuple(findings), raw_count=len(results), warnings=tuple(warnings))

    def merge_raw(self, docs: list[Any]) -> Any:
        """One bandit report of its parts: results and errors in turn, per-file metrics
        side by side, _totals summed; a file a part was handed by name (bandit prints
        `././a.py`) spelled as the whole run's walk prints it (`./a.py`)."""
        def walked(path: str) -> str:
            return path[2:] if path.startswith("././") else path

        totals: dict[str, Any] = {}
        metrics: dict[str, Any] = {}
        for doc in docs:
            for name, value in doc["metrics"].items():
                if name != "_totals":
                    metrics[walked(name)] = value
            for k, v in doc["metrics"]["_totals"].items():
                totals[k] = totals.get(k, 0) + v if isinstance(v, int) else v
        return {**docs[0], "metrics": {**metrics, "_totals": totals},
                "results": [{**r, "filename": walked(r["filename"])}
                            for d in docs for r in d["results"]],
                "errors": [{**e, "filename": walked(e["filename"])}
                           for d in docs for e in d["errors"]]}

    def redact(self, doc: Any) -> Any:
        results = doc.get("results") if isinstance(doc, dict) else None
        for r in results if isinstance(results, list) else []:
            if isinstance(r, dict):
                r.pop("code", None)
                if isinstance(r.get("issue_text"), str):
                    r["issue_text"] = redact_text(str(r.get("test_id")), r["issue_text"])
        return doc

    def precommit(self, settings: ScannerSettings,
                  python_files: Sequence[str]) -> ScannerSettings | None:
        """Exactly the Python files being committed (none: not run)."""
        if not python_files:
            return None
        return replace(settings, options={**settings.options, "paths": list(python_files)})


def _given(argv: tuple[str, ...], short: str, *longs: str) -> bool:
    """Whether argv may carry the flag: `-l`, a cluster such as `-lli`, or a long option
    or the unambiguous prefix argparse also accepts (`--sev`)."""
    for arg in argv:
        name = arg.split("=", 1)[0]
        if name.startswith("--"):
            if len(name) > 3 and any(o.startswith(name) for o in longs):
                return True
        elif short and name.startswith("-") and short in name[1:]:
            return True
    return False


def _check_exit(exit_code: int, count: int, argv: tuple[str, ...]) -> None:
    """bandit exits 1 exactly when it prints results (the same severity and confidence
    filter picks both), 0 when it prints none; --exit-zero makes it always 0."""
    if exit_code == 1 and count == 0:
        raise ScannerOutputError("bandit", "exited 1 (issues found) but reported no results")
    if exit_code == 0 and count and not _given(argv, "", "--exit-zero"):
        raise ScannerOutputError("bandit", f"exited 0 (no issues) but reported {count} "
                                 "result(s)")
    if exit_code not in (0, 1):
        raise ScannerOutputError("bandit", f"exited with code {exit_code}")


def _check_totals(metrics: dict[str, Any], results: list[dict[str, Any]],
                  argv: tuple[str, ...]) -> None:
    """metrics._totals counts every issue bandit found per SEVERITY.x / CONFIDENCE.x rank;
    results are those issues at or above the severity and confidence levels asked for
    (default LOW: an UNDEFINED rank is left out). --ignore-nosec issues count in both."""
    totals = require(metrics, "_totals", dict, "bandit", "metrics.")
    counts: dict[str, dict[str, int]] = {}
    for crit, field in (("SEVERITY", "issue_severity"), ("CONFIDENCE", "issue_confidence")):
        row = counts[crit] = {}
        for rank in sorted(_RANKS):
            n = require(totals, f"{crit}.{rank}", int, "bandit", "metrics._totals.")
            if n < 0:
                raise shape_error("bandit", f"metrics._totals.{crit}.{rank} is {n}")
            row[rank] = n
            listed = sum(1 for r in results if r.get(field) == rank)
            if listed > n:
                raise ScannerOutputError(
                    "bandit", f"metrics._totals.{crit}.{rank} is {n} but {listed} result(s) "
                    f"have {field} {rank}")
    found = sum(counts["SEVERITY"].values())
    if found != sum(counts["CONFIDENCE"].values()):
        raise ScannerOutputError("bandit", "metrics._totals: SEVERITY and CONFIDENCE counts "
                                 "disagree")
    filtered = _given(tuple(argv), "l", "--severity-level") or \
        _given(tuple(argv), "i", "--confidence-level")
    # without a level filter only UNDEFINED-ranked issues may be left out of results
    hidden = counts["SEVERITY"]["UNDEFINED"] + counts["CONFIDENCE"]["UNDEFINED"]
    if not filtered and found - len(results) > hidden:
        raise ScannerOutputError("bandit", f"metrics._totals counts {found} issue(s) but "
                                 f"{len(results)} result(s) were reported")


def _empty_ini(work_dir: Path) -> Path:
    """An ini file with an empty [bandit] section: bandit then reads no .bandit."""
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / "bandit.ini"
    path.write_text("[bandit]\n", encoding="utf-8")
    return path


def _ini_options(path: Path) -> dict[str, str]:
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return {}
    return dict(parser.items("bandit")) if parser.has_section("bandit") else {}


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _glob_literal(text: str) -> str:
    """`text` as an fnmatch pattern matching only itself. bandit splits -x on commas, so
    a comma becomes `?` (any one character): _check_excludes catches the overmatch."""
    return "".join(f"[{c}]" if c in "*?[" else "?" if c == "," else c for c in text)


def _outside_link_excludes(targets: list[str], ctx: ScanContext) -> list[str]:
    """-x patterns for the file symlinks that lead outside the root, as bandit spells the
    paths it walks (`./src/x.py` under target `.`). bandit's os.walk does not enter a
    directory symlink, but it opens a file symlink (and walks a target that is a link).
    bandit also excludes every path that merely contains a pattern as a substring: the
    first character goes in brackets, which no real path contains, and _check_excludes
    proves that nothing else matches."""
    links = [rel for rel in ctx.outside_links if not (ctx.root / rel).is_dir()]
    leaving = [t for t in targets if not _resolves_inside(ctx.root, t)]
    if not links and not leaving:
        return []
    patterns: dict[str, str] = {}  # pattern -> the path it stands for
    for target in leaving:  # a policy path that is (or runs through) such a link
        patterns[_literal(target)] = patterns[_literal(target) + "/*"] = target
    walked = [t for t in targets if t not in leaving]
    for target in walked:
        base = os.path.normpath(target)
        for rel in links:
            if base != "." and not rel.startswith(base.rstrip("/") + "/"):
                continue
            inner = rel if base == "." else rel[len(base.rstrip("/")) + 1:]
            patterns[os.path.join(target, _literal(inner))] = rel
    _check_excludes(walked, patterns, ctx.root)
    return list(patterns)


def _literal(path: str) -> str:
    """_glob_literal, with the first character bracketed as well when it can be."""
    first = path[0]
    head = f"[{first}]" if first.isalnum() or first in "._-" else _glob_literal(first)
    return head + _glob_literal(path[1:])


def _resolves_inside(root: Path, target: str) -> bool:
    real = os.path.realpath(root / target)
    return real == str(root) or real.startswith(str(root).rstrip("/") + "/")


def _check_excludes(targets: list[str], patterns: dict[str, str], root: Path) -> None:
    """Walk the targets as bandit does and fail if an exclusion pattern would also drop a
    file that is not one of the links (a planted name must not hide real code)."""
    links = {os.path.normpath(str(root / rel)) for rel in patterns.values()}
    for target in targets:
        top = root / target
        for folder, _, files in os.walk(top):
            for name in files:
                real = os.path.normpath(os.path.join(folder, name))
                if real in links:
                    continue
                shown = os.path.join(target, os.path.relpath(real, top))
                for pattern, rel in patterns.items():
                    if fnmatch.fnmatch(shown, pattern) or pattern in shown:
                        raise ScannerError(
                            "bandit", f"cannot exclude {rel!r}, a symlink leading outside "
                            f"the scanned root, without also excluding {shown!r}",
                            "rename the symlink or remove it")


def _inline(test_id: str, test_name: str, source: str) -> Suppression | None:
    """bandit's own `# nosec` / `# nosec B602,B607` syntax on the flagged lines."""
    for m in _NOSEC.finditer(source):
        listed = {t.strip() for t in m.group(1).replace(",", " ").split() if t.strip()}
        if not listed or test_id in listed or test_name in listed:
            return Suppression(kind="inline", reason="# nosec in source")
    return None

