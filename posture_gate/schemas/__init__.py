"""JSON Schemas shipped with the package (policy-v1, finding-v1).

The files name no scanner: the scanner names (`$defs.scanner_name`), the config files a
policy may honour (`$defs.repo_config_name`) and each scanner's policy block come from the
registry (posture_gate/scanners) when a schema is loaded.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def _file(name: str) -> dict[str, Any]:
    text = (resources.files(__package__) / f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_schema(name: str) -> dict[str, Any]:
    """The schema with the registry's scanners filled in (a fresh copy each call)."""
    from ..scanners import SCANNERS  # the registry imports the model, not the schemas

    schema = copy.deepcopy(_file(name))
    defs = schema.get("$defs", {})
    if "scanner_name" in defs:
        # a run's findings and jobs also come from the platform checks (posture_gate/platform),
        # which are no scanner a policy configures
        extra = ["platform"] if name == "finding-v1" else []
        defs["scanner_name"]["enum"] = [*SCANNERS, *extra]
    if "repo_config_name" in defs:
        defs["repo_config_name"]["enum"] = [n for s in SCANNERS.values()
                                            for n in sorted(s.honourable)]
    blocks = schema.get("properties", {}).get("scanners")
    if blocks is not None and "scanner_common" in defs:
        common = defs["scanner_common"]
        blocks["properties"] = {
            s.name: {"type": "object", "additionalProperties": False,
                     "properties": {**common,
                                    **{k: dict(o.schema) for k, o in s.options.items()}}}
            for s in SCANNERS.values()}
    return schema
