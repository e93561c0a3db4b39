"""`history show`, `history export`: the run history `scan --history FILE` keeps."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click

from .. import effectiveness, history, history_read, trends
from ..effectiveness_view import text_lines
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
@click.option("--sla-days", "sla", multiple=True, metavar="SEVERITY=DAYS",
              help="An SLA for the compliance lines, e.g. critical=7 (repeatable; the "
              "policy's sla_days).")
def history_show(history_file: Path, runs: int, sla: tuple[str, ...] = ()) -> None:
    """Totals per category over time, the week-over-week change, and effectiveness: time
    to fix, SLA compliance, open ages, introduced vs fixed per week."""
    click.echo(show_text(history_file, runs, _sla(sla)), nl=False)


def _sla(values: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        sev, sep, days = v.partition("=")
        if not sep or not days.strip().isdigit() or sev.strip() not in (
                "critical", "high", "medium", "low", "info", "unknown"):
            raise click.BadParameter(f"{v!r}: expected SEVERITY=DAYS", param_hint="--sla-days")
        out[sev.strip()] = int(days)
    return out


def show_text(path: Path, runs: int = 30, sla_days: dict[str, int] | None = None) -> str:
    """The last `runs` runs' totals per category, then week over week (0 runs: all), then
    effectiveness."""
    points = history.trends(path, runs)
    if not points:
        return f"{path}: no runs recorded\n"
    eff = text_lines(effectiveness.measure(history_read.lifecycle(path), sla_days or {}))
    return trends.text_table(points, history.history_week_over_week(path)) + \
        ("\n" + "\n".join(eff) + "\n" if eff else "")


@history_group.command("export")
@_HISTORY_OPTION
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="Write here instead of stdout.")
def history_export(history_file: Path, output: Path | None) -> None:
    """Every run and every finding's first_seen / last_seen / fixed_at, as JSON Lines."""
    if output is None:
        history_read.export_jsonl(history_file, sys.stdout)
        return
    buf = io.StringIO()
    n = history_read.export_jsonl(history_file, buf)
    write_atomic(output, buf.getvalue())
    click.echo(f"wrote {output}: {n} line(s)", err=True)


COMMANDS = (history_group,)
