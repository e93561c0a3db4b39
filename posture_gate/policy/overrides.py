"""`--scanner-option NAME.KEY=VALUE`: command-line settings of one scanner's policy options.

The command line is the CI owner's, so these are trusted: they apply to the effective
policy after the trust rules (policy/trust.py) and win over every policy file, as the
trivy flags always have. Each KEY must be an option the policy schema gives that scanner,
and VALUE is typed and checked by that schema; an array option takes one item per flag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..scanners import SCANNERS
from ..scanners.base import forbidden_arg
from ..textutil import one_line
from .model import Policy
from .schema import policy_schema, with_scanner_options

FLAG = "--scanner-option"
# Never set from the command line: whether a scanner runs and must succeed is the policy's.
NOT_OPTIONS = frozenset({"enabled", "required", "optional"})
# Paths on the command line are relative to the working directory, like every CLI path
# (a relative path in a policy file is relative to that file).
PATH_KEYS = frozenset({"cache_dir"})
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _option_schemas(name: str) -> dict[str, Any]:
    root = policy_schema()
    block = root["properties"]["scanners"]["properties"].get(name) or {}
    props: dict[str, Any] = block.get("properties") or {}
    return {k: v for k, v in props.items() if k not in NOT_OPTIONS}


def _typed(spec: str, schema: Mapping[str, Any], raw: str) -> Any:
    kind = schema.get("type")
    try:
        if kind == "boolean":
            if raw.lower() not in (*_TRUE, *_FALSE):
                raise ValueError("expected true or false")
            return raw.lower() in _TRUE
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError as exc:
        raise UsageError(f"{FLAG} {spec}: {exc}") from None
    return raw


def parse(specs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """['trivy.skip_db_update=true', ...] -> {'trivy': {'skip_db_update': True}}.
    A later flag for a scalar key wins; array keys collect every flag's item in order."""
    out: dict[str, dict[str, Any]] = {}
    for spec in specs:
        shown = one_line(spec, 120)
        key_part, eq, raw = spec.partition("=")
        name, dot, key = key_part.partition(".")
        if not eq or not dot or not name or not key:
            raise UsageError(f"{FLAG}: expected NAME.KEY=VALUE, got '{shown}'")
        if name not in SCANNERS:
            raise UsageError(f"{FLAG} {shown}: unknown scanner '{one_line(name, 40)}' "
                             f"(known: {', '.join(sorted(SCANNERS))})")
        options = _option_schemas(name)
        if key not in options:
            raise UsageError(f"{FLAG} {shown}: {name} has no option '{one_line(key, 40)}' "
                             f"(known: {', '.join(sorted(options))})")
        schema = options[key]
        if schema.get("type") == "array":
            item = _typed(shown, schema.get("items") or {}, raw)
            value: Any = [*out.get(name, {}).get(key, []), item]
        else:
            value = _typed(shown, schema, raw)
        if key in PATH_KEYS:
            value = str(Path(value).resolve())
        _check(shown, name, key, schema, value)
        out.setdefault(name, {})[key] = value
    return out


def _check(shown: str, name: str, key: str, schema: Mapping[str, Any], value: Any) -> None:
    import jsonschema  # here, as in schema.py: only a --scanner-option needs it

    validator = jsonschema.Draft202012Validator(
        {**schema, "$defs": policy_schema().get("$defs", {})})
    for err in validator.iter_errors(value):
        raise UsageError(f"{FLAG} {shown}: {one_line(err.message, 160)}")
    if key == "args":
        bad = forbidden_arg([str(a) for a in value], SCANNERS[name].forbidden_args)
        if bad is not None:
            raise UsageError(f"{FLAG} {shown}: '{one_line(bad, 60)}' is not allowed (it "
                             "writes files or reads configuration posture-gate does not own)")


def apply(policy: Policy, options: Mapping[str, Mapping[str, Any]]) -> Policy:
    """The policy with each scanner's command-line options on top; a scanner the policy
    does not run stays out (its options change nothing)."""
    for name, given in options.items():
        policy = with_scanner_options(policy, name, given)
    return policy


def trivy_aliases(*, cache_dir: Path | None, db_repositories: Sequence[str],
                  skip_db_update: bool | None, offline_scan: bool | None
                  ) -> dict[str, dict[str, Any]]:
    """The trivy flags `scan` had before --scanner-option, as the options they set."""
    given = {"cache_dir": str(cache_dir.resolve()) if cache_dir else None,
             "db_repository": list(db_repositories) or None,
             "java_db_repository": list(db_repositories) or None,
             "skip_db_update": skip_db_update, "offline_scan": offline_scan}
    return {"trivy": {k: v for k, v in given.items() if v is not None}}


def combine(*layers: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Later layers win key by key (--scanner-option over the trivy aliases)."""
    out: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for name, given in layer.items():
            out.setdefault(name, {}).update(given)
    return out
