"""Policy YAML -> checked document (`PolicyDoc`) -> frozen Policy (the conversion is
build.py). Every error names file, line and key path.

Unknown keys are errors: a typo in a gate (`hihg: 0`) would otherwise be a silent pass.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import PolicyError
from ..fsutil import MAX_POLICY_FILE, TooLarge, read_capped
from ..scanners import SCANNERS
from ..scanners.base import forbidden_arg
from ..schemas import load_schema
from ..textutil import one_line
from . import yamlload
from .build import from_data
from .build import line_of as _line
from .build import preset_text as _preset_text
from .build import required_of as required_of  # re-exported: moved to build.py
from .model import Policy

PRESETS = ("default", "strict", "nightly")


@cache
def policy_schema() -> dict[str, Any]:
    """policy-v1 with every registered scanner's block (its options' schema fragments)."""
    return load_schema("policy-v1")


def with_preset_scanners(preset: str, data: Any) -> Any:
    """A preset's document with the scanner blocks each scanner module declares for it
    (a preset file names no scanner; one it does name keeps its own block)."""
    if not isinstance(data, dict):
        return data
    declared = {s.name: copy.deepcopy(dict(s.presets[preset])) for s in SCANNERS.values()
                if preset in s.presets}
    return {**data, "scanners": {**declared, **(data.get("scanners") or {})}}


def _keypath(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _schema_errors(data: Any, lines: Mapping[tuple[str | int, ...], int],
                   source: str) -> list[tuple[int | None, str]]:
    import jsonschema  # here: ~40 ms of start-up that a run on a preset alone never needs

    validator = jsonschema.Draft202012Validator(policy_schema())
    out: list[tuple[int | None, str]] = []
    for err in validator.iter_errors(data):
        path = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set((err.schema.get("properties") or {}).keys())
            for key in sorted(set(err.instance) - allowed):
                where = (*path, key)
                hint = f" (expected one of: {', '.join(sorted(allowed))})" if allowed else ""
                out.append((_line(lines, where), f"{_keypath(where)}: unknown key{hint}"))
            continue
        if err.validator == "required":
            msg = err.message.replace(" is a required property", "")
            out.append((_line(lines, path), f"{_keypath(path)}: missing required key {msg}"))
            continue
        msg = err.message
        if len(msg) > 160:
            msg = msg[:157] + "..."
        out.append((_line(lines, path), f"{_keypath(path)}: {msg}"))
    out.sort(key=lambda e: (e[0] or 0, e[1]))
    return out


def _overlay(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`extends`: sections (gates, scanners...) merge by key; each gate or scanner block
    written in the policy replaces the preset's whole block, so no limit is inherited
    unseen."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def _read(ref: str) -> tuple[str, str, str | None]:
    """(source name, text, the preset's name or None) for a preset name or a file path."""
    if ref in PRESETS and not Path(ref).exists():
        return f"preset:{ref}", _preset_text(ref), ref
    path = Path(ref)
    try:
        # Capped: `policy validate /dev/zero` (or a huge planted file) ends at once.
        return str(path), read_capped(path, MAX_POLICY_FILE).decode("utf-8"), None
    except FileNotFoundError:
        raise PolicyError(f"{ref}: policy file not found",
                          f"or use a preset: {', '.join(PRESETS)}") from None
    except TooLarge as exc:
        raise PolicyError(f"{ref}: policy file is {exc} (the limit)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{ref}: cannot read policy ({exc})") from None


@dataclass(frozen=True, kw_only=True)
class PolicyDoc:
    """A validated policy document before it becomes a Policy: the trust rules
    (policy/trust.py) compare two of these key by key and cite `lines`."""

    source: str  # file path, "preset:NAME" or "REF:PATH"
    text: str
    data: Mapping[str, Any]  # `extends` already applied
    lines: Mapping[tuple[str | int, ...], int]
    base_dir: str | None  # where relative paths in it resolve; None: the scanned root

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def parse_text(source: str, text: str, *, today: datetime.date, base_dir: str | None = None,
               preset: str | None = None) -> tuple[list[str], PolicyDoc | None]:
    """All problems as 'source:line: key: message' lines, and the document when none.
    `preset`: the text is that bundled preset's (read_doc knows; a source label such as a
    --policy-ref 'preset:PATH', a git branch named 'preset', never makes it one)."""
    try:
        data, lines = yamlload.load(text)
    except yamlload.YamlError as exc:
        where = f"{source}:{exc.line}" if exc.line else source
        return [f"{where}: {exc.message}"], None
    if preset is not None:
        data = with_preset_scanners(preset, data)
    if not isinstance(data, dict):
        return [f"{source}:1: the policy must be a mapping with 'version: 1'"], None
    # A preset is this package's own data, as trusted as its code (`extends` takes one
    # unchecked too): tests/policy/test_schema.py checks each against the schema, so a run
    # on one is spared the schema check (jsonschema's import and the walk: ~50 ms).
    problems = [] if preset is not None else [f"{source}:{line or 1}: {msg}" for line, msg
                                              in _schema_errors(data, lines, source)]
    if problems:
        return problems, None
    if data.get("extends"):
        base = with_preset_scanners(data["extends"],
                                    yamlload.load(_preset_text(data["extends"]))[0])
        data = _overlay(base, {k: v for k, v in data.items() if k != "extends"})
    problems = [f"{source}:{line or 1}: {msg}" for line, msg in
                _semantic_errors(data, lines, today)]
    if problems:
        return problems, None
    problems = _args_problems(source, data, lines)
    if problems:
        return problems, None
    return [], PolicyDoc(source=source, text=text, data=data, lines=lines, base_dir=base_dir)


def _args_problems(source: str, data: Mapping[str, Any],
                   lines: Mapping[tuple[str | int, ...], int]) -> list[str]:
    """`args` may never carry a flag that writes files or reads foreign configuration,
    whoever wrote the policy."""
    out = []
    for name, block in (data.get("scanners") or {}).items():
        scanner = SCANNERS.get(name)
        bad = forbidden_arg([str(a) for a in block.get("args") or []],
                            scanner.forbidden_args) if scanner else None
        if bad is not None:
            line = _line(lines, ("scanners", name, "args")) or 1
            out.append(f"{source}:{line}: scanners.{name}.args: '{one_line(bad, 60)}' is not "
                       "allowed (it writes files or reads configuration posture-gate does not "
                       "own; use the policy's own keys)")
    return out


def read_doc(ref: str, *, today: datetime.date) -> tuple[list[str], PolicyDoc | None]:
    """A preset name or a policy file (relative paths in a file resolve beside it)."""
    source, text, preset = _read(ref)
    if preset is not None:
        return parse_text(source, text, today=today, preset=preset)
    return parse_text(source, text, today=today, base_dir=str(Path(source).parent))


def build(doc: PolicyDoc, *, source: str | None = None, digest: str | None = None) -> Policy:
    return replace(from_data(doc.data, doc.lines, source or doc.source, digest or doc.digest),
                   base_dir=doc.base_dir)


def check(ref: str, *, today: datetime.date) -> tuple[list[str], Policy | None]:
    """All problems as 'file:line: key: message' lines, and the policy when there are none."""
    problems, doc = read_doc(ref, today=today)
    return problems, build(doc) if doc is not None else None


def with_scanner_options(policy: Policy, name: str, overrides: Mapping[str, Any]) -> Policy:
    """Command-line flags win over the policy file; None means 'not given'."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return policy
    scanners = policy.scanner_settings()
    if name not in scanners:
        return policy  # the policy does not run this scanner; flags for it change nothing
    current = scanners[name]
    scanners[name] = replace(current, options={**current.options, **given})
    return replace(policy, scanners=scanners)


def load_policy(ref: str, *, today: datetime.date) -> Policy:
    problems, policy = check(ref, today=today)
    if problems or policy is None:
        extra = f" (+{len(problems) - 1} more; run 'posture-gate policy validate')" \
            if len(problems) > 1 else ""
        raise PolicyError(problems[0] + extra)
    return policy


def _semantic_errors(data: Mapping[str, Any], lines: Mapping[tuple[str | int, ...], int],
                     today: datetime.date) -> list[tuple[int | None, str]]:
    errs: list[tuple[int | None, str]] = []
    names = [t["name"] for t in data.get("targets") or []]
    for i, name in enumerate(names):
        if names.index(name) != i:
            errs.append((_line(lines, ("targets", i, "name")),
                         f"targets[{i}].name: duplicate target '{name}'"))
    gates = data.get("gates") or {}
    for tname in (gates.get("per_target") or {}):
        if tname not in names:
            pt: tuple[str | int, ...] = ("gates", "per_target", tname)
            errs.append((_line(lines, pt), f"{_keypath(pt)}: no target named '{tname}'"))
    for gname, gate in gates.items():
        if isinstance(gate, dict) and gname != "per_target":
            for j, t in enumerate(gate.get("targets") or []):
                if t not in names:
                    pg: tuple[str | int, ...] = ("gates", gname, "targets", j)
                    errs.append((_line(lines, pg), f"{_keypath(pg)}: no target named '{t}'"))
    if "overdue" in gates and not data.get("sla_days"):
        po: tuple[str | int, ...] = ("gates", "overdue")
        errs.append((_line(lines, po), f"{_keypath(po)}: needs sla_days (days per severity) "
                     "or it can never count a finding"))
    for sname, block in (data.get("scanners") or {}).items():
        timeout = block.get("timeout") if isinstance(block, dict) else None
        # The schema's `exclusiveMinimum: 0` lets .nan and .inf through (no timeout at all).
        if isinstance(timeout, float) and not math.isfinite(timeout):
            pk: tuple[str | int, ...] = ("scanners", sname, "timeout")
            errs.append((_line(lines, pk), f"{_keypath(pk)}: must be a finite number of "
                         f"seconds > 0, not {timeout}"))
    max_days = int(data.get("max_ignore_days", 90))
    for i, ign in enumerate(data.get("ignore") or []):
        p: tuple[str | int, ...] = ("ignore", i, "expires")
        try:
            expires = datetime.date.fromisoformat(ign["expires"])
        except ValueError:
            errs.append((_line(lines, p), f"{_keypath(p)}: not a date: {ign['expires']}"))
            continue
        if (expires - today).days > max_days:
            errs.append((_line(lines, p), f"{_keypath(p)}: {expires} is more than "
                         f"max_ignore_days ({max_days}) ahead of {today}"))
        if ign.get("target") and ign["target"] not in names:
            q = ("ignore", i, "target")
            errs.append((_line(lines, q), f"{_keypath(q)}: no target named '{ign['target']}'"))
    return errs
