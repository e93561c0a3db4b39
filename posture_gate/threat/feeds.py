"""Load the pinned KEV/EPSS files (capped, hashed, age-checked) and put their records on
findings, matched through every alias a finding carries."""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..fsutil import TooLarge, human_size, read_capped
from ..model import Finding
from . import epss as epss_file
from . import kev as kev_file
from .data import Epss, Kev, ThreatSource

MAX_KEV = 64 << 20  # the real catalogue is about 2 MB
MAX_EPSS = 256 << 20  # inflated; the real CSV is about 10 MB for ~300k CVEs
DEFAULT_MAX_AGE_DAYS = 7  # KEV changes weekly, EPSS daily
_FUTURE_SLACK = datetime.timedelta(days=1)  # time zones; more is a wrong clock or a forgery


@dataclass(frozen=True, kw_only=True)
class ThreatData:
    kev: Mapping[str, Kev] | None = None  # None: no KEV file given
    epss: Mapping[str, Epss] | None = None
    sources: tuple[ThreatSource, ...] = field(default=())


def _read(path: Path, limit: int, what: str) -> bytes:
    try:
        data = read_capped(path, limit)
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except TooLarge:
        raise InputError(f"{path}: {what} is larger than {human_size(limit)}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if data[:2] != b"\x1f\x8b":
        return data
    try:  # a .csv.gz as FIRST publishes it; inflated under the same cap
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: {what} is not a valid gzip file ({exc})") from None
    if len(out) > limit:
        raise InputError(f"{path}: {what} inflates to more than {human_size(limit)}")
    return out


def _check_age(path: Path, what: str, when: datetime.datetime, today: datetime.date,
               max_age_days: int) -> None:
    age = (today - when.date()).days
    if age > max_age_days:
        raise InputError(f"{path}: {what} dated {when.date()} is {age} days old, older than "
                         f"max_age_days ({max_age_days})", "fetch a current copy")
    if when.date() > today + _FUTURE_SLACK:
        raise InputError(f"{path}: {what} is dated {when.date()}, after today ({today})")


def _stamp(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def load(*, kev: Path | None = None, epss: Path | None = None, today: datetime.date,
         max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> ThreatData:
    """The given files, or InputError (exit 2) naming the file and line or key."""
    sources: list[ThreatSource] = []
    kev_map: dict[str, Kev] | None = None
    epss_map: dict[str, Epss] | None = None
    if kev is not None:
        data = _read(kev, MAX_KEV, "KEV catalogue")
        kev_map, version, when = kev_file.parse(data, str(kev))
        _check_age(kev, "KEV catalogue", when, today, max_age_days)
        sources.append(ThreatSource(kind="kev", path=str(kev), version=version,
                                    sha256=hashlib.sha256(data).hexdigest(),
                                    date=_stamp(when), entries=len(kev_map)))
    if epss is not None:
        data = _read(epss, MAX_EPSS, "EPSS scores file")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{epss}: EPSS scores file is not UTF-8 (byte {exc.start})") \
                from None
        epss_map, version, when = epss_file.parse(text, str(epss))
        _check_age(epss, "EPSS scores file", when, today, max_age_days)
        sources.append(ThreatSource(kind="epss", path=str(epss), version=version,
                                    sha256=hashlib.sha256(data).hexdigest(),
                                    date=_stamp(when), entries=len(epss_map)))
    return ThreatData(kev=kev_map, epss=epss_map, sources=tuple(sources))


Expand = Callable[[str], Iterable[str]]


def cve_ids(f: Finding, expand: Expand | None = None) -> tuple[str, ...]:
    """Every CVE id the finding is known by: its rule id, its identifiers (aliases), and
    with `expand` (the advisory records) the aliases of those."""
    ids = [f.rule_id, *f.identifiers]
    if expand is not None:
        ids += [alias for i in list(ids) for alias in expand(i)]
    return tuple(dict.fromkeys(i.upper() for i in ids if i.upper().startswith("CVE-")))


def enrich(findings: Sequence[Finding], data: ThreatData,
           expand: Expand | None = None) -> tuple[Finding, ...]:
    """Findings with `kev` (the earliest-added listed alias) and `epss` (the highest-scored
    alias) set where the files know one of their CVE ids."""
    if data.kev is None and data.epss is None:
        return tuple(findings)
    out = []
    for f in findings:
        cves = cve_ids(f, expand)
        kevs = [k for c in cves if data.kev and (k := data.kev.get(c))]
        scores = [s for c in cves if data.epss and (s := data.epss.get(c))]
        kev = min(kevs, key=lambda k: (k.date_added, k.cve)) if kevs else None
        best = max(scores, key=lambda s: (s.score, s.percentile, s.cve)) if scores else None
        out.append(f.with_(kev=kev, epss=best) if kev or best else f)
    return tuple(out)
