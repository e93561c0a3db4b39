"""zizmor: GitHub Actions workflows and action definitions (category `architecture`).

The CI pipeline is attack surface: a template injection runs an attacker's pull-request title
as shell, an unpinned action runs whatever its tag points to tomorrow. zizmor audits the
workflows (`.github/workflows/*.yml`) and action definitions (`action.yml`) the plan lists
itself, offline (`--offline`: no GitHub API, no network), with no configuration from the
tree (`--no-config`: its `zizmor.yml` / `.github/zizmor.yml` would disable audits) and with
its inline `# zizmor: ignore[...]` comments reported as suppressions for the policy to judge
(`--no-ignores`), as bandit's `# nosec` is. Its findings are misconfigurations of the build
system, beside trivy's misconfigurations of the deployment: category `architecture`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ScannerOutputError
from ..fingerprint import code_basis, snippet_hash
from ..model import Category, Confidence, Finding, Location, Severity, Suppression
from .base import (
    NOT_PROJECT_DIRS,
    Job,
    Parsed,
    ScanContext,
    Scanner,
    ScannerSettings,
    frozen,
    is_kind,
    kind_name,
    line_number,
    objects,
    one_of,
    optional,
    path_text,
    relpath,
    require,
    shape_error,
)
from .parsing import load_json

WORKFLOW_DIR = ".github/workflows"
_ACTION_FILES = frozenset({"action.yml", "action.yaml"})
_YAML = (".yml", ".yaml")
# zizmor's words, in its exit-code order: it exits 10 + the rank of the worst finding
_SEVERITY = {"Unknown": Severity.UNKNOWN, "Informational": Severity.INFO,
             "Low": Severity.LOW, "Medium": Severity.MEDIUM, "High": Severity.HIGH}
_RANK = {word: n for n, word in enumerate(_SEVERITY)}
_CONFIDENCE = {"Unknown": None, "Low": Confidence.LOW, "Medium": Confidence.MEDIUM,
               "High": Confidence.HIGH}
_KINDS = frozenset({"Primary", "Related", "Hidden"})
FINDINGS_EXIT = 10


class Zizmor(Scanner):
    name = "zizmor"
    executable = "zizmor"
    distribution = "zizmor"
    pin = "zizmor==1.32.0"
    tested_versions = frozenset({"1.32.0"})
    categories = (Category.ARCHITECTURE,)
    required_by_default = False  # optional unless a policy requires it
    presets = frozen({"default": {}, "strict": {}, "nightly": {}})
    gitlab_reports = frozenset({"sast"})
    information_uri = "https://docs.zizmor.sh/"
    config_files = frozenset({"zizmor.yml", "zizmor.yaml"})  # at the root or in .github/
    merge_rank = 4
    # 0: no findings; 10 + the worst finding's rank; 1 (failure) and 3 (no inputs) are not.
    ok_exit_codes = frozenset({0, *(FINDINGS_EXIT + r for r in _RANK.values())})
    forbidden_args = frozenset({
        # rewrite the scanned files, or pick an output other than the JSON parsed here
        "--fix", "--format", "--lsp", "--completions", "--no-exit-codes",
        # read configuration posture-gate does not own, choose inputs, reach GitHub
        "-c", "--config", "--collect", "--gh-token", "--gh-hostname", "--cache-dir"})

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        inputs = _inputs(ctx)
        if not inputs:
            return []  # no workflow or action in the tree: nothing for zizmor to audit
        argv = [self.executable, "--offline", "--no-config", "--no-ignores",
                "--strict-collection", "--no-progress", "--color", "never",
                "--format", "json", *settings.extra_args, "--", *inputs]
        return [Job(name=self.name, scanner=self.name, argv=tuple(argv),
                    env={"ZIZMOR_OFFLINE": "true"}, required=settings.required,
                    timeout=settings.timeout, meta={"inputs": inputs})]

    def parse(self, data: bytes, job: Job, ctx: ScanContext, version: str, *,
              exit_code: int = 0) -> Parsed:
        results = objects(load_json(data, self.name, list), self.name, "")
        worst = -1
        findings = []
        for i, r in enumerate(results):
            finding, rank = self._finding(r, f"[{i}].", ctx, version)
            worst = max(worst, rank)
            findings.append(finding)
        expected = 0 if worst < 0 else FINDINGS_EXIT + worst
        if exit_code != expected:
            raise ScannerOutputError(self.name, f"exited {exit_code} but reported "
                                     f"{len(results)} finding(s) (expected exit {expected})")
        return Parsed(findings=tuple(findings), raw_count=len(results))

    def _finding(self, r: dict[str, Any], where: str, ctx: ScanContext,
                 version: str) -> tuple[Finding, int]:
        ident = require(r, "ident", str, self.name, where)
        desc = require(r, "desc", str, self.name, where)
        url = require(r, "url", str, self.name, where)
        ignored = require(r, "ignored", bool, self.name, where)
        det = require(r, "determinations", dict, self.name, where)
        at = f"{where}determinations."
        severity = one_of(require(det, "severity", str, self.name, at), frozenset(_SEVERITY),
                          self.name, f"{at}severity")
        confidence = one_of(require(det, "confidence", str, self.name, at),
                            frozenset(_CONFIDENCE), self.name, f"{at}confidence")
        require(det, "persona", str, self.name, at)
        locations = objects(require(r, "locations", list, self.name, where), self.name,
                            f"{where}locations")
        primary = [_location(loc, f"{where}locations[{n}].", self.name)
                   for n, loc in enumerate(locations)]
        chosen = next((p for p in primary if p["kind"] == "Primary"), None)
        if chosen is None:
            raise shape_error(self.name, f"{where}locations has no Primary location")
        path = relpath(chosen["path"], ctx.root)
        note = chosen["annotation"]
        message = " ".join(f"{desc}: {note}".split()) if note else desc
        # the route (jobs.build.steps[0].uses) and the flagged text, not the line: a
        # finding keeps its fingerprint when lines are added above it
        content = snippet_hash(f"{chosen['route']}\n{chosen['feature']}")
        return Finding(
            fingerprint=code_basis(category="architecture", rule_key=f"zizmor:{ident}",
                                   path=path, content=content),
            content_hash=content,
            scanner=self.name,
            scanner_version=version,
            found_by=(self.name,),
            rule_id=ident,
            category=Category.ARCHITECTURE,
            severity=_SEVERITY[severity],
            confidence=_CONFIDENCE[confidence],
            title=" ".join(desc.split()),
            message=message,
            location=Location(path=path, start_line=chosen["start"], end_line=chosen["end"]),
            references=(url,),
            suppression=Suppression(kind="inline", reason="# zizmor: ignore[...] in source")
            if ignored else None,
        ), _RANK[severity]

    def redact(self, doc: Any) -> Any:
        """The workflow text zizmor quotes (`feature`, `comments`, a subfeature's
        fragment) is not kept."""
        for r in doc if isinstance(doc, list) else []:
            for loc in r.get("locations") or [] if isinstance(r, dict) else []:
                if not isinstance(loc, dict):
                    continue
                concrete, symbolic = loc.get("concrete"), loc.get("symbolic")
                if isinstance(concrete, dict):
                    concrete.pop("feature", None)
                    concrete.pop("comments", None)
                if isinstance(symbolic, dict) and isinstance(symbolic.get("feature_kind"), dict):
                    symbolic["feature_kind"] = "Subfeature"  # its fragment is workflow text
        return doc


def _inputs(ctx: ScanContext) -> list[str]:
    """Repo-relative workflows and action definitions, found here rather than by zizmor's
    own collection (which reads the tree's .gitignore): never through a link leading out
    of the root, never in a virtualenv, vendored or output directory."""
    skipped = set(ctx.exclude_dirs)
    outside = set(ctx.outside_links)
    found: list[str] = []
    for folder, dirs, files in os.walk(ctx.root):
        rel_dir = Path(folder).relative_to(ctx.root).as_posix()
        prefix = "" if rel_dir == "." else f"{rel_dir}/"
        dirs[:] = sorted(d for d in dirs if d not in NOT_PROJECT_DIRS
                         and f"{prefix}{d}" not in skipped)
        for name in sorted(files):
            rel = f"{prefix}{name}"
            if rel in outside:
                continue
            if name in _ACTION_FILES or (rel_dir == WORKFLOW_DIR and name.endswith(_YAML)):
                found.append(rel)
    return found


def _location(loc: dict[str, Any], where: str, scanner: str) -> dict[str, Any]:
    """One of zizmor's locations, type-checked: its file, lines (1-based), kind, route."""
    symbolic = require(loc, "symbolic", dict, scanner, where)
    at = f"{where}symbolic."
    key = require(symbolic, "key", dict, scanner, at)
    local = require(key, "Local", dict, scanner, f"{at}key.")
    path = path_text(require(local, "verbatim_path", str, scanner, f"{at}key.Local."),
                     scanner, f"{at}key.Local.verbatim_path")
    kind = one_of(require(symbolic, "kind", str, scanner, at), _KINDS, scanner, f"{at}kind")
    annotation = optional(symbolic, "annotation", str, scanner, at) or ""
    route = require(require(symbolic, "route", dict, scanner, at), "route", list, scanner,
                    f"{at}route.")
    for n, step in enumerate(route):
        if not isinstance(step, dict) or len(step) != 1 or \
                not is_kind(next(iter(step.values())), (str, int)):
            raise shape_error(scanner, f"{at}route.route[{n}] is {kind_name(step)}")
    concrete = require(loc, "concrete", dict, scanner, where)
    span = require(concrete, "location", dict, scanner, f"{where}concrete.")
    lines = []
    for point in ("start_point", "end_point"):
        p = require(span, point, dict, scanner, f"{where}concrete.location.")
        row = require(p, "row", int, scanner, f"{where}concrete.location.{point}.")
        column = require(p, "column", int, scanner, f"{where}concrete.location.{point}.")
        lines.append((line_number(row + 1, scanner, f"{where}concrete.location.{point}.row"),
                      column))
    (start, _), (end, end_column) = lines
    if end < start:
        raise shape_error(scanner, f"{where}concrete.location ends before it starts")
    if end_column == 0 and end > start:
        end -= 1  # the span ends at the start of the next line
    feature = require(concrete, "feature", str, scanner, f"{where}concrete.")
    return {"path": path, "kind": kind, "annotation": annotation, "start": start, "end": end,
            "route": ".".join(str(next(iter(s.values()))) for s in route), "feature": feature}
