"""What several commands parse or write the same way: --today, --format, a saved
findings.json, the rendered reports."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import click

from .. import gcpause, strictjson
from ..errors import InputError, UsageError
from ..fsutil import MAX_FINDINGS_FILE, read_input_bytes, write_atomic
from ..model import ScanResult
from ..pipeline import CONSOLE, Outcome
from ..policy.trust import LOCAL_POLICY
from ..reporters import REPORTERS
from ..reporters.jsonfile import read_run

DEFAULT_POLICY_FILE = LOCAL_POLICY

# Convenience names for groups of formats.
ALIASES = {
    "gitlab": ("gitlab-sast", "gitlab-dependency-scanning", "gitlab-container-scanning",
               "gitlab-secret-detection"),
}


def today(value: str | None) -> datetime.date:
    """--today (tests evaluate as of a fixed day), else today in UTC."""
    if value is None:
        return datetime.datetime.now(datetime.timezone.utc).date()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--today: not a date (YYYY-MM-DD): {value}") from None


def formats(value: str) -> list[str]:
    names: list[str] = []
    for v in (v.strip() for v in value.split(",")):
        names += ALIASES.get(v, (v,)) if v else ()
    unknown = [n for n in names if n not in REPORTERS]
    if unknown:
        raise UsageError(f"--format: unknown format '{unknown[0]}' "
                         f"(known: {', '.join(REPORTERS)})")
    return names


def load_saved(path: Path) -> tuple[dict[str, Any], ScanResult]:
    with gcpause.paused(freeze=True):  # millions of objects, no cycles
        data = read_input_bytes(path, MAX_FINDINGS_FILE, "findings file")
        try:  # not UTF-8, NaN, 5000-digit numbers, deep nesting: InputError
            doc = strictjson.load_bytes(data)
        except ValueError as exc:
            raise InputError(f"{path}: findings file is {exc}") from None
        del data
        return doc, read_run(doc, str(path))


def emit(outcome: Outcome, out_dir: Path) -> None:
    """Every rendered file into out_dir (atomically), the console text to stdout, the
    Markdown summary to GitHub's step summary when it runs there."""
    for filename, text in outcome.files.items():
        write_atomic(out_dir / filename, text)
    if CONSOLE in outcome.rendered:
        click.echo(outcome.text(CONSOLE), nl=False)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and "markdown" in outcome.rendered:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(outcome.text("markdown"))
