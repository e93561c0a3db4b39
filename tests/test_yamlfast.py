"""yamlfast.safe_load gives what PyYAML's loading with the same safe loader gives (libyaml's
CSafeLoader where PyYAML has it), on every shape, and fails where it fails; the shortcut is
taken for the shapes advisory records have."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from posture_gate import yamlfast

FULL_DATABASE = (Path(__file__).parent / "data" / "advisories-full" /
                 "pypa-advisory-database-vulns-3ccb612.tar.gz")

SHAPES = {
    "strings": "id: PYSEC-2021-1\nsummary: 'quoted: 1'\nurl: https://x.test/a?b=1\n"
               "empty: ''\nversions: [1.2.3, '1.0', 2.0.0rc1]\n",
    "scalars": "i: 12\nneg: -3\nhex: 0x1f\noct: 0o17\nsexa: 1:30\nunder: 1_000\n"
               "f: 1.5\nexp: 1e3\nsexaf: 1:30.5\ninf: .inf\nnan_: .nan\nb1: yes\nb2: Off\n"
               "b3: TRUE\nn1: ~\nn2: null\nn3:\nd: 2021-01-02\n"
               "ts: 2021-01-02T03:04:05.123456+02:00\nts2: 2021-01-02 03:04:05\n",
    "keys": "1: int\ntrue: bool\n~: null\n2021-01-02: date\n1.5: float\n'1': str\n",
    "duplicate keys": "a: 1\na: 2\n",
    "explicit tags": "a: !!str 12\nb: !!int '7'\nc: !!float '1'\nd: !!binary aGVsbG8=\n"
                     "e: !!null ''\nf: !!bool 'yes'\n",
    "aliases": "base: &b {x: [1, 2], y: z}\none: *b\ntwo: *b\nlist: &l [a, b]\nl2: *l\n",
    "merge keys": "base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\n",
    "merge list": "a: &a {x: 1}\nb: &b {y: 2}\nc: {<<: [*a, *b], z: 3}\n",
    "set": "s: !!set {a, b}\n",
    "omap": "o: !!omap [a: 1, b: 2]\n",
    "pairs": "p: !!pairs [a: 1, a: 2]\n",
    "complex key": "? [a, b]\n: v\n",
    "mapping key": "? {a: 1}\n: v\n",
    "recursive": "a: &a [1, *a]\n",
    "top scalar": "just a string\n",
    "top int": "42\n",
    "empty": "",
    "comment only": "# nothing\n",
    "nested": "a:\n  b:\n    - c: [d, {e: f}]\n      g: null\n",
    "unicode": "name: \"caf\\u00e9 \\U0001F600\"\nplain: naïve\n",
    "non-specific tags": "a: !\nb: ! 12\nc: ! [1]\n",
    "odd plain scalars": "a: 1e\nb: +.5\nc: 0b101\nd: -0x1\ne: 1_2.3_4\n? \n: 1\n",
}


def _pyyaml(text: str) -> Any:
    """What yamlfast replaced: yaml.load with the same loader class."""
    return yaml.load(text, Loader=yamlfast._LOADER)  # noqa: S506 - a safe loader


def _outcome(load: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", load(text)
    except Exception as exc:  # the same exception type for the same input
        return "error", type(exc).__name__


def _same(a: Any, b: Any, seen: set[tuple[int, int]] | None = None) -> bool:
    """Equal, floats' NaN included, of the same types all the way down, and a recursive
    value recursing at the same place."""
    seen = set() if seen is None else seen
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a:
        return bool(b != b)
    if isinstance(a, (dict, list, tuple)):
        if (id(a), id(b)) in seen:
            return True
        seen.add((id(a), id(b)))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k], seen) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, seen)
                                        for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shape_loads_as_pyyaml_loads_it(name: str) -> None:
    text = SHAPES[name]
    ours, theirs = _outcome(yamlfast.safe_load, text), _outcome(_pyyaml, text)
    assert ours[0] == theirs[0] and (
        ours[1] == theirs[1] if ours[0] == "error" else _same(ours[1], theirs[1])), \
        (ours, theirs)


@pytest.mark.parametrize("text", [
    "a: !!python/object:os.system {}\n", "a: !!python/name:os.system\n",
    "a: !custom 1\n", "a: [1, 2\n", "a: 1\n---\nb: 2\n", "a: *nowhere\n", "\t- tab\n"])
def test_what_the_safe_loader_refuses_is_refused(text: str) -> None:
    with pytest.raises(yamlfast.Error) as ours:
        yamlfast.safe_load(text)
    with pytest.raises(yaml.YAMLError) as theirs:
        _pyyaml(text)
    assert type(ours.value) is type(theirs.value)


def test_an_alias_is_one_shared_value_as_pyyaml_makes_it() -> None:
    doc = yamlfast.safe_load(SHAPES["aliases"])
    assert doc["one"] is doc["two"] is doc["base"] and doc["l2"] is doc["list"]


def test_the_shortcut_is_taken_for_advisory_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record loads without PyYAML's constructor being asked for any string, list or
    mapping (only for the timestamps), and without loading the document twice."""
    asked: list[str] = []
    real = yaml.constructor.SafeConstructor.construct_object

    def counting(self: Any, node: yaml.Node, deep: bool = False) -> Any:
        asked.append(node.tag)
        return real(self, node, deep)
    monkeypatch.setattr(yaml.constructor.SafeConstructor, "construct_object", counting)
    monkeypatch.setattr(yaml, "load", None)  # the fallback is not taken
    record = ("id: PYSEC-2021-9\nmodified: 2021-08-27T03:22:03.231380Z\n"
              "published: 2021-08-17\naffected:\n- package:\n    name: x\n"
              "    ecosystem: PyPI\n  ranges:\n  - type: ECOSYSTEM\n    events:\n"
              "    - introduced: '0'\n    - fixed: 1.2.3\n  versions:\n  - 1.0.0\n"
              "references:\n- type: WEB\n  url: https://x.test\naliases: [CVE-2021-1]\n")
    doc = yamlfast.safe_load(record)
    assert sorted(asked) == ["tag:yaml.org,2002:timestamp"] * 2
    assert doc["affected"][0]["ranges"][0]["events"] == [{"introduced": "0"},
                                                           {"fixed": "1.2.3"}]


def test_the_pypi_advisory_database_loads_as_pyyaml_loads_it() -> None:
    """Every record of the real database (2,661 YAML files, tests/data/advisories-full)."""
    with tarfile.open(FULL_DATABASE) as tar:
        records = [tar.extractfile(m).read().decode()  # type: ignore[union-attr]
                   for m in tar.getmembers() if m.isfile() and m.name.endswith(".yaml")]
    assert len(records) == 2661
    for text in records:
        assert _same(yamlfast.safe_load(text), _pyyaml(text))
