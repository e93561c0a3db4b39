"""The policy's `coverage:` and `effectiveness:` blocks (validated by policy-v1) as data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import CoveragePolicy, EffectivenessPolicy


def _numbers(raw: Any) -> dict[str, float]:
    return {str(k): float(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def coverage_policy(raw: Mapping[str, Any] | None) -> CoveragePolicy | None:
    if raw is None:
        return None
    return CoveragePolicy(min_ratio=_numbers(raw.get("min_ratio")),
                          unscanned_languages=str(raw.get("unscanned_languages") or "warn"))


def effectiveness_policy(raw: Mapping[str, Any] | None) -> EffectivenessPolicy | None:
    if raw is None:
        return None
    return EffectivenessPolicy(
        max_median_days_to_fix=_numbers(raw.get("max_median_days_to_fix")),
        max_p90_days_to_fix=_numbers(raw.get("max_p90_days_to_fix")),
        min_sla_compliance=_numbers(raw.get("min_sla_compliance")))
