"""Where a command's output goes: stdout, stderr, the output directory.

stdout carries the report a user asked for and nothing else: the console table by default,
or exactly one format with `-o -` / `--stdout FORMAT` (`scan -f sarif -o - | jq`); then
the console goes nowhere and the verdict line to stderr. Progress, notes and warnings are
always on stderr. `-q` prints only the verdict line; `-v` the argv of every scanner run.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import gcpause, progress
from ..errors import UsageError
from ..fsutil import AtomicBatch
from ..model import ScanResult
from ..pipeline import CONSOLE, Outcome
from ..policy.evaluate import Verdict
from ..reporters import REPORTERS
from ..reporters.base import output_chunks
from ..reporters.console import ConsoleReporter, verdict_line
from ..termstyle import COLOR_MODES, Style, color_enabled
from ..textutil import one_line

STDOUT = Path("-")
# `-o /dev/stdout` means the same (it is not a directory: raw/ and error.log cannot go there)
STDOUT_NAMES = frozenset({STDOUT, Path("/dev/stdout"), Path("/dev/fd/1")})
_KEY = "posture_gate.display"
F = TypeVar("F", bound=Callable[..., Any])


def display_options(f: F) -> F:
    """-q, -v, --color, --stdout for scan, gate and report. The command reads them with
    `prepare` (kept out of its signature: other flags are added there concurrently)."""

    @functools.wraps(f)
    def wrapper(*args: Any, quiet: bool = False, verbose: bool = False, color: str = "auto",
                stdout_format: str | None = None, **kwargs: Any) -> Any:
        click.get_current_context().meta[_KEY] = (quiet, verbose, color, stdout_format)
        return f(*args, **kwargs)

    for option in reversed((
        click.option("--quiet", "-q", is_flag=True,
                     help="Print only the verdict line (errors still go to stderr)."),
        click.option("--verbose", "-v", is_flag=True,
                     help="Also print the command line of every scanner run (stderr)."),
        click.option("--color", "color", type=click.Choice(COLOR_MODES), default="auto",
                     show_default=True, envvar="POSTURE_GATE_COLOR",
                     help="Colour the console: auto = on a terminal unless $NO_COLOR is "
                     "set; always / never win over NO_COLOR."),
        click.option("--stdout", "stdout_format", metavar="FORMAT",
                     help="Write this one format to stdout (nothing else goes there); "
                     "the others still go to --output-dir. Same as -o - for one format."),
    )):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True, kw_only=True)
class Display:
    quiet: bool = False
    verbose: bool = False
    color: str = "auto"
    stdout_format: str | None = None  # the one format printed on stdout instead of console
    out_dir: Path | None = None  # None: write no file
    scan_dir: Path | None = None  # where the scan writes raw/ (a temp dir with -o -)
    every_finding: str | None = None  # the findings.json the console points to (report)

    def style(self, stream: Any) -> Style:
        return Style(enabled=color_enabled(self.color, stream))


def display(*, output_dir: Path | None, names: Sequence[str], stdout_format: str | None,
            quiet: bool, verbose: bool, color: str) -> Display:
    """Check the combination: `-o -` takes exactly one format, which goes to stdout."""
    if stdout_format is not None and stdout_format not in REPORTERS:
        raise UsageError(f"--stdout: unknown format '{one_line(stdout_format, 40)}' "
                         f"(known: {', '.join(REPORTERS)})")
    if output_dir in STDOUT_NAMES:
        wanted = [n for n in dict.fromkeys(names) if n != CONSOLE] or list(names)
        if len(wanted) != 1 or stdout_format not in (None, wanted[0]):
            raise UsageError("-o - writes one format to stdout: give it with -f, e.g. "
                             "-f sarif -o -")
        return Display(quiet=quiet, verbose=verbose, color=color, stdout_format=wanted[0])
    return Display(quiet=quiet, verbose=verbose, color=color, stdout_format=stdout_format,
                   out_dir=output_dir)


@contextlib.contextmanager
def scan_dir(shown: Display) -> Iterator[Path]:
    """The directory the scan writes raw/ to: the output dir, or with `-o -` a temp dir
    removed afterwards (stdout carries the report; nothing is kept)."""
    if shown.out_dir is not None:
        yield shown.out_dir
        return
    with tempfile.TemporaryDirectory(prefix="posture-gate-out-") as tmp:
        yield Path(tmp)


def prepare(output_dir: Path | None, names: Sequence[str], *,
            every_finding: str | None = None) -> Display:
    """The command's display options, checked; the progress listener and (with -o -) the
    scan's temp output dir live until the command returns (click closes them)."""
    ctx = click.get_current_context()
    quiet, verbose, color, stdout_format = ctx.meta.get(_KEY, (False, False, "auto", None))
    shown = display(output_dir=output_dir, names=names, stdout_format=stdout_format,
                    quiet=quiet, verbose=verbose, color=color)
    ctx.with_resource(progress.listening(listener(shown)))
    where = ctx.with_resource(scan_dir(shown))
    return Display(**{**shown.__dict__, "scan_dir": where, "every_finding": every_finding})


