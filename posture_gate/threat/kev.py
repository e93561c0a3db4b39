"""CISA's known_exploited_vulnerabilities.json, read strictly: every field used is checked
and a problem names the file and the key (`vulnerabilities[3].dueDate`)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from .. import strictjson as sj
from ..errors import InputError
from ..textutil import one_line
from .data import Kev

CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_RANSOMWARE = {"Known": True, "Unknown": False}


def parse_date(text: str, where: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise sj.ShapeError(f"{where} is {one_line(text, 40)!r}, not a YYYY-MM-DD date") \
            from None


def parse_stamp(text: str, where: str) -> datetime.datetime:
    """An ISO 8601 time as the feeds write it (`...Z`, `+0000`, fractions), as UTC."""
    norm = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text.strip())
    try:
        when = datetime.datetime.fromisoformat(norm)
    except ValueError:
        raise sj.ShapeError(f"{where} is {one_line(text, 40)!r}, not an ISO 8601 time") \
            from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc)


def _entry(item: object, where: str) -> Kev:
    d = sj.obj(item, where.rstrip("."))
    cve = sj.field(d, "cveID", str, where)
    if not CVE_RE.match(cve):
        raise sj.ShapeError(f"{where}cveID is {one_line(cve, 40)!r}, not a CVE id")
    added = sj.field(d, "dateAdded", str, where)
    due = sj.field(d, "dueDate", str, where)
    parse_date(added, f"{where}dateAdded")
    parse_date(due, f"{where}dueDate")
    use = sj.field(d, "knownRansomwareCampaignUse", str, where)
    if use not in _RANSOMWARE:
        raise sj.ShapeError(f"{where}knownRansomwareCampaignUse is {one_line(use, 20)!r}, "
                            "not Known or Unknown")
    return Kev(cve=cve, date_added=added, due_date=due, ransomware=_RANSOMWARE[use])


def parse(data: bytes, source: str) -> tuple[dict[str, Kev], str, datetime.datetime]:
    """(CVE id -> entry, catalogVersion, dateReleased); InputError naming source and key."""
    try:
        doc: Mapping[str, Any] = sj.obj(sj.load_bytes(data), "(top level)")
        version = sj.field(doc, "catalogVersion", str)
        released = parse_stamp(sj.field(doc, "dateReleased", str), "dateReleased")
        items = sj.field(doc, "vulnerabilities", list)
        count = sj.count(doc, "count", required=False)
        if count is not None and count != len(items):
            raise sj.ShapeError(f"count is {count} but vulnerabilities has {len(items)} "
                                "entries (a truncated file?)")
        out: dict[str, Kev] = {}
        for i, item in enumerate(items):
            entry = _entry(item, f"vulnerabilities[{i}].")
            if entry.cve in out:
                raise sj.ShapeError(f"vulnerabilities[{i}].cveID: {entry.cve} listed twice")
            out[entry.cve] = entry
    except ValueError as exc:  # ShapeError or the JSON reader's one-line reason
        raise InputError(f"{source}: not a CISA KEV catalogue: {exc}") from None
    if not out:
        raise InputError(f"{source}: the KEV catalogue lists no vulnerabilities")
    return out, version, released
