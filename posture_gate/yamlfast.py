"""PyYAML's safe loader through libyaml when PyYAML was built with it: the same safe
constructors and resolvers as yaml.safe_load, about 8x faster. For data files read for
what they list (advisory records, the ids in semgrep rule files); a policy goes through
policy/yamlload.py, which is stricter (no anchors, no duplicate keys, line numbers)."""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Error = yaml.YAMLError


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
