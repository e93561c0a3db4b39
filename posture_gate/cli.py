"""Command line: the root group and its one error and signal boundary.

The commands live in posture_gate/commands/ (one module per group): each parses, calls
one function (pipeline.run for scan, gate and pre-commit), writes, and exits.
Exit codes: 0 pass, 1 policy failed, 2 could not evaluate (bad input, scanner failure).
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import signal
import sys
import tempfile
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import click

from . import __version__, proc
from .commands import COMMANDS
from .errors import PostureGateError
from .fsutil import write_atomic
from .redact import redact
from .textutil import one_line


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
            found = out if isinstance(out, Path) and str(out) not in ("-", "/dev/stdout",
                                                                      "/dev/fd/1") else found
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


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="posture-gate")
def main() -> None:
    """posture-gate: run the security scanners, normalize findings, gate on a policy."""


for command in COMMANDS:
    main.add_command(command)


def entry() -> NoReturn:
    """The console script (and `python -m posture_gate`): the CLI, then the process ends
    without the interpreter's teardown. Freeing every module and object at exit costs
    40 ms and more after a scan, and is no use here: by now every file the run writes is
    closed, its temp folders are gone (their `with` blocks have ended) and no scanner or
    thread is left (the root group's boundary stopped them). What teardown would still do
    is flush stdout and stderr, done here.

    click's own wrapper (standalone mode) is replaced too: it turns a broken stdout pipe
    into exit 1, which is "policy failed", and lets an error raised while it parses the
    arguments (--version into a full disk) escape as a traceback. Both are exit 2 here,
    with one line, and so is a last flush of stdout that fails: the verdict may not have
    reached the reader.

    What importing the CLI made (modules, classes, click's commands: ~31,000 objects) lives
    until then, so it is frozen out of the cyclic collector's passes: each full pass walked
    it all again, 15-30 ms a time, five times in a scan of yt-dlp, one of them after the
    last scanner ended."""
    gc.freeze()
    code = _run_main()
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        if code != 2:
            code = 2
            _say("posture-gate: error: could not write to stdout")
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def _run_main() -> int:
    """main's exit status, as click's standalone mode would give it but for the cases
    entry() names."""
    try:
        returned = main.main(prog_name="posture-gate", standalone_mode=False)
    except click.ClickException as exc:  # usage errors: click's message, its exit code (2)
        with contextlib.suppress(OSError, ValueError):
            exc.show()
        return exc.exit_code
    except click.Abort:
        _say("posture-gate: error: aborted")
        return 2
    except SystemExit as exc:
        context = exc.__context__
        if isinstance(context, OSError) and context.errno == errno.EPIPE:
            # click's main turns a broken pipe into sys.exit(1) whatever the mode
            _say("posture-gate: error: could not write to stdout (broken pipe)")
            return 2
        return _exit_status(exc.code)
    except Exception as exc:  # outside the root group's boundary: parsing, --version
        _say(f"posture-gate: error: {one_line(str(exc) or type(exc).__name__)}")
        return 2
    except KeyboardInterrupt:  # while the arguments are parsed: nothing was started
        return 128 + signal.SIGINT
    return returned if isinstance(returned, int) else 0  # ctx.exit(n) returns n


def _exit_status(code: object) -> int:
    """What the interpreter makes of SystemExit's code: None is 0, an int is itself, any
    other value is printed to stderr and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    _say(str(code))
    return 1


def _say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr)
