"""`history show`, `history export`: the run history `scan --history FILE` keeps."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click

from .. import history, trends
from ..fsutil import write_atomic


@click.group("history")
def history_group() -> None:
    """The run history that `scan --history FILE` keeps (SQLite): trends, ages, changes."""


_HISTORY_OPTION = click.option(
    "--history", "history_file", required=True, envvar="POSTURE_GATE_HISTORY",
    type=click.Path(path_type=Path), help="The history file (also $POSTURE_GATE_HISTORY).")


@history_group.command("show")
@_HISTORY_OPTION
@click.option("--runs", default=30, show_default=True, help="Recent runs to list (0: all).")
def history_show(history_file: Path, runs: int) -> None:
    """Totals per category over time and the week-over-week change."""
    click.echo(show_text(history_file, runs), nl=False)


def show_text(path: Path, runs: int = 30) -> str:
    """The last `runs` runs' totals per category, then week over week (0 runs: all)."""
    points = history.trends(path, runs)
    if not points:
        return f"{path}: no runs recorded\n"
    return trends.text_table(points, history.history_week_over_week(path))


@history_group.command("export")
@_HISTORY_OPTION
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="Write here instead of stdout.")
def history_export(history_file: Path, output: Path | None) -> None:
    """Every run and every finding's first_seen / last_seen / fixed_at, as JSON Lines."""
    if output is None:
        history.export_jsonl(history_file, sys.stdout)
        return
    buf = io.StringIO()
    n = history.export_jsonl(history_file, buf)
    write_atomic(output, buf.getvalue())
    click.echo(f"wrote {output}: {n} line(s)", err=True)


COMMANDS = (history_group,)
