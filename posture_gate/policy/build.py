"""The validated policy document -> the frozen Policy (policy/model.py).

schema.py has already checked the document against policy-v1 and its own rules, so this
only converts: every value is where and of the type the schema says.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from importlib import resources
from typing import Any

from ..model import Category, Confidence, Severity
from ..platform import settings_from_policy
from ..scanners import SCANNERS
from ..scanners.base import ScannerSettings
from . import yamlload
from .floors import coverage_policy, effectiveness_policy
from .model import (
    EmailNotify,
    Gate,
    GateSpec,
    Ignore,
    Notify,
    Policy,
    SlackNotify,
    Target,
    ThreatFiles,
)

CATEGORY_GATES = tuple(c.value for c in Category)


def preset_text(name: str) -> str:
    return (resources.files("posture_gate.policy") / "presets" / f"{name}.yml").read_text()


def required_of(block: Mapping[str, Any], name: str) -> bool:
    """`required`, else not `optional`, else the scanner's own default."""
    if "required" in block:
        return bool(block["required"])
    if "optional" in block:
        return not block["optional"]
    return SCANNERS[name].required_by_default


def line_of(lines: Mapping[tuple[str | int, ...], int], path: tuple[str | int, ...]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def _gate(raw: Mapping[str, Any], categories: tuple[Category, ...],
          targets: tuple[str, ...] = ()) -> Gate:
    conf = raw.get("min_confidence")
    return Gate(
        limits={str(k): int(v) for k, v in (raw.get("max") or {}).items()},
        categories=tuple(Category(c) for c in raw["categories"]) if raw.get("categories")
        else categories,
        targets=tuple(raw.get("targets") or targets),
        fixable_only=bool(raw.get("fixable_only", False)),
        min_confidence=Confidence(conf) if conf else None,
        min_cvss=float(raw["min_cvss"]) if raw.get("min_cvss") is not None else None,
        min_epss=float(raw["min_epss"]) if raw.get("min_epss") is not None else None,
        min_percentile=float(raw["min_percentile"])
        if raw.get("min_percentile") is not None else None,
        treat_unknown_as=Severity(raw.get("treat_unknown_as", "high")),
    )


def from_data(data: Mapping[str, Any], lines: Mapping[tuple[str | int, ...], int],
           source: str, digest: str) -> Policy:
    targets = tuple(
        Target(name=t["name"], paths=tuple(t.get("paths") or ()), image=t.get("image"),
               exposure=t.get("exposure"), holds=tuple(t.get("holds") or ()),
               preset=t.get("preset"), owner=t.get("owner"))
        for t in data.get("targets") or []
    )
    gates_raw = data.get("gates") or {}
    specs: list[GateSpec] = []
    for cat in CATEGORY_GATES:
        if cat in gates_raw:
            specs.append(GateSpec(name=cat, kind="category",
                                  gate=_gate(gates_raw[cat], (Category(cat),))))
    if "new" in gates_raw:
        specs.append(GateSpec(name="new", kind="new", gate=_gate(gates_raw["new"], ())))
    if "overdue" in gates_raw:
        specs.append(GateSpec(name="overdue", kind="overdue",
                              gate=_gate(gates_raw["overdue"], ())))
    if "kev" in gates_raw:
        specs.append(GateSpec(name="kev", kind="kev", gate=_gate(gates_raw["kev"], ())))
    strict: dict[str, Any] | None = None
    for t in targets:
        if t.preset == "strict":
            if strict is None:
                strict = yamlload.load(preset_text("strict"))[0]
            for cat in CATEGORY_GATES:
                if cat in strict["gates"]:
                    specs.append(GateSpec(
                        name=f"per_target.{t.name}.{cat} (strict)", kind="category",
                        target=t.name,
                        gate=_gate(strict["gates"][cat], (Category(cat),), (t.name,))))
    for tname, block in (gates_raw.get("per_target") or {}).items():
        for key, raw in block.items():
            kind = "new" if key == "new" else "category"
            cats = () if key == "new" else (Category(key),)
            specs.append(GateSpec(name=f"per_target.{tname}.{key}", kind=kind, target=tname,
                                  gate=_gate(raw, cats, (tname,))))
    scanners: dict[str, ScannerSettings] = {}
    for name, raw in (data.get("scanners") or {}).items():
        if name not in SCANNERS:  # unreachable after the schema, kept for type narrowing
            continue
        required = required_of(raw, name)
        scanners[name] = ScannerSettings(
            name=name,
            enabled=bool(raw.get("enabled", True)),
            required=required,
            timeout=float(raw.get("timeout", 600)),
            extra_args=tuple(raw.get("args") or ()),
            options={k: v for k, v in raw.items()
                     if k not in ("enabled", "required", "optional", "timeout", "args")},
        )
    ignores = tuple(
        Ignore(reason=i["reason"], owner=i["owner"],
               expires=datetime.date.fromisoformat(i["expires"]), id=i.get("id"),
               fingerprint=i.get("fingerprint"), package=i.get("package"),
               paths=tuple(i.get("paths") or ()), target=i.get("target"),
               line=line_of(lines, ("ignore", n)))
        for n, i in enumerate(data.get("ignore") or [])
    )
    return Policy(
        source=source,
        digest=digest,
        at_stake=tuple(data.get("at_stake") or ()),
        targets=targets,
        scanners=scanners,
        gates=tuple(specs),
        ratchet=bool(gates_raw.get("ratchet", False)),
        ignores=ignores,
        allow_inline_suppressions=bool(data.get("allow_inline_suppressions", True)),
        max_ignore_days=int(data.get("max_ignore_days", 90)),
        grace_days=int(data.get("grace_days", 0)),
        advisories=data.get("advisories"),
        threat=_threat(data.get("threat") or {}),
        vex=tuple(data.get("vex") or ()),
        sla_days={str(k): int(v) for k, v in (data.get("sla_days") or {}).items()},
        notify=_notify(data.get("notify") or {}),
        honor_repo_config=tuple(data.get("honor_repo_config") or ()),
        allow_repo_ignores=bool(data.get("allow_repo_ignores", False)),
        platform=settings_from_policy(data.get("platform")),
        coverage=coverage_policy(data.get("coverage")),
        effectiveness=effectiveness_policy(data.get("effectiveness")),
    )


def _threat(raw: Mapping[str, Any]) -> ThreatFiles:
    return ThreatFiles(kev=raw.get("kev"), epss=raw.get("epss"),
                       max_age_days=int(raw.get("max_age_days", 7)))


def _notify(raw: Mapping[str, Any]) -> Notify:
    slack = raw.get("slack")
    email = raw.get("email")
    return Notify(
        slack=SlackNotify(webhook_url_env=slack["webhook_url_env"],
                          on=slack.get("on", "failure")) if slack else None,
        email=EmailNotify(
            smtp_host=email["smtp_host"], sender=email["from"], to=tuple(email["to"]),
            smtp_port=int(email["smtp_port"]) if email.get("smtp_port") else None,
            starttls=bool(email.get("starttls", True)),
            username_env=email.get("username_env"), password_env=email.get("password_env"),
            on=email.get("on", "failure")) if email else None,
    )
