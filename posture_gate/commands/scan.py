"""`scan`, `gate`, `report`: parse, run the pipeline, write, notify, exit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .. import baseline as baseline_mod
from .. import history, notify, pipeline
from ..errors import UsageError
from ..policy import overrides, trust
from ..policy import schema as policy_schema
from ..reporters import REPORTERS
from ..reporters.base import output_files
from ..reporters.jsonfile import read_verdict
from ..scan import ScanOptions
from ..scanners import SCANNERS
from ..textutil import one_line
from . import output
from .common import DEFAULT_POLICY_FILE, formats, load_saved, today
from .threatopts import threat_data
from .vexopts import vex_statements


@click.command("scan")
@click.argument("path", default=".", type=click.Path(path_type=Path))
@click.option("--policy", "-p", envvar="POSTURE_GATE_POLICY",
              help="Trusted policy: a preset (default, strict, nightly) or a file outside "
              f"PATH (also $POSTURE_GATE_POLICY). PATH's own {DEFAULT_POLICY_FILE} may only "
              "tighten it; without a trusted policy it applies as it is.")
@click.option("--policy-ref", envvar="POSTURE_GATE_POLICY_REF", metavar="REF:PATH",
              help="Trusted policy read from git, e.g. the merge target in a pull request: "
              f"origin/main:{DEFAULT_POLICY_FILE} (also $POSTURE_GATE_POLICY_REF). A file "
              "absent at REF means the default preset.")
@click.option("--output-dir", "-o", default="posture-gate-report", show_default=True,
              type=click.Path(path_type=Path))
@click.option("--format", "-f", "format_list", default="console,json", show_default=True,
              help="Comma list: " + ", ".join(REPORTERS))
@click.option("--advisories", type=click.Path(path_type=Path),
              help="Directory of OSV records or an OSV all.zip export, served to pip-audit "
              "on 127.0.0.1 (indexed once into the cache).")
@click.option("--image", "images", multiple=True, help="Container image ref or tarball.")
@click.option("--kev", type=click.Path(path_type=Path),
              help="CISA known_exploited_vulnerabilities.json (pinned copy): findings get "
              "kev, for gates.kev. Wins over the policy's threat.kev.")
@click.option("--epss", type=click.Path(path_type=Path),
              help="FIRST epss_scores-YYYY-MM-DD.csv[.gz] (pinned copy): findings get epss, "
              "for min_epss/min_percentile. Wins over the policy's threat.epss.")
@click.option("--vex", "vex_files", multiple=True, type=click.Path(path_type=Path),
              help="OpenVEX or CycloneDX VEX file, repeatable: not_affected/fixed statements "
              "for a package version suppress its findings (shown suppressed). Trusted "
              "input: a file inside PATH only when the trusted policy's vex: names it.")
@click.option("--baseline", type=click.Path(path_type=Path), help="Baseline for new/ratchet.")
@click.option("--only", multiple=True, type=click.Choice(sorted(SCANNERS)),
              help="Run only these scanners.")
@click.option("--scanner-option", "scanner_options", multiple=True,
              metavar="NAME.KEY=VALUE", help="Set a scanner's policy option, e.g. "
              "trivy.skip_db_update=true; repeatable (an array option takes one item per "
              "flag). Trusted: wins over every policy file.")
@click.option("--trivy-cache-dir", type=click.Path(path_type=Path),
              help="trivy cache (holds db/trivy.db); overrides the policy "
              "(= --scanner-option trivy.cache_dir=DIR).")
@click.option("--db-repository", "db_repositories", multiple=True,
              help="trivy DB mirror (OCI repository), repeatable; also for the Java DB.")
@click.option("--skip-db-update", is_flag=True, default=None,
              help="Use the DB already in the cache; never download it.")
@click.option("--offline-scan", is_flag=True, default=None,
              help="trivy makes no API requests while scanning.")
@click.option("--today", "today_iso", hidden=True, help="Evaluate as of this date (tests).")
@click.option("--history", "history_file", type=click.Path(path_type=Path),
              envvar="POSTURE_GATE_HISTORY", help="SQLite run history, created if absent "
              "(also $POSTURE_GATE_HISTORY): ages, the overdue gate, trends, changes.")
@click.option("--now", "now_iso", hidden=True, help="Record the run at this ISO time (tests).")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="POSTURE_GATE_CACHE_DIR",
              help="posture-gate's cache (advisory indexes, scanner results); default "
              "$XDG_CACHE_HOME/posture-gate. Trusted: never used inside PATH.")
@click.option("--no-cache", "no_cache", is_flag=True,
              help="Run every scanner: reuse no stored result (and store none).")
@click.option("--changed-since", metavar="REF",
              help="PR lane: bandit and semgrep scan only the files changed since the merge "
              "base of REF and HEAD; dependency and image scans stay whole (docs/ci.md).")
@click.option("--platform", "platform", type=click.Choice(["github", "gitlab"]),
              help="Also check the hosting platform's settings (2FA, branch rules, secret "
              "scanning) through its API with the CI job's token: category platform "
              "(docs/posture.md). Wins over the policy's platform.provider.")
@output.display_options
def scan_cmd(path: Path, policy: str | None, policy_ref: str | None, output_dir: Path,
             format_list: str, advisories: Path | None, images: tuple[str, ...],
             baseline: Path | None, only: tuple[str, ...], scanner_options: tuple[str, ...],
             trivy_cache_dir: Path | None, db_repositories: tuple[str, ...],
             skip_db_update: bool | None, offline_scan: bool | None, today_iso: str | None,
             history_file: Path | None, now_iso: str | None,
             cache_dir: Path | None = None, no_cache: bool = False,
             changed_since: str | None = None, platform: str | None = None,
             kev: Path | None = None, epss: Path | None = None,
             vex_files: tuple[Path, ...] = ()) -> None:
    """Scan PATH (default: .) and gate the result."""
    day = today(today_iso)
    names = formats(format_list)
    shown = output.prepare(output_dir, names)
    given = overrides.combine(
        overrides.trivy_aliases(cache_dir=trivy_cache_dir, db_repositories=db_repositories,
                                skip_db_update=skip_db_update, offline_scan=offline_scan),
        overrides.parse(scanner_options))
    if not path.is_dir():
        raise UsageError(f"{path}: not a directory")
    resolved = trust.resolve(policy, policy_ref, path.resolve(), today=day)
    if resolved.trust.trusted is None and os.environ.get("CI"):
        click.echo(f"posture-gate: warning: no trusted policy: {resolved.trust.local} comes "
                   "from the scanned tree; give --policy-ref or --policy (docs/security.md)",
                   err=True)
    pol = overrides.apply(resolved.policy, given)
    base = baseline_mod.load(baseline) if baseline else None
    if advisories is not None and not (advisories.is_dir() or advisories.is_file()):
        raise UsageError(f"--advisories: {advisories}: not a directory or an OSV zip")
    threat = threat_data(pol, path.resolve(), kev=kev, epss=epss, today=day)
    vex = vex_statements(pol, path.resolve(), vex_files)
    clock = pipeline.Clock(today=day, now=history.parse_now(now_iso, day) if now_iso else None)
    now, stream = output.split_formats(("json", *names), shown)
    outcome = pipeline.run(pol, pipeline.Options(
        scan=ScanOptions(root=path, output_dir=shown.scan_dir or output_dir,
                         advisories=advisories,
                         images=images, only=only, platform=platform,
                         cache_dir=cache_dir.resolve() if cache_dir else None,
                         result_cache=not no_cache, changed_since=changed_since, threat=threat,
                         vex=vex),
        formats=now, baseline=base, history=history_file,
        trust=resolved.trust), clock)
    output.show(outcome, shown, stream=stream)
    for w in notify.send_all(pol.notify, outcome.run, outcome.verdict, outcome.change):
        click.echo(f"posture-gate: warning: {w}", err=True)
    for e in outcome.verdict.errors:
        click.echo(f"posture-gate: error: scanner {one_line(e, 400)}", err=True)
    sys.exit(outcome.verdict.exit_code)


@click.command("gate")
@click.argument("findings", type=click.Path(path_type=Path))
@click.option("--policy", "-p", default="default", show_default=True,
              envvar="POSTURE_GATE_POLICY", help="Policy file or preset (also "
              "$POSTURE_GATE_POLICY).")
@click.option("--baseline", type=click.Path(path_type=Path))
@click.option("--output-dir", "-o", type=click.Path(path_type=Path),
              help="Also write reports here.")
@click.option("--format", "-f", "format_list", default="console", show_default=True)
@click.option("--today", "today_iso", hidden=True)
@output.display_options
def gate_cmd(findings: Path, policy: str, baseline: Path | None, output_dir: Path | None,
             format_list: str, today_iso: str | None) -> None:
    """Re-evaluate a saved findings.json against a policy, without rescanning."""
    day = today(today_iso)
    names = formats(format_list)
    pol = policy_schema.load_policy(policy, today=day)
    _, run = load_saved(findings)
    base = baseline_mod.load(baseline) if baseline else None
    disp = output.prepare(output_dir, names)
    # without -o nothing is written, and stderr says so for each file format asked for
    rendered = ("json", *names) if disp.out_dir is not None else (pipeline.CONSOLE, *names)
    now, stream = output.split_formats(rendered, disp)
    outcome = pipeline.judge(pol, run, pipeline.Options(formats=now, baseline=base),
                             pipeline.Clock(today=day))
    output.show(outcome, disp, stream=stream)
    sys.exit(outcome.verdict.exit_code)


@click.command("report")
@click.argument("findings", type=click.Path(path_type=Path))
@click.option("--format", "-f", "format_list", required=True)
@click.option("--output-dir", "-o", default="posture-gate-report", show_default=True,
              type=click.Path(path_type=Path))
@output.display_options
def report_cmd(findings: Path, format_list: str, output_dir: Path) -> None:
    """Render a saved findings.json in other formats (the saved verdict is kept)."""
    names = formats(format_list)
    disp = output.prepare(output_dir, names, every_finding=str(findings))
    doc, run = load_saved(findings)
    verdict = read_verdict(doc, run, str(findings))
    files = {filename: text for name in names if name != pipeline.CONSOLE
             for filename, text in output_files(REPORTERS[name], run, verdict).items()}
    output.show_files(run, verdict, files, disp, console=pipeline.CONSOLE in names)


COMMANDS = (scan_cmd, gate_cmd, report_cmd)