def listener(shown: Display) -> progress.StderrProgress | None:
    if shown.quiet:
        return None
    live = color_enabled("auto", sys.stderr, {}) and not shown.verbose
    return progress.StderrProgress(sys.stderr, live=live, verbose=shown.verbose)


# Rendered while they are written, one at a time and in chunks, when there is an output
# directory: 100k findings make reports of 100 MB each, never all held at once. The console
# and the Markdown summary (both short) are rendered by the pipeline.
STREAMED = frozenset(REPORTERS) - {CONSOLE, "markdown"}


def split_formats(names: Sequence[str], shown: Display) -> tuple[tuple[str, ...],
                                                                 tuple[str, ...]]:
    """(formats the pipeline renders, formats `show` renders as it writes them)."""
    names = tuple(dict.fromkeys(names))
    if shown.out_dir is None:
        return names, ()
    return (tuple(n for n in names if n not in STREAMED),
            tuple(n for n in names if n in STREAMED))


def show(outcome: Outcome, shown: Display, *, stream: Sequence[str] = ()) -> None:
    """A pipeline outcome: its files (and those of the `stream` formats), stdout's one
    text, and GitHub's step summary."""
    show_files(outcome.run, outcome.verdict, outcome.files, shown,
               console=CONSOLE in outcome.rendered, stream=stream)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and "markdown" in outcome.rendered:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(outcome.text("markdown"))


def show_files(run: ScanResult, verdict: Verdict, files: Mapping[str, str], shown: Display,
               *, console: bool, stream: Sequence[str] = ()) -> None:
    """Write the files, print stdout's one text, and say on stderr where files went.
    All files are renamed into place only once every one is written: a reporter that
    fails leaves the previous reports intact."""
    written = list(files)
    if shown.out_dir is not None:
        with gcpause.paused(), AtomicBatch() as batch:
            for filename, text in files.items():
                batch.write(shown.out_dir / filename, text)
            for fmt in stream:
                for filename, chunks in output_chunks(REPORTERS[fmt], run, verdict):
                    batch.write(shown.out_dir / filename, chunks)
                    written.append(filename)
    print_result(run, verdict, shown, console=console)
    if shown.quiet or not written or (shown.out_dir is None and shown.stdout_format):
        return  # -o -: stdout has the one report asked for
    names = ", ".join(sorted(written))
    if shown.out_dir is None:
        click.echo(f"posture-gate: {names}: not written: give -o DIR to write them", err=True)
    else:
        click.echo(f"posture-gate: wrote {names} to {one_line(str(shown.out_dir), 300)}",
                   err=True)


def print_result(run: ScanResult, verdict: Verdict, shown: Display, *,
                 console: bool = True) -> None:
    """stdout: the one --stdout format, or the console (styled), or -q's verdict line."""
    if shown.stdout_format is not None:
        _write(sys.stdout, REPORTERS[shown.stdout_format].render(run, verdict))
        if not shown.quiet:
            _write(sys.stderr, verdict_line(verdict, shown.style(sys.stderr)) + "\n")
        return
    style = shown.style(sys.stdout)
    if shown.quiet:
        _write(sys.stdout, verdict_line(verdict, style) + "\n")
        return
    if not console:
        return
    report = shown.every_finding or (str(shown.out_dir / "findings.json")
                                     if shown.out_dir is not None else None)
    _write(sys.stdout, ConsoleReporter(style=style, report=report).render(run, verdict))


def _write(stream: Any, text: str) -> None:
    """Not click.echo: it strips our colour codes whenever the stream is not a TTY, which
    would make --color always mean nothing."""
    stream.write(text)
    stream.flush()
