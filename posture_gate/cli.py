"""Command line. Thin: parse, call one function per command, map the outcome to an exit code.

Exit codes: 0 pass, 1 policy failed, 2 could not evaluate (bad input, scanner failure).
"""

from __future__ import annotations

import datetime
import os
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import wraps
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, TypeVar

import click

from . import __version__, history, notify, proc, strictjson
from . import baseline as baseline_mod
from .errors import InputError, PostureGateError, UsageError
from .fsutil import MAX_FINDINGS_FILE, read_input, write_atomic
from .model import ScanResult
from .policy import schema as policy_schema
from .policy import trust
from .policy.evaluate import Verdict, evaluate
from .redact import redact
from .reporters import REPORTERS
from .reporters.base import output_files
from .reporters.jsonfile import read_run, read_verdict
from .scan import ScanOptions, scan
from .scanners import SCANNERS
from .textutil import one_line

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_POLICY_FILE = "posture-gate.yml"


def boundary(func: F) -> F:
    """The error boundary of one command: known errors become one line on stderr and exit 2,
    anything else an internal error (exit 2, traceback in <output-dir>/error.log).

    The Main group applies the same rules to every command, decorated or not; here the
    command's own `output_dir` is at hand for error.log."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # the one place that catches everything
            out = kwargs.get("output_dir")
            _fail(exc, out if isinstance(out, Path) else None)

    return wrapper  # type: ignore[return-value]


def _fail(exc: Exception, output_dir: Path | None) -> NoReturn:
    """One line on stderr and exit 2, for a known error or an unexpected one."""
    if isinstance(exc, PostureGateError):
        click.echo(f"posture-gate: error: {exc.one_line()}", err=True)
    elif isinstance(exc, (OSError, RecursionError, MemoryError)):
        click.echo(f"posture-gate: error: {one_line(str(exc) or type(exc).__name__)}",
                   err=True)
    else:
        where = _write_error_log(exc, output_dir)
        message = one_line(redact(str(exc)), 300) or "(no message)"
        click.echo(f"posture-gate: internal error: {type(exc).__name__}: {message}"
                   + (f" (traceback in {where})" if where else ""), err=True)
    sys.exit(2)


def _write_error_log(exc: BaseException, output_dir: Path | None) -> str | None:
    """The traceback in <output-dir>/error.log, or in a new temp file when the command has
    no output dir (or it is unusable); None when neither can be written."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = redact(f"posture-gate {__version__}\n{text}")  # the message may quote data
    if output_dir is not None and output_dir.is_dir() and \
            os.path.realpath(output_dir) == os.path.abspath(output_dir):
        try:  # no symlink on the way: the same rule as every other file there
            write_atomic(output_dir / "error.log", text)
            return str(output_dir / "error.log")
        except OSError:
            pass
    try:
        fd, name = tempfile.mkstemp(prefix="posture-gate-error-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return name
    except OSError:
        return None


def _leaf_output_dir(tb: TracebackType | None) -> Path | None:
    """The `output_dir` parameter of the command that raised, found in the traceback's
    frames of click's Command.invoke (a group cannot see its subcommand's context once
    it has been closed)."""
    found: Path | None = None
    while tb is not None:
        ctx = tb.tb_frame.f_locals.get("ctx")
        if isinstance(ctx, click.Context) and not isinstance(ctx.command, click.Group):
            out = ctx.params.get("output_dir")
            found = out if isinstance(out, Path) else found
        tb = tb.tb_next
    return found


class Main(click.Group):
    """The root group: every command runs under one error and signal boundary, so that a
    new command cannot forget it. Exit 2 for errors (never 1, never a bare traceback),
    128 + signum for SIGTERM / SIGINT after the scanners were killed."""

    def invoke(self, ctx: click.Context) -> Any:
        if ctx.parent is not None:
            return super().invoke(ctx)
        previous = proc.install_signal_handlers()
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # the one place that catches everything
            _fail(exc, _leaf_output_dir(exc.__traceback__))
        except (proc.Interrupted, KeyboardInterrupt) as exc:
            signum = exc.signum if isinstance(exc, proc.Interrupted) else signal.SIGINT
            proc.kill_all()
            name = signal.Signals(signum).name
            click.echo(f"posture-gate: interrupted by {name}; scanners stopped", err=True)
            sys.exit(128 + signum)
        finally:
            proc.stop_watchdog()
            proc.restore_signal_handlers(previous)


def _today(value: str | None) -> datetime.date:
    if value is None:
        return datetime.datetime.now(datetime.timezone.utc).date()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--today: not a date (YYYY-MM-DD): {value}") from None


# Convenience names for groups of formats.
ALIASES = {
    "gitlab": ("gitlab-sast", "gitlab-dependency-scanning", "gitlab-container-scanning",
               "gitlab-secret-detection"),
}


def _formats(value: str) -> list[str]:
    names: list[str] = []
    for v in (v.strip() for v in value.split(",")):
        names += ALIASES.get(v, (v,)) if v else ()
    unknown = [n for n in names if n not in REPORTERS]
    if unknown:
        raise UsageError(f"--format: unknown format '{unknown[0]}' "
                         f"(known: {', '.join(REPORTERS)})")
    return names


def _write_reports(run: ScanResult, verdict: Verdict, out_dir: Path,
                   formats: Sequence[str]) -> None:
    """findings.json always; then each file format. Console goes to stdout."""
    # Render everything before writing anything: a reporter that fails leaves the
    # previous reports intact.
    rendered = {name: output_files(REPORTERS[name], run, verdict)
                for name in dict.fromkeys(["json", *formats])}
    for name, files in rendered.items():
        if name != "console":
            for filename, text in files.items():
                write_atomic(out_dir / filename, text)
    if "console" in rendered:
        click.echo("".join(rendered["console"].values()), nl=False)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and "markdown" in rendered:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write("".join(rendered["markdown"].values()))


def _load_saved(path: Path) -> tuple[dict[str, Any], ScanResult]:
    text = read_input(path, MAX_FINDINGS_FILE, "findings file")
    try:
        doc = strictjson.loads(text)  # NaN, 5000-digit numbers, deep nesting: InputError too
    except ValueError as exc:
        raise InputError(f"{path}: findings file is {exc}") from None
    return doc, read_run(doc, str(path))


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="posture-gate")
def main() -> None:
    """posture-gate: run the security scanners, normalize findings, gate on a policy."""


