"""trivy's vulnerability DB in its cache directory: where it is and how old (UpdatedAt)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..errors import ScannerError


def db_path(cache_dir: Path) -> Path:
    return cache_dir / "db" / "trivy.db"


def metadata_path(cache_dir: Path) -> Path:
    return cache_dir / "db" / "metadata.json"


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def _parse_time(text: object) -> datetime | None:
    """Go's RFC 3339 (up to nanoseconds, 'Z' or an offset); None if absent or zero."""
    m = _RFC3339.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    frac = (m.group(2) or "")[:6].ljust(6, "0")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        t = datetime.fromisoformat(f"{m.group(1)}.{frac}{zone}")
    except ValueError:
        return None
    return None if t.year <= 1 else t.astimezone(timezone.utc)


def db_updated_at(cache_dir: Path) -> datetime | None:
    """UpdatedAt from `<cache>/db/metadata.json`; None when missing or unreadable."""
    try:
        doc = json.loads(metadata_path(cache_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return _parse_time(doc.get("UpdatedAt")) if isinstance(doc, dict) else None


def _check_db_age(cache: Path, max_days: int, now: datetime | None = None) -> None:
    updated = db_updated_at(cache)
    if updated is None:
        raise ScannerError(
            "trivy", f"cannot tell the vulnerability DB's age: no readable UpdatedAt in "
            f"{metadata_path(cache)} (max_db_age_days is {max_days})",
            "refresh the cache with 'trivy image --download-db-only'")
    age = (now or datetime.now(timezone.utc)) - updated
    if age > timedelta(days=max_days):
        raise ScannerError(
            "trivy", f"vulnerability DB in {cache} is {age.days} days old (UpdatedAt "
            f"{updated:%Y-%m-%dT%H:%M:%SZ}; max_db_age_days is {max_days})",
            "refresh the cache with 'trivy image --download-db-only' or raise max_db_age_days")
