"""How a repository-local policy may differ from the trusted one: key by key, it may only
tighten (lower a limit, add a gate, a scanner or a target, raise a timeout). `merge` gives
the effective document or one PolicyError naming the first refused key as `file:line`.
Where the two policies come from is trust.py.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import PolicyError
from ..model import Severity
from ..scanners import SCANNERS
from ..scanners.base import EQUAL, FALSE_ONLY, HIGHER, LOWER, SUBSET, SUPERSET, TRUE_ONLY
from ..textutil import one_line
from .schema import PolicyDoc, _keypath, required_of

Key = tuple[str | int, ...]

# How a repository-local value may differ from the trusted one (scanners/base.py). A
# scanner option's rule is declared in its scanner module (Option.trust); EQUAL means
# trusted-only (fail closed: a new option is refused until someone decides).
_SCANNER_COMMON = {"enabled": TRUE_ONLY, "timeout": HIGHER, "args": EQUAL}
_COMMON_DEFAULTS: dict[str, Any] = {"enabled": True, "timeout": 600, "args": []}


def _option_rules(name: str) -> dict[str, str]:
    scanner = SCANNERS.get(name)
    own = {k: o.trust for k, o in scanner.options.items()} if scanner else {}
    return {**_SCANNER_COMMON, **own}


def _option_default(name: str, opt: str) -> Any:
    """What the scanner does when the option is not written (a missing value compares
    as this)."""
    scanner = SCANNERS.get(name)
    if opt in _COMMON_DEFAULTS:
        return _COMMON_DEFAULTS[opt]
    option = scanner.options.get(opt) if scanner else None
    return option.default if option else None


_GATE_RULES = {"fixable_only": FALSE_ONLY, "min_confidence": LOWER, "min_cvss": LOWER,
               "min_epss": LOWER, "min_percentile": LOWER,
               "treat_unknown_as": HIGHER, "categories": SUPERSET, "targets": SUPERSET}
_TOP_RULES = {"allow_inline_suppressions": FALSE_ONLY, "max_ignore_days": LOWER,
              "grace_days": LOWER}
_TOP_DEFAULTS = {"allow_inline_suppressions": True, "max_ignore_days": 90, "grace_days": 0}
_CONFIDENCE = {"low": 1, "medium": 2, "high": 3}


def _fmt(value: Any) -> str:
    return one_line(repr(value), 80)


class _Compare:
    """Walks a repository-local document against the trusted one, collecting refusals
    (with the local file's line) and the tightenings it accepted."""

    def __init__(self, trusted: PolicyDoc, local: PolicyDoc, today: datetime.date) -> None:
        self.trusted, self.local, self.today = trusted, local, today
        self.refused: list[tuple[int, str]] = []
        self.tightened: list[str] = []

    def where(self, key: Key) -> int:
        path = key
        while path:
            if path in self.local.lines:
                return self.local.lines[path]
            path = path[:-1]
        return 1

    def refuse(self, key: Key, why: str) -> None:
        name = _keypath(key)
        self.refused.append((self.where(key), f"{name}: {why}"))

    def value(self, key: Key, rule: str, t: Any, v: Any) -> None:
        """One scalar or list key under a rule; equal values are always fine."""
        if _same(t, v):
            return
        name = _keypath(key)
        ok = _tighter(rule, t, v)
        if ok is None:
            self.refuse(key, f"only the trusted policy ({self.trusted.source}) may set this "
                        f"(it says {_fmt(t)})")
        elif not ok:
            self.refuse(key, f"{_fmt(v)} loosens the trusted policy's {_fmt(t)} "
                        f"({self.trusted.source}); a repository-local policy may only tighten")
        else:
            self.tightened.append(f"{name}: {_fmt(t)} -> {_fmt(v)}")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(repr, a)) == sorted(map(repr, b))
    return bool(a == b) and isinstance(a, bool) == isinstance(b, bool)


def _rank(rule_key: str, value: Any) -> float:
    if rule_key == "min_confidence":
        return _CONFIDENCE.get(str(value), 1)  # none counts all, as `low` does
    if rule_key == "treat_unknown_as":
        return Severity(value).rank
    return float("inf") if value is None else float(value)


