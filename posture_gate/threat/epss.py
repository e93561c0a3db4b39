"""FIRST's epss_scores-YYYY-MM-DD.csv (the .gz is inflated by feeds.py), read strictly:

    #model_version:v2023.03.01,score_date:2024-10-10T00:00:00+0000
    cve,epss,percentile
    CVE-1999-0001,0.01141,0.78112

A problem names the file and the line."""

from __future__ import annotations

import datetime
import math

from .. import strictjson as sj
from ..errors import InputError
from ..textutil import one_line
from .data import Epss
from .kev import CVE_RE, parse_stamp

HEADER = "cve,epss,percentile"


def _meta(line: str, source: str) -> tuple[str, datetime.datetime]:
    if not line.startswith("#"):
        raise InputError(f"{source}:1: expected '#model_version:...,score_date:...', got "
                         f"{one_line(line, 60)!r}")
    fields: dict[str, str] = {}
    for part in line[1:].split(","):
        key, sep, value = part.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    model, date = fields.get("model_version"), fields.get("score_date")
    if not model or not date:
        raise InputError(f"{source}:1: the comment line lacks model_version or score_date")
    try:
        return model, parse_stamp(date, "score_date")
    except sj.ShapeError as exc:
        raise InputError(f"{source}:1: {exc}") from None


def _unit(text: str, what: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # also NaN
        raise InputError(f"{where}: {what} {one_line(text, 30)!r} is not a number in [0, 1]")
    return value


def parse(text: str, source: str) -> tuple[dict[str, Epss], str, datetime.datetime]:
    """(CVE id -> score, model_version, score_date); InputError naming source:line."""
    lines = text.splitlines()
    if len(lines) < 2:
        raise InputError(f"{source}: not an EPSS scores file (fewer than two lines)")
    model, date = _meta(lines[0], source)
    if lines[1].strip() != HEADER:
        raise InputError(f"{source}:2: expected the header '{HEADER}', got "
                         f"{one_line(lines[1], 60)!r}")
    out: dict[str, Epss] = {}
    for n, line in enumerate(lines[2:], start=3):
        if not line.strip():
            continue
        cols = line.split(",")
        where = f"{source}:{n}"
        if len(cols) != 3:
            raise InputError(f"{where}: expected cve,epss,percentile, got {len(cols)} field(s)")
        cve = cols[0].strip()
        if not CVE_RE.match(cve):
            raise InputError(f"{where}: {one_line(cve, 40)!r} is not a CVE id")
        if cve in out:
            raise InputError(f"{where}: {cve} scored twice")
        out[cve] = Epss(cve=cve, score=_unit(cols[1].strip(), "epss", where),
                        percentile=_unit(cols[2].strip(), "percentile", where))
    if not out:
        raise InputError(f"{source}: the EPSS file holds no scores")
    return out, model, date
