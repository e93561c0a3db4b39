"""pip-audit's enrichment step: severities for the advisories it reported (it reports none).

Local records (--advisories) first, then the OSV API pip-audit was given (its
`/v1/vulns/<id>`, no redirects), each call short, all of a run's calls within one budget.
Run by scan.py after the scanners finished (Scanner.enrich), outside any tool's timeout.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from .. import advisories as osv
from ..model import Cvss, Severity
from .base import severity_from_score

SEVERITY_BUDGET_S = 20.0  # for all of a run's look-ups together
SEVERITY_CALL_TIMEOUT_S = 5.0
MAX_RECORD_BYTES = 1 << 20


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Look-ups go to the OSV server pip-audit was given and nowhere it points to."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


class Fetcher:
    """Severity for pip-audit's ids: local records first, then the OSV API pip-audit was given
    (its `/v1/vulns/<id>`, no redirects), each call short, all of them within one budget."""

    def __init__(self, osv_url: str | None, local: osv.AdvisoryDB | None, *,
                 budget_s: float = SEVERITY_BUDGET_S,
                 timeout_s: float = SEVERITY_CALL_TIMEOUT_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base = vulns_base(osv_url)
        self.local = local
        self.budget_s, self.timeout_s, self.clock = budget_s, timeout_s, clock
        self._deadline: float | None = None
        self._cache: dict[str, Mapping[str, Any] | None] = {}
        self._opener = urllib.request.build_opener(_NoRedirect)
        self.failed = 0
        self.not_asked = 0

    def record(self, vuln_id: str) -> Mapping[str, Any] | None:
        if self.local is not None and (rec := self.local.get(vuln_id)) is not None:
            return rec
        if self.base is None or not _ID.match(vuln_id):
            return None
        if vuln_id not in self._cache:
            self._cache[vuln_id] = self._fetch(vuln_id)
        return self._cache[vuln_id]

    def _fetch(self, vuln_id: str) -> Mapping[str, Any] | None:
        if self._deadline is None:
            self._deadline = self.clock() + self.budget_s
        left = self._deadline - self.clock()
        if left <= 0:
            self.not_asked += 1
            return None
        url = f"{self.base}{urllib.parse.quote(vuln_id, safe='')}"
        try:
            with self._opener.open(url, timeout=min(self.timeout_s, left)) as resp:
                rec = json.loads(resp.read(MAX_RECORD_BYTES + 1)[:MAX_RECORD_BYTES])
        except urllib.error.HTTPError as exc:
            if exc.code != 404:  # 404: no record for this id, an answer
                self.failed += 1
            return None
        except (OSError, ValueError):
            self.failed += 1
            return None
        return rec if isinstance(rec, dict) else None

    def severity(self, ids: list[str], package: str) -> tuple[Severity, str | None, Cvss | None]:
        for vid in ids:  # the reported id first, then its aliases (GHSA records carry CVSS)
            rec = self.record(vid)
            if rec is None:
                continue
            try:
                score = osv.cvss_of(rec, package)
                word = osv.word_severity(rec)
            except (TypeError, ValueError, AttributeError, KeyError):
                continue  # a malformed record says nothing about severity
            if score is not None:
                sev = severity_from_score(score.score, cvss_v2=score.version == "2")
                return sev, f"{vid} CVSS {score.version}", score
            if word is not None:
                return word, f"{vid} database_specific.severity", None
        return Severity.UNKNOWN, None, None

    def warnings(self) -> list[str]:
        out = []
        if self.failed:
            out.append(f"severity look-ups: {self.failed} failed at {self.base}; those "
                       "advisories are 'unknown' unless another id had a record")
        if self.not_asked:
            out.append(f"severity look-ups: {self.not_asked} not made, the {self.budget_s:g}s "
                       "budget was spent; those advisories may be 'unknown'")
        return out


def vulns_base(osv_url: str | None) -> str | None:
    """`<scheme>://<host>[:port]<prefix>/v1/vulns/` of the query URL pip-audit was given, for
    http(s) URLs only."""
    if not osv_url or "/v1/" not in osv_url:
        return None
    parts = urllib.parse.urlsplit(osv_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    prefix = parts.path.rsplit("/v1/", 1)[0]
    return f"{parts.scheme}://{parts.netloc}{prefix}/v1/vulns/"