def _tighter(rule: str, t: Any, v: Any, key: str = "") -> bool | None:
    """True: v is at least as strict as t; False: it loosens; None: not comparable."""
    if rule == EQUAL:
        return None
    if rule == TRUE_ONLY:
        return bool(v) or not bool(t)
    if rule == FALSE_ONLY:
        return not bool(v) or bool(t)
    if rule in (SUBSET, SUPERSET):
        tv, vv = {repr(x) for x in t or []}, {repr(x) for x in v or []}
        return vv <= tv if rule == SUBSET else vv >= tv
    if rule in (LOWER, HIGHER):
        if v is None or t is None:
            # absent: no limit (LOWER) / the default (HIGHER, compared by the caller)
            return t is None if rule == LOWER else v is not None
        return bool(v <= t) if rule == LOWER else bool(v >= t)
    return None


def _caps(limits: Mapping[str, int]) -> dict[Severity, float]:
    """The most findings of each effective severity a gate lets through: a limit at a
    severity caps that severity and every one above it; `any` (and `unknown`) cap all."""
    caps: dict[Severity, float] = {}
    for sev in Severity:
        caps[sev] = min([float(n) for k, n in limits.items()
                         if k == "any" or Severity(k).rank <= sev.rank] or [float("inf")])
    return caps


def _gate(c: _Compare, key: Key, t: Mapping[str, Any], v: Mapping[str, Any]) -> dict[str, Any]:
    """A gate the trusted policy has: the local one must fail whenever it would."""
    tl, vl = _caps(t.get("max") or {}), _caps(v.get("max") or {})
    loose = [s.value for s in Severity if vl[s] > tl[s]]
    if loose:
        c.refuse((*key, "max"), f"lets more {loose[0]} findings through than the trusted "
                 f"policy's {_fmt(t.get('max'))} ({c.trusted.source})")
    elif (t.get("max") or {}) != (v.get("max") or {}):
        c.tightened.append(f"{'.'.join(map(str, key))}.max: {_fmt(t.get('max'))} -> "
                           f"{_fmt(v.get('max'))}")
    for name, rule in _GATE_RULES.items():
        tv, vv = t.get(name), v.get(name)
        if name == "treat_unknown_as":
            tv, vv = tv or "high", vv or "high"
            if _same(tv, vv):
                continue
            ok = _rank(name, vv) >= _rank(name, tv)
        elif name == "min_confidence":
            if _same(tv, vv):
                continue
            ok = _rank(name, vv) <= _rank(name, tv)
        elif name in ("min_cvss", "min_epss", "min_percentile"):
            if _same(tv, vv):
                continue
            ok = vv is None or (tv is not None and _rank(name, vv) <= _rank(name, tv))
        elif name == "targets":
            if _same(tv or [], vv or []):
                continue
            ok = not vv or (bool(tv) and set(vv) >= set(tv or []))  # [] = every target
        else:
            if _same(tv if tv is not None else _gate_default(name, key),
                     vv if vv is not None else _gate_default(name, key)):
                continue
            ok = bool(_tighter(rule, tv if tv is not None else _gate_default(name, key),
                               vv if vv is not None else _gate_default(name, key)))
        if ok:
            c.tightened.append(f"{'.'.join(map(str, key))}.{name}: {_fmt(tv)} -> {_fmt(vv)}")
        else:
            c.refuse((*key, name), f"{_fmt(vv)} loosens the trusted policy's {_fmt(tv)} "
                     f"({c.trusted.source}); a repository-local policy may only tighten")
    return {**t, **v}


def _gate_default(name: str, key: Key) -> Any:
    if name == "categories":
        gate = str(key[-1])
        return [gate] if gate not in ("new", "overdue", "kev") else []
    return False if name == "fixable_only" else None


