"""A small JSON client for the hosting platform's REST API.

The token is the one secret posture-gate holds here, so the client is strict about where it
goes: only to the configured API origin (never a redirect, never a `Link` to another host),
only over https unless the API is on loopback, and never into a message (every error text is
passed through `scrub`). Rate limits (429, or 403 with no requests left) are retried per
`Retry-After` / `x-ratelimit-reset` within a bounded budget of waiting; every request has a
timeout and the whole platform step a deadline.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..redact import MASK, redact
from ..textutil import one_line

MAX_BODY = 4 << 20  # an API answer larger than this is not one we asked for
MAX_PAGES = 50
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class ApiError(Exception):
    """The API could not be asked (network, timeout, rate limit exhausted, bad answer)."""


@dataclass(frozen=True, kw_only=True)
class Response:
    status: int
    body: Any  # parsed JSON, or None for an empty body
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def message(self) -> str:
        """The API's own error message, one inert line (GitHub/GitLab `message`)."""
        if isinstance(self.body, dict):
            return one_line(self.body.get("message") or self.body.get("error") or "", 120)
        return ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx comes back as an HTTPError: the token never follows it


def check_api_url(url: str) -> str:
    """The API base URL, or ValueError: https, or http on loopback only."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"platform API URL {one_line(url, 100)!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise ValueError("platform API URL must not carry credentials")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ValueError(f"platform API URL {parts.hostname} is http: the token needs https")
    return url.rstrip("/")


def _origin(url: str) -> tuple[str, str, int | None]:
    p = urllib.parse.urlsplit(url)
    return p.scheme, (p.hostname or "").lower(), p.port


def next_link(header: str | None) -> str | None:
    m = _NEXT.search(header or "")
    return m.group(1) if m else None


def retry_wait(status: int, headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the API asks us to wait before retrying, or None when it is not a rate limit."""
    limited = status == 429 or (status == 403 and headers.get("x-ratelimit-remaining") == "0")
    if not limited:
        return None
    after = headers.get("retry-after", "").strip()
    if after.isdigit():
        return float(after)
    if after:
        try:
            return max(0.0, email.utils.parsedate_to_datetime(after).timestamp() - now)
        except (TypeError, ValueError):
            pass
    reset = headers.get("x-ratelimit-reset", "").strip()
    if reset.isdigit():
        return max(0.0, float(reset) - now)
    return 1.0 if status == 429 else None


@dataclass
class Client:
    base_url: str
    auth_header: tuple[str, str] | None  # ("Authorization", "Bearer ...") or ("PRIVATE-TOKEN", ...)
    timeout: float = 10.0
    retry_budget: float = 30.0  # total seconds we agree to wait for rate limits
    max_retries: int = 3
    deadline: float = 120.0  # seconds for the whole platform step
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    retries: int = 0  # rate-limit retries done (reported in the run)
    requests: int = 0
    _started: float = 0.0
    _opener: Any = None

    def __post_init__(self) -> None:
        self.base_url = check_api_url(self.base_url)
        self._started = self.clock()
        self._opener = urllib.request.build_opener(_NoRedirect())

    def scrub(self, text: str) -> str:
        """Any text about a request with the token removed (and redact()'s net)."""
        if self.auth_header and self.auth_header[1]:
            value = self.auth_header[1]
            text = text.replace(value, MASK)
            token = value.split(" ", 1)[-1]
            if len(token) >= 4:
                text = text.replace(token, MASK)
        return redact(text)

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            if _origin(path_or_url) != _origin(self.base_url):
                raise ApiError("the API pointed to another host; not followed")
            return path_or_url
        return self.base_url + path_or_url

    def _once(self, url: str) -> Response:
        left = self.deadline - (self.clock() - self._started)
        if left <= 0:
            raise ApiError(f"platform checks took longer than {self.deadline:.0f} s")
        # the URL is the checked API base (https or loopback http) or a same-origin link
        req = urllib.request.Request(url, headers={  # noqa: S310
            "Accept": "application/json", "User-Agent": "posture-gate"})
        if self.auth_header:
            req.add_unredirected_header(*self.auth_header)
        self.requests += 1
        try:
            with self._opener.open(req, timeout=min(self.timeout, left)) as resp:
                return self._read(resp.status, resp.headers, resp)
        except urllib.error.HTTPError as exc:
            with exc:
                return self._read(exc.code, exc.headers, exc)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(self.scrub(one_line(f"cannot reach the API: {reason}", 200))) \
                from None

    def _read(self, status: int, headers: Any, stream: Any) -> Response:
        try:
            raw = stream.read(MAX_BODY + 1)
        except (OSError, TimeoutError) as exc:
            raise ApiError(self.scrub(one_line(f"reading the API answer failed: {exc}"))) \
                from None
        if len(raw) > MAX_BODY:
            raise ApiError(f"API answer over {MAX_BODY} bytes")
        hdrs = {k.lower(): str(v) for k, v in (headers or {}).items()}
        body: Any = None
        if raw.strip():
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                if 200 <= status < 300:
                    raise ApiError(f"API answered {status} with a body that is not JSON") \
                        from None
        return Response(status=status, body=body, headers=hdrs)

    def get(self, path: str) -> Response:
        """One GET, retried while rate-limited and the budget allows."""
        url = self._url(path)
        waited = 0.0
        for attempt in range(self.max_retries + 1):
            resp = self._once(url)
            wait = retry_wait(resp.status, resp.headers, self.clock())
            if wait is None:
                return resp
            if attempt == self.max_retries or waited + wait > self.retry_budget:
                raise ApiError(f"rate limited ({resp.status}); asked to wait {wait:.0f} s, "
                               f"past the retry budget of {self.retry_budget:.0f} s")
            self.retries += 1
            waited += wait
            self.sleep(wait)
        raise ApiError("rate limited")  # unreachable: the loop returns or raises

    def get_all(self, path: str) -> tuple[Response, list[Any]]:
        """Every page of a list endpoint (`Link: rel="next"`). Stops at the first non-2xx
        answer, which is returned with the items gathered so far."""
        items: list[Any] = []
        url: str | None = path
        resp = Response(status=0, body=None)
        pages = 0
        while url is not None:
            if pages == MAX_PAGES:
                raise ApiError(f"{path.split('?')[0]}: more than {MAX_PAGES} pages")
            pages += 1
            resp = self.get(url)
            if not resp.ok:
                return resp, items
            if not isinstance(resp.body, list):
                raise ApiError(f"{path.split('?')[0]}: expected a list")
            items += resp.body
            url = next_link(resp.headers.get("link"))
        return resp, items
