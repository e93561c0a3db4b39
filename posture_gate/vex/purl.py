"""Just enough of the package URL spec (github.com/package-url/purl-spec) to compare the
package a VEX statement names with the package a finding is about."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from packaging.version import InvalidVersion, Version


@dataclass(frozen=True, kw_only=True)
class Purl:
    type: str
    namespace: str
    name: str
    version: str | None

    def same_package(self, other: Purl) -> bool:
        return (self.type, self.namespace, self.name) == (other.type, other.namespace,
                                                          other.name)

    def same_version(self, other: Purl) -> bool:
        if self.version is None or other.version is None:
            return False  # a statement must name the version it speaks for
        if self.type == "pypi":
            try:
                return Version(self.version) == Version(other.version)
            except InvalidVersion:
                pass
        return self.version == other.version


def _name(kind: str, name: str) -> str:
    # pypi: PEP 503 normalisation; the spec lowercases pypi/deb/apk/npm names
    if kind == "pypi":
        return re.sub(r"[-_.]+", "-", name).lower()
    return name.lower() if kind in ("deb", "apk", "npm", "rpm", "oci") else name


def parse(text: str) -> Purl | None:
    """pkg:type/namespace/name@version?qualifiers#subpath -> Purl, None if not a purl."""
    if not text.startswith("pkg:"):
        return None
    body = text[4:].split("#", 1)[0].split("?", 1)[0].strip("/")
    head, _, last = body.rpartition("/")
    name, _, version = last.partition("@")
    parts = [unquote(p) for p in [*(head.split("/") if head else []), name] if p]
    if len(parts) < 2:
        return None
    kind = parts[0].lower()
    return Purl(type=kind, namespace="/".join(parts[1:-1]).lower(),
                name=_name(kind, parts[-1]), version=unquote(version) or None)


def of_package(ecosystem: str, name: str, version: str | None, purl: str | None) -> Purl | None:
    """A finding's package as a purl: its own, else built from ecosystem/name/version."""
    if purl and (parsed := parse(purl)) is not None:
        return parsed
    kind = ecosystem.lower()
    return Purl(type=kind, namespace="", name=_name(kind, name), version=version)
