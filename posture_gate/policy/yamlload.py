"""Safe YAML -> plain data that remembers the line of every key.

Stricter than yaml.safe_load on purpose: no anchors or aliases (billion-laughs),
no tags beyond the YAML core schema (`!!python/object`), no duplicate keys, and
timestamps stay strings so the JSON Schema sees what was written.
"""

from __future__ import annotations

from typing import Any

import yaml

Path_ = tuple[str | int, ...]

_CORE = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


class YamlError(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def load(text: str) -> tuple[Any, dict[Path_, int]]:
    """Return (data, lines) where lines maps a key path to its 1-based line."""
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise YamlError(_lineno(event.start_mark),
                                "YAML anchors and aliases are not allowed in a policy")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and (mark is None or mark.line >= text.count("\n")):
            mark = exc.context_mark  # "unexpected end": the construct left open is the news
        raise YamlError(mark.line + 1 if mark is not None else None,
                        f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise YamlError(None, f"invalid YAML: {exc}") from None
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines
    return _convert(node, (), lines), lines


def _convert(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    line = node.start_mark.line + 1
    lines.setdefault(path, line)
    if node.tag not in _CORE:
        raise YamlError(line, f"tag {node.tag} is not allowed")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(key_node.start_mark.line + 1, "mapping keys must be plain strings")
            key = str(key_node.value)
            if key_node.tag == "tag:yaml.org,2002:merge" or key == "<<":
                raise YamlError(key_node.start_mark.line + 1, "merge keys (<<) are not allowed")
            if key in out:
                raise YamlError(key_node.start_mark.line + 1, f"duplicate key '{key}'")
            key_path = (*path, key)
            lines[key_path] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, key_path, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines) for i, item in enumerate(node.value)]
    if not isinstance(node, yaml.ScalarNode):  # pragma: no cover - compose yields no others
        raise YamlError(line, f"unexpected YAML node {type(node).__name__}")
    if node.tag == "tag:yaml.org,2002:timestamp":
        return str(node.value)
    return _scalar(node)


def _lineno(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


def _scalar(node: yaml.ScalarNode) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()
