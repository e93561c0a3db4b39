"""The base class every scanner adapter derives from, and what it receives.

A scanner is one module: its class declares everything the rest of posture-gate needs to
know about the tool (policy options and their trust rules, categories, GitLab report kinds,
SARIF information URI, merge rank, freshness labels, pin, preset blocks, the pre-commit
hook's narrowing), and overrides only the hooks whose defaults do not fit.
tests/scanners/test_registry.py walks every registered scanner through every hook point.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from ..advisories import AdvisoryDB
from ..fingerprint import SourceLines
from ..model import Category, Finding, ScannerRun
from .parsing import NOT_PROJECT_DIRS as NOT_PROJECT_DIRS
from .parsing import code_finding as code_finding
from .parsing import confidence_from_word as confidence_from_word
from .parsing import cwe_ids as cwe_ids
from .parsing import forbidden_arg as forbidden_arg
from .parsing import is_kind as is_kind
from .parsing import kind_name as kind_name
from .parsing import line_number as line_number
from .parsing import load_json_object as load_json_object
from .parsing import objects as objects
from .parsing import one_of as one_of
from .parsing import optional as optional
from .parsing import path_text as path_text
from .parsing import relpath as relpath
from .parsing import require as require
from .parsing import severity_from_score as severity_from_score
from .parsing import severity_from_word as severity_from_word
from .parsing import shape_error as shape_error
from .parsing import strings as strings
from .parsing import version_in_json as version_in_json


@dataclass(frozen=True)
class Weight:
    """Bytes of Python source and of every other file the scanners may read (a tree
    snapshot's: treedigest.weight): which scanner is likely to run longest on the tree
    (Scanner.lead_cost)."""

    python: int
    other: int


@dataclass(frozen=True, kw_only=True)
class ScannerSettings:
    """One scanner's block of the policy, after validation."""

    name: str
    enabled: bool = True
    required: bool = True
    timeout: float = 600.0
    extra_args: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ScanContext:
    root: Path
    work_dir: Path  # private scratch space (caches) for this scan
    osv_url: str | None = None  # set when posture-gate serves --advisories itself
    advisories: AdvisoryDB | None = None  # local OSV records (--advisories), for severity
    images: tuple[str, ...] = ()
    source: SourceLines | None = None
    # Repo-relative directories that are posture-gate's own output (reports, history):
    # never scanned, or each run would scan the last one's reports.
    exclude_dirs: tuple[str, ...] = ()
    # Config / ignore files in the tree that a trusted policy lets the scanners read
    # (`honor_repo_config`); every other one is neutralized (docs/security.md).
    honor_repo_config: frozenset[str] = frozenset()
    # Repo-relative symlinks that resolve outside the root: no scanner may follow them
    # (repoconfig.inspect_tree finds them; each plan excludes them).
    outside_links: tuple[str, ...] = ()
    # How many scanners this scan runs at once: the parts of a split job (shards.py) take
    # cores the others would have had.
    scanners: int = 1

    def lines(self) -> SourceLines:
        return self.source or SourceLines(self.root)


def honoured_config(ctx: ScanContext, name: str) -> Path | None:
    """The root's config file `name` when a trusted policy lets its scanner read it."""
    path = ctx.root / name
    return path if name in ctx.honor_repo_config and path.is_file() else None


@dataclass(frozen=True, kw_only=True)
class Job:
    """One planned invocation. A scanner may plan several (trivy fs + trivy image)."""

    name: str
    scanner: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    required: bool = True
    timeout: float = 600.0
    meta: Mapping[str, Any] = field(default_factory=dict)
    # Where it runs; None: the scanned root. A job that does not need the tree as its working
    # directory runs elsewhere, so nothing the tree holds is importable from its cwd.
    cwd: Path | None = None
    # What sets how fast the tool runs, never what it finds (semgrep's --jobs N, a run of
    # argv; trivy's GOGC, env names): the result cache's key leaves it out, so a runner
    # with other cores or memory reuses the entry.
    speed_args: tuple[str, ...] = ()
    speed_env: frozenset[str] = frozenset()

    @property
    def result_argv(self) -> tuple[str, ...]:
        """argv less its speed_args run: the first one, as plans put it before anything a
        policy's arguments (or a narrowed run's) could make look alike."""
        n, argv = len(self.speed_args), self.argv
        for at in range(len(argv) - n + 1) if n else ():
            if argv[at:at + n] == self.speed_args:
                return argv[:at] + argv[at + n:]
        return argv


@dataclass(frozen=True, kw_only=True)
class Parsed:
    findings: tuple[Finding, ...]
    raw_count: int
    warnings: tuple[str, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)



@dataclass(frozen=True, kw_only=True)
class Enriched:
    """What a scanner's enrichment step (after parse, on its own time budget) adds."""

    findings: tuple[Finding, ...]
    warnings: tuple[str, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)


# How a repository-local policy's value may differ from the trusted one (policy/trust.py).
# EQUAL: only the trusted policy may set it (fail closed: the default for a new option).
SUBSET, SUPERSET, EQUAL, LOWER, HIGHER, TRUE_ONLY, FALSE_ONLY = (
    "subset", "superset", "equal", "lower", "higher", "true-only", "false-only")
TRUST_RULES = frozenset({SUBSET, SUPERSET, EQUAL, LOWER, HIGHER, TRUE_ONLY, FALSE_ONLY})

# JSON-schema fragments the options share
STRINGS: Mapping[str, Any] = {"type": "array", "items": {"type": "string", "minLength": 1}}
BOOLEAN: Mapping[str, Any] = {"type": "boolean"}
STRING: Mapping[str, Any] = {"type": "string"}


@dataclass(frozen=True, kw_only=True)
class Option:
    """One key of a scanner's policy block (besides enabled/required/optional/timeout/args)."""

    schema: Mapping[str, Any]  # its JSON-schema fragment, merged into policy-v1 at load
    trust: str = EQUAL  # how a repository-local policy may differ from the trusted one
    default: Any = None  # what the scanner does when the key is not written
    path: bool = False  # a path, relative to the policy file that wrote it


def frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """A class-level declaration nobody can change at run time."""
    return MappingProxyType(dict(mapping))


Refusal = tuple[tuple[str | int, ...], str]  # (key inside the scanner's block, why)


class Scanner:
    """Override what differs; every default here is what most tools need."""

    name: ClassVar[str]
    executable: ClassVar[str]
    # The Python distribution that ships it (dist-info name), None for a binary whose
    # version comes from its output or --version.
    distribution: ClassVar[str | None] = None
    pin: ClassVar[str]  # its requirement in pyproject.toml's `scanners` extra
    tested_versions: ClassVar[frozenset[str]]
    ok_exit_codes: ClassVar[frozenset[int]] = frozenset({0})
    # Flags refused in a policy's `args`, even a trusted one: they make the tool write files,
    # fetch remote configuration, or read configuration posture-gate does not own.
    forbidden_args: ClassVar[frozenset[str]] = frozenset()
    categories: ClassVar[tuple[Category, ...]]  # what it can cover
    options: ClassVar[Mapping[str, Option]] = {}
    required_by_default: ClassVar[bool] = True  # False: optional unless a policy says so
    # preset name -> this scanner's block in it (absent: not in that preset)
    presets: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    gitlab_reports: ClassVar[frozenset[str]] = frozenset()  # GitLab report types it feeds
    information_uri: ClassVar[str]  # SARIF tool.driver.informationUri
    # Merge survivor order (merge.py): lower wins, so fingerprints do not flip between runs.
    merge_rank: ClassVar[int]
    # How long a run usually takes next to the others (a rank, higher is longer): scanners
    # are planned and started in this order (runner.launch_order), the longest job first
    # and at full CPU priority, the rest lowered (runner.run_all).
    cost: ClassVar[int] = 1
    # A whole-tree run may be split into parts over disjoint subtrees, run at once and
    # their raw outputs merged (merge_raw): shards.py
    shardable: ClassVar[bool] = False
    # ScannerRun property -> label, for the data-freshness lines of the reports
    freshness: ClassVar[Mapping[str, str]] = {}
    # Configuration and ignore files the tool would read from the scanned tree (by file
    # name): the plan neutralizes them and the run lists each one present (repoconfig.py).
    config_files: ClassVar[frozenset[str]] = frozenset()
    # Those a trusted policy may hand it after all (`honor_repo_config`).
    honourable: ClassVar[frozenset[str]] = frozenset()

    def plan(self, settings: ScannerSettings, ctx: ScanContext) -> list[Job]:
        """The invocations to run: argv lists, never a shell string."""
        raise NotImplementedError

    def parse(self, data: bytes, job: Job, ctx: ScanContext, version: str, *,
              exit_code: int = 0) -> Parsed:
        """The tool's JSON -> findings. Raise ScannerOutputError on anything unexpected,
        including output that contradicts `exit_code` (the tool's own exit status)."""
        raise NotImplementedError

    def job_categories(self, job: Job | None) -> tuple[Category, ...]:
        """The categories this job reports on (None: what the scanner can cover).
        A gated category whose every covering job failed cannot be evaluated."""
        return self.categories

    def lead_cost(self, tree: Weight | None) -> int:
        """`cost` on this tree (None: not weighed; the result cache is off)."""
        return self.cost

    def version_argv(self) -> list[str]:
        return [self.executable, "--version"]

    def parse_version(self, text: str) -> str | None:
        m = re.search(r"(\d+\.\d+\.\d+\S*)", text)
        return m.group(1) if m else None

    def output_version(self, data: bytes) -> str | None:
        """The tool's version when its own output carries it (saves a `--version` run)."""
        return None

    def preflight(self, job: Job, ctx: ScanContext) -> None:
        """Raise ScannerError when the job cannot possibly succeed (e.g. no trivy DB)."""
        return None

    def explain_failure(self, stderr: str) -> str | None:
        """The tool's own error (the tail of its stderr) as one plain line, None to quote
        its last line as it is, or "" when it printed nothing that says what failed."""
        return None

    def enrich(self, findings: tuple[Finding, ...], job: Job, ctx: ScanContext) -> Enriched:
        """After parse, outside the tool's timeout, on the scanner's own time budget:
        look-ups that complete the findings (pip-audit's severities)."""
        return Enriched(findings=findings)

    def redact(self, doc: Any) -> Any:
        """The raw document with source snippets and secret matches removed, for keeping."""
        return doc

    def merge_raw(self, docs: list[Any]) -> Any:
        """The (redacted) raw documents of a sharded run's parts as one (shardable only)."""
        raise NotImplementedError(self.name)

    def gitlab_feeds(self, run: ScannerRun) -> frozenset[str]:
        """The GitLab report types whose status this run decides."""
        return self.gitlab_reports

    def precommit(self, settings: ScannerSettings,
                  python_files: Sequence[str]) -> ScannerSettings | None:
        """Its settings narrowed for the fast pre-commit hook; None: not run there."""
        return None

    def local_refusals(self, trusted: Mapping[str, Any],
                       local: Mapping[str, Any]) -> list[Refusal]:
        """What a repository-local block may not say beyond the per-option trust rules."""
        return []
