"""Recompute expected-advisories.json from the OSV records in advisories/.

Usage (from examples/): python expected_advisories.py [--check]

For every ``name==version`` line of webapp/requirements.txt, a record in
advisories/<name>/ affects the pin when it is not withdrawn and either the
version is listed in ``affected[].versions`` or it falls inside an
``ECOSYSTEM`` range of ``affected[].ranges`` (OSV semantics, PEP 440 ordering).
``GIT`` ranges are commit ranges and are ignored.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name
from packaging.version import Version

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "webapp" / "requirements.txt"
ADVISORIES = HERE / "advisories"
OUTPUT = HERE / "expected-advisories.json"


def _key(value: str) -> tuple[int, Version]:
    # OSV uses "0" for "every version": sort it before anything PEP 440 can express.
    return (0, Version("0")) if value == "0" else (1, Version(value))


def in_ecosystem_range(version: Version, events: list[dict[str, str]]) -> bool:
    ordered = sorted(events, key=lambda e: _key(next(iter(e.values()))))
    affected = False
    for event in ordered:
        kind, value = next(iter(event.items()))
        bound = _key(value)
        if kind == "introduced":
            if bound[0] == 0 or version >= bound[1]:
                affected = True
        elif _closes(kind, version, Version(value)):
            affected = False
    return affected


def _closes(kind: str, version: Version, bound: Version) -> bool:
    if kind == "last_affected":
        return version > bound
    return kind in ("fixed", "limit") and version >= bound


def affects(record: dict[str, Any], name: str, version: str) -> bool:
    parsed = Version(version)
    for entry in record.get("affected", []):
        package = entry.get("package", {})
        if package.get("ecosystem") != "PyPI" or canonicalize_name(package["name"]) != name:
            continue
        if any(Version(v) == parsed for v in entry.get("versions", [])):
            return True
        for rng in entry.get("ranges", []):
            if rng.get("type") == "ECOSYSTEM" and in_ecosystem_range(parsed, rng["events"]):
                return True
    return False


def compute() -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        raw_name, version = line.split("==")
        name = canonicalize_name(raw_name)
        ids = []
        for path in sorted((ADVISORIES / name).glob("*.yaml")):
            record = yaml.safe_load(path.read_text())
            if record.get("withdrawn"):
                continue
            if affects(record, name, version):
                ids.append(record["id"])
        result[f"{name}=={version}"] = sorted(ids)
    return result


def main() -> int:
    text = json.dumps(compute(), indent=2, sort_keys=True) + "\n"
    if "--check" in sys.argv[1:]:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT.name} is out of date", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
