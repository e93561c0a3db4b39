"""Where a SARIF result points: a percent-encoded repo-relative URI, or for a finding with
no file (an OS package in an image, a platform setting) a stable placeholder path; the region
is whole lines."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from ..model import Category, Finding

URI_SAFE = "/-._~!$&'()*+,;=:@"
IMAGE_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def artifact_uri(path: str) -> str:
    """A repo-relative POSIX path as a URI reference: percent-encoded, never absolute.
    Every character is kept (so the alert points at the file), none appears raw; a byte
    that was not UTF-8 in the file name (a surrogate escape) is encoded as that byte."""
    path = path.replace("\\", "/")
    while path.startswith(("./", "/")):
        path = path[2:] if path.startswith("./") else path[1:]
    try:
        uri = quote(path or "unknown", safe=URI_SAFE, errors="surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        uri = quote(path, safe=URI_SAFE, errors="replace")
    # RFC 3986: a colon in the first segment would make it a scheme ("a:b") or invalid.
    head, sep, tail = uri.partition("/")
    return head.replace(":", "%3A") + sep + tail


def image_placeholder(image: str | None) -> str:
    """Where a finding with no file at all (an OS package in an image) is shown.

    Stable across builds: the image's repository without tag or digest, because GitHub
    closes and re-opens alerts whose path changes. (Whether a Dockerfile exists cannot be
    checked here: reporters do no file I/O.)
    """
    name = (image or "").split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    name = IMAGE_SAFE.sub("_", name).strip("._-")
    return f"container-image/{name or 'unknown'}"


def location(f: Finding) -> dict[str, Any]:
    if f.location is not None and f.location.path:
        path = f.location.path
        start = f.location.start_line if f.location.start_line and \
            f.location.start_line > 0 else 1
        end = f.location.end_line if f.location.end_line and \
            f.location.end_line >= start else start
    elif f.category is Category.PLATFORM:
        # a hosting-platform setting (platform/): no file; one stable path per provider
        path, start, end = f"platform-settings/{f.rule_id.split('/', 1)[0]}", 1, 1
    else:
        path, start, end = image_placeholder(f.image), 1, 1
    # Columns are unknown: 1..1 like trivy; every region value >= 1 (docs/formats.md 1.4).
    return {"physicalLocation": {
        "artifactLocation": {"uri": artifact_uri(path), "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": start, "startColumn": 1, "endLine": end, "endColumn": 1},
    }}