@main.command("scan")
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
@click.option("--format", "-f", "formats", default="console,json", show_default=True,
              help="Comma list: " + ", ".join(REPORTERS))
@click.option("--advisories", type=click.Path(path_type=Path),
              help="Directory of OSV records or an OSV all.zip export, served to pip-audit "
              "on 127.0.0.1 (indexed once into the cache).")
@click.option("--image", "images", multiple=True, help="Container image ref or tarball.")
@click.option("--baseline", type=click.Path(path_type=Path), help="Baseline for new/ratchet.")
@click.option("--only", multiple=True, type=click.Choice(sorted(SCANNERS)),
              help="Run only these scanners.")
@click.option("--trivy-cache-dir", type=click.Path(path_type=Path),
              help="trivy cache (holds db/trivy.db); overrides the policy.")
@click.option("--db-repository", "db_repositories", multiple=True,
              help="trivy DB mirror (OCI repository), repeatable; also for the Java DB.")
@click.option("--skip-db-update", is_flag=True, default=None,
              help="Use the DB already in the cache; never download it.")
@click.option("--offline-scan", is_flag=True, default=None,
              help="trivy makes no API requests while scanning.")
@click.option("--today", hidden=True, help="Evaluate as of this date (tests).")
@click.option("--history", "history_file", type=click.Path(path_type=Path),
              envvar="POSTURE_GATE_HISTORY", help="SQLite run history, created if absent "
              "(also $POSTURE_GATE_HISTORY): ages, the overdue gate, trends, changes.")