def _gates(c: _Compare, t: Mapping[str, Any], v: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(t)
    for name, block in v.items():
        key: Key = ("gates", name)
        if name == "ratchet":
            if t.get("ratchet") and not block:
                c.refuse(key, "the trusted policy's ratchet may not be turned off")
            elif block and not t.get("ratchet"):
                c.tightened.append("gates.ratchet: false -> true")
            out[name] = bool(block) or bool(t.get("ratchet"))
        elif name == "per_target":
            merged = dict(t.get("per_target") or {})
            for target, gates in (block or {}).items():
                have = dict(merged.get(target) or {})
                for gname, gate in gates.items():
                    gkey: Key = ("gates", "per_target", target, gname)
                    if gname in have:
                        have[gname] = _gate(c, gkey, have[gname], gate)
                    else:
                        c.tightened.append(f"gates.per_target.{target}.{gname}: added")
                        have[gname] = gate
                merged[target] = have
            out[name] = merged
        elif name in t:
            out[name] = _gate(c, key, t[name], block)
        else:
            c.tightened.append(f"gates.{name}: added")
            out[name] = block
    return out


def _scanner_set(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A policy that names no scanners runs all of them with their defaults."""
    named = data.get("scanners") or {}
    return {n: dict(named[n]) for n in named} if named else {n: {} for n in SCANNERS}


def _required(block: Mapping[str, Any], name: str) -> bool:
    return required_of(block, name) if name in SCANNERS else \
        bool(block.get("required", not block.get("optional", False)))


def _scanners(c: _Compare, t: Mapping[str, Any], v: Mapping[str, Any]) -> dict[str, Any]:
    trusted, local = _scanner_set(t), dict(v.get("scanners") or {})
    out = dict(trusted)
    for name, block in local.items():
        base = trusted.get(name)
        if base is None:
            c.tightened.append(f"scanners.{name}: added")
            base = {}
        key: Key = ("scanners", name)
        if _required(base, name) and not _required(block, name):
            which = "optional" if "optional" in block else "required"
            c.refuse((*key, which), f"the trusted policy ({c.trusted.source}) requires "
                     f"{name}; a repository-local policy may not make it optional")
        rules = _option_rules(name)
        for opt in sorted(set(base) | set(block)):
            if opt in ("required", "optional"):
                continue
            default = _option_default(name, opt)
            tv, vv = base.get(opt, default), block.get(opt, base.get(opt, default))
            c.value((*key, opt), rules.get(opt, EQUAL), tv, vv)
        scanner = SCANNERS.get(name)
        for sub, why in scanner.local_refusals(base, block) if scanner else ():
            c.refuse((*key, *sub), why)
        merged = {k: x for k, x in {**base, **block}.items() if k not in ("required", "optional")}
        out[name] = {**merged, "required": _required(base, name) or _required(block, name)}
    return out


def _targets(c: _Compare, t: Sequence[Any], v: Sequence[Any]) -> list[Any]:
    """Trusted targets stay as written and first (a finding takes the first target that
    matches); a repository-local policy may add its own after them."""
    by_name = {x["name"]: x for x in t}
    out = list(t)
    for i, target in enumerate(v):
        have = by_name.get(target["name"])
        if have is None:
            c.tightened.append(f"targets: added {target['name']}")
            out.append(target)
        elif not _same(sorted(have.items()), sorted(target.items())):
            c.refuse(("targets", i), f"changes the trusted target '{target['name']}'; "
                     "add a new target instead")
    return out


def _ignores(c: _Compare, t: Mapping[str, Any], v: Mapping[str, Any]) -> list[Any]:
    trusted = list(t.get("ignore") or [])
    out = list(trusted)
    for i, entry in enumerate(v.get("ignore") or []):
        if any(_same(sorted(entry.items()), sorted(x.items())) for x in trusted):
            continue
        if not t.get("allow_repo_ignores"):
            c.refuse(("ignore", i), "the trusted policy does not allow repository-local "
                     "ignores (allow_repo_ignores)")
            continue
        limit = int(t.get("max_ignore_days", 90))
        expires = datetime.date.fromisoformat(str(entry["expires"]))
        if (expires - c.today).days > limit:
            c.refuse(("ignore", i, "expires"), f"{expires} is more than the trusted "
                     f"max_ignore_days ({limit}) ahead")
            continue
        c.tightened.append(f"ignore: added {entry.get('id') or entry.get('package') or i}")
        out.append(entry)
    return out


def merge(trusted: PolicyDoc, local: PolicyDoc, *, today: datetime.date
          ) -> tuple[dict[str, Any], list[str]]:
    """The effective document, or PolicyError naming every refused key of `local`."""
    c = _Compare(trusted, local, today)
    t, v = trusted.data, local.data
    out: dict[str, Any] = dict(t)
    for key in v:
        if key not in _HANDLED:
            c.value((key,), EQUAL, t.get(key), v.get(key))
    for key, rule in _TOP_RULES.items():
        if key in v:
            c.value((key,), rule, t.get(key, _TOP_DEFAULTS[key]), v[key])
            out[key] = v[key]
    if "at_stake" in v:  # what is at stake is information, never a limit: the union
        out["at_stake"] = list(dict.fromkeys([*(t.get("at_stake") or []), *v["at_stake"]]))
    for sev, days in (v.get("sla_days") or {}).items():
        tv = (t.get("sla_days") or {}).get(sev)
        c.value(("sla_days", sev), LOWER, tv, days)
    if "sla_days" in v:
        out["sla_days"] = {**(t.get("sla_days") or {}), **v["sla_days"]}
    if "gates" in v:
        out["gates"] = _gates(c, t.get("gates") or {}, v.get("gates") or {})
    if "scanners" in v:
        out["scanners"] = _scanners(c, t, v)
    if "targets" in v:
        out["targets"] = _targets(c, t.get("targets") or [], v.get("targets") or [])
    if "ignore" in v:
        out["ignore"] = _ignores(c, t, v)
    if "threat" in v:  # the files reach outside the scan: trusted-only; the age may shrink
        tt, vt = t.get("threat") or {}, v.get("threat") or {}
        for key in ("kev", "epss"):
            if key in vt:
                c.value(("threat", key), EQUAL, tt.get(key), vt[key])
        if "max_age_days" in vt:
            c.value(("threat", "max_age_days"), LOWER, tt.get("max_age_days", 7),
                    vt["max_age_days"])
        out["threat"] = {**tt, **vt}
    for block, keys in (("coverage", ("min_ratio",)), ("effectiveness", (
            "max_median_days_to_fix", "max_p90_days_to_fix", "min_sla_compliance"))):
        if block not in v:
            continue
        tb, vb = dict(t.get(block) or {}), dict(v.get(block) or {})
        for key in keys:  # floors may rise and limits fall, never the other way
            rule = HIGHER if key in ("min_ratio", "min_sla_compliance") else LOWER
            for name, value in (vb.get(key) or {}).items():
                c.value((block, key, name), rule, (tb.get(key) or {}).get(name), value)
            if key in vb:
                tb[key] = {**(tb.get(key) or {}), **vb[key]}
        if "unscanned_languages" in vb:
            c.value((block, "unscanned_languages"), TRUE_ONLY,
                    tb.get("unscanned_languages") == "fail", vb["unscanned_languages"] == "fail")
            tb["unscanned_languages"] = vb["unscanned_languages"]
        out[block] = tb
    if "platform" in v:  # where to ask and with which token: trusted-only
        tp, vp = t.get("platform") or {}, v.get("platform") or {}
        for key in sorted(vp):
            if key == "required":  # may only become required
                c.value(("platform", key), TRUE_ONLY, tp.get(key, True), vp[key])
            else:
                c.value(("platform", key), EQUAL, tp.get(key), vp[key])
        out["platform"] = {**tp, **vp} if tp else tp
    if c.refused:
        c.refused.sort()
        line, msg = c.refused[0]
        more = f" (+{len(c.refused) - 1} more)" if len(c.refused) > 1 else ""
        raise PolicyError(f"{local.source}:{line}: {msg}{more}")
    return out, c.tightened


# Top-level keys compared by their own rule above; every other key is trusted-only.
_HANDLED = frozenset({"version", "extends", "at_stake", "sla_days", "gates", "scanners",
                      "targets", "ignore", "threat", "platform", "coverage",
                      "effectiveness", *_TOP_RULES})