@click.option("--now", "now_iso", hidden=True, help="Record the run at this ISO time (tests).")
@boundary
def scan_cmd(path: Path, policy: str | None, policy_ref: str | None, output_dir: Path,
             formats: str,
             advisories: Path | None, images: tuple[str, ...], baseline: Path | None,
             only: tuple[str, ...], trivy_cache_dir: Path | None,
             db_repositories: tuple[str, ...], skip_db_update: bool | None,
             offline_scan: bool | None, today: str | None,
             history_file: Path | None, now_iso: str | None) -> None:
    """Scan PATH (default: .) and gate the result."""
    day = _today(today)
    names = _formats(formats)
    if not path.is_dir():
        raise UsageError(f"{path}: not a directory")
    resolved = trust.resolve(policy, policy_ref, path.resolve(), today=day)
    if resolved.trust.trusted is None and os.environ.get("CI"):
        click.echo(f"posture-gate: warning: no trusted policy: {resolved.trust.local} comes "
                   "from the scanned tree; give --policy-ref or --policy (docs/security.md)",
                   err=True)
    pol = policy_schema.with_scanner_options(resolved.policy, "trivy", {
        "cache_dir": str(trivy_cache_dir.resolve()) if trivy_cache_dir else None,
        "db_repository": list(db_repositories) or None,
        "java_db_repository": list(db_repositories) or None,
        "skip_db_update": skip_db_update, "offline_scan": offline_scan})
    base = baseline_mod.load(baseline) if baseline else None
    if advisories is not None and not (advisories.is_dir() or advisories.is_file()):
        raise UsageError(f"--advisories: {advisories}: not a directory or an OSV zip")
    run, _ = scan(pol, ScanOptions(root=path, output_dir=output_dir, advisories=advisories,
                                   images=images, only=only))
    run = replace(run, policy_trust=resolved.trust)
    first_seen = history.first_seen(history_file) if history_file else None
    verdict = evaluate(pol, run.findings, run.scanners, today=day, baseline=base,
                       first_seen=first_seen)
    change = None
    if history_file is not None:
        run, verdict, change = history.apply(history_file, run, verdict,
                                             history.parse_now(now_iso, day))
    _write_reports(run, verdict, output_dir, names)
    for w in notify.send_all(pol.notify, run, verdict, change):
        click.echo(f"posture-gate: warning: {w}", err=True)
    for e in verdict.errors:
        click.echo(f"posture-gate: error: scanner {one_line(e, 400)}", err=True)
    sys.exit(verdict.exit_code)


@main.command("gate")
@click.argument("findings", type=click.Path(path_type=Path))
@click.option("--policy", "-p", default="default", show_default=True)
@click.option("--baseline", type=click.Path(path_type=Path))
@click.option("--output-dir", "-o", type=click.Path(path_type=Path),
              help="Also write reports here.")
@click.option("--format", "-f", "formats", default="console", show_default=True)
@click.option("--today", hidden=True)
@boundary
def gate_cmd(findings: Path, policy: str, baseline: Path | None, output_dir: Path | None,
             formats: str, today: str | None) -> None:
    """Re-evaluate a saved findings.json against a policy, without rescanning."""
    day = _today(today)
    names = _formats(formats)
    pol = policy_schema.load_policy(policy, today=day)
    _, run = _load_saved(findings)
    base = baseline_mod.load(baseline) if baseline else None
    verdict = evaluate(pol, run.findings, run.scanners, today=day, baseline=base)
    if output_dir is not None:
        _write_reports(run, verdict, output_dir, names)
    elif "console" in names:
        click.echo(REPORTERS["console"].render(run, verdict), nl=False)
    sys.exit(verdict.exit_code)


@main.command("report")
@click.argument("findings", type=click.Path(path_type=Path))
@click.option("--format", "-f", "formats", required=True)
@click.option("--output-dir", "-o", default="posture-gate-report", show_default=True,
              type=click.Path(path_type=Path))
@boundary
def report_cmd(findings: Path, formats: str, output_dir: Path) -> None:
    """Render a saved findings.json in other formats (the saved verdict is kept)."""
    names = _formats(formats)
    doc, run = _load_saved(findings)
    verdict = read_verdict(doc, run, str(findings))
    for name in names:
        if name == "console":
            click.echo(REPORTERS[name].render(run, verdict), nl=False)
        else:
            for filename, text in output_files(REPORTERS[name], run, verdict).items():
                write_atomic(output_dir / filename, text)


@main.group("baseline")
def baseline_group() -> None:
    """Baselines for new-only gating and the ratchet."""


@baseline_group.command("write")
@click.argument("findings", type=click.Path(path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path))
@click.option("--allow-increase", is_flag=True,
              help="Let totals grow above the existing baseline's allowance.")
@boundary
def baseline_write(findings: Path, output: Path, allow_increase: bool) -> None:
    """Write a baseline from a saved findings.json (never raises an existing total)."""
    _, run = _load_saved(findings)
    previous = baseline_mod.load(output) if output.exists() else None
    b = baseline_mod.build(run.findings, now=datetime.datetime.now(datetime.timezone.utc),
                           previous=previous, allow_increase=allow_increase)
    write_atomic(output, baseline_mod.to_json(b))
    click.echo(f"wrote {output}: {len(b.entries)} finding(s)")


@main.group("policy")
def policy_group() -> None:
    """Policy tooling."""


@policy_group.command("validate")
@click.argument("policy")
@click.option("--today", hidden=True)
@boundary
def policy_validate(policy: str, today: str | None) -> None:
    """Check a policy file; every error with file:line and key path."""
    problems, _ = policy_schema.check(policy, today=_today(today))
    for p in problems:
        click.echo(p, err=True)
    if problems:
        sys.exit(2)
    click.echo(f"{policy}: ok")


@policy_group.command("test")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--today", hidden=True)
@boundary
def policy_test(directory: Path, today: str | None) -> None:
    """Run policy test cases (policy + fixture findings + expected verdict) under DIRECTORY."""
    from .policy.testing import run_all

    results = run_all(directory, _today(today))
    for r in results:
        click.echo(f"{'PASS' if r.passed else 'FAIL'} {r.name}: {one_line(r.detail, 400)}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


@main.command("doctor")
def doctor() -> None:
    """List each scanner, where it was found, its version, and whether we test it."""
    from .runner import scanner_version

    bad = False
    for name, scanner in SCANNERS.items():
        where = proc.which(scanner.executable)
        if where is None:
            click.echo(f"{name}: not found on PATH")
            bad = True
            continue
        version = scanner_version(scanner)
        tested = "tested" if version in scanner.tested_versions else \
            f"untested (tested: {', '.join(sorted(scanner.tested_versions))})"
        click.echo(f"{name}: {where} version {version or '?'} {tested}")
    sys.exit(1 if bad else 0)


@main.group("history")
def history_group() -> None:
    """The run history that `scan --history FILE` keeps (SQLite): trends, ages, changes."""


_HISTORY_OPTION = click.option(
    "--history", "history_file", required=True, envvar="POSTURE_GATE_HISTORY",
    type=click.Path(path_type=Path), help="The history file (also $POSTURE_GATE_HISTORY).")


@history_group.command("show")
@_HISTORY_OPTION
@click.option("--runs", default=30, show_default=True, help="Recent runs to list (0: all).")
@boundary
def history_show(history_file: Path, runs: int) -> None:
    """Totals per category over time and the week-over-week change."""
    click.echo(history.show_text(history_file, runs), nl=False)


@history_group.command("export")
@_HISTORY_OPTION
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="Write here instead of stdout.")
@boundary
def history_export(history_file: Path, output: Path | None) -> None:
    """Every run and every finding's first_seen / last_seen / fixed_at, as JSON Lines."""
    if output is None:
        history.export_jsonl(history_file, sys.stdout)
        return
    import io

    buf = io.StringIO()
    n = history.export_jsonl(history_file, buf)
    write_atomic(output, buf.getvalue())
    click.echo(f"wrote {output}: {n} line(s)", err=True)


from .hooks import precommit_cmd  # noqa: E402
from .init import init_cmd  # noqa: E402

main.add_command(precommit_cmd)
main.add_command(init_cmd)
