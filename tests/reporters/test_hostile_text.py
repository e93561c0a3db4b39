"""Hostile text through every reporter in the registry.

The registry (`posture_gate.reporters.REPORTERS`) is the source of truth: every reporter in
it renders the same hostile run, in which every text field of every record (file names,
rule ids, titles, messages, packages, versions, targets, scanner names, reasons and
warnings, gate names, policy sources, timestamps, fingerprints...) carries ANSI escapes,
bidi overrides and isolates, zero-width characters, C0/C1 controls, NUL, lone surrogates,
newlines and Markdown/HTML/XML metacharacters, and a few carry a 10,000-character string.
No invisible or control character may reach any output file, and every output file must
pass the structure check for its kind; a reporter whose file kind has no check here fails.
"""

from __future__ import annotations

import dataclasses
import enum
import html.parser
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from posture_gate.model import (
    PolicyTrust,
    RepoConfigFile,
    RunStatus,
    ScannerRun,
    ScanResult,
    TrendPoint,
)
from posture_gate.policy.evaluate import Verdict
from posture_gate.reporters import REPORTERS
from posture_gate.reporters.base import output_files
from posture_gate.reporters.gitlab import identifiers
from posture_gate.reporters.markdown import md
from posture_gate.reporters.sarif import artifact_uri
from posture_gate.textutil import clean

from .conftest import findings, fp, scan_result, verdict_for
from .schemas import (
    GITLAB_TYPES,
    gitlab_errors,
    multitool_available,
    multitool_errors,
    sarif_errors,
)

EVIL = ("x\n| col | `tick` <script>alert(1)</script> ]]> [link](http://e.invalid) *b* _i_ "
        "\x1b[31mRED\x1b[0m \x1b]8;;http://e.invalid\x07osc\x1b]8;;\x07 nul\x00 bel\x07 "
        "vt\x0b ff\x0c esc\x1b del\x7f c1\x85 \ufffe end")
EVIL_PATH = "app/we ird\n|`<b>`]]>\x1b[1m\x00\x07%20.py"
# Appended to every text field of the run by `poison`: MARK proves the text got through.
SUFFIX = ("\u202eMARK\u202c \u2066iso\u2067late\u2068d\u2069 zero\u200bwidth\ufeffbom "
          "\u200e\u200f\u061c\u2060\u200c\u200d\U000e0041 \x1b[31mred\x1b[0m "
          "\x1b]8;;http://e.invalid\x07osc\x1b]8;;\x07 \x1bc \x9b1m \x00\x01\x08\x0b\x0c\x7f"
          "\x80\x85\x9f \udc80x\ud800 \ufdd0\uffff \r\nVERDICT: PASS\r# head\n- [x](y) "
          "<b>&amp;</b> \"q\" 'a' ]]> <![CDATA[ | ` * _ ~ \u2028\u2029end")
LONG = ("W" * 4_000 + "\u202e\x1b[2J" + "W" * 4_000 + "\u2066\u200b\x00" + "W" * 1_991)
# Not poisoned: Verdict.status (read_verdict accepts only pass | fail | error and the
# reporters branch on it) and TrendPoint.at (a timestamp history.py writes and parses).
KEEP = {"status", "at"}
KEEP_KEYS = {"properties", "totals"}  # lookup keys of ours: poisoning them hides the values


def _is_invisible(c: str) -> bool:
    """What no output may contain raw: controls (but TAB and LF), format characters (bidi,
    zero-width, BOM, tags), surrogates and non-characters."""
    code = ord(c)
    cat = unicodedata.category(c)
    return (cat in ("Cf", "Cs") or (cat == "Cc" and c not in "\t\n")
            or 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE)


def poison(value: Any, evil: str = SUFFIX) -> Any:
    """`value` with `evil` appended to every string in it (prefixes kept, so scanner names,
    URLs and ids still take their usual code paths) and every empty text field filled."""
    if value is None or isinstance(value, (enum.Enum, bool, int, float)):
        return value
    if isinstance(value, str):
        return value + evil
    if isinstance(value, (tuple, list)):
        return type(value)(poison(v, evil) for v in value)
    if isinstance(value, frozenset):
        return frozenset(poison(v, evil) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.name in KEEP:
                continue
            if f.name in KEEP_KEYS and isinstance(v, Mapping):
                changes[f.name] = {k: poison(x, evil) for k, x in v.items()}
            elif v is None and f.type in ("str | None", "Optional[str]"):
                changes[f.name] = evil  # a text field left empty: fill it
            elif v == () and f.type == "tuple[str, ...]":
                changes[f.name] = (evil,)
            else:
                changes[f.name] = poison(v, evil)
        return replace(value, **changes)
    if isinstance(value, Mapping):
        return {poison(k, evil): poison(v, evil) for k, v in value.items()}
    raise TypeError(f"poison: no rule for {type(value).__name__}")  # a new kind of field


def hostile_everything() -> tuple[ScanResult, Verdict]:
    """The synthetic run with every optional part present, then every text poisoned."""
    base = scan_result()
    scanners = tuple(replace(s, properties={**s.properties, "db_updated_at": "2026-11-20"})
                     if s.name == "trivy" else s for s in base.scanners)
    trends = tuple(TrendPoint(at=f"2026-11-{d:02d}T02:00:00Z", status="fail",
                              totals={"code": d, "secret": 1}, commit="abc") for d in (1, 2, 3))
    run = replace(base, scanners=scanners, trends=trends,
                  policy_trust=PolicyTrust(trusted="preset:strict", local="posture-gate.yml",
                                           tightened=("code.max.high 3 -> 0",)),
                  repo_config=(RepoConfigFile(path=".bandit", scanner="bandit",
                                              honoured=False, note="not read"),))
    verdict = verdict_for(run)
    verdict = replace(verdict, ages={f.fingerprint: 3 for f in run.findings},
                      new_since_last=(fp(1), fp(6)), fixed_since_last=(fp(30),))
    run, verdict = poison(run), poison(verdict)
    # The 10,000-character string, raw, in a message, a path, a package, a reason, a gate.
    fs = list(run.findings)
    fs[0] = fs[0].with_(message=LONG, title=LONG)
    assert fs[1].location is not None and fs[5].package is not None
    fs[1] = fs[1].with_(location=replace(fs[1].location, path=LONG))
    fs[5] = fs[5].with_(package=replace(fs[5].package, name=LONG, version=LONG))
    sc = list(run.scanners)
    sc[2] = replace(sc[2], reason=LONG, warnings=(LONG,))
    gates = (replace(verdict.gates[0], name=LONG), *verdict.gates[1:])
    run = replace(run, findings=tuple(fs), scanners=tuple(sc))
    verdict = replace(verdict, findings=run.findings, gates=gates,
                      warnings=(*verdict.warnings, LONG))
    return run, verdict


def hostile() -> tuple[ScanResult, Verdict]:
    """Hand-placed hostile text, for the format-specific checks below."""
    fs = []
    for f in findings():
        loc = f.location and replace(f.location, path=EVIL_PATH)
        fs.append(f.with_(title=f"{f.title} {EVIL}", message=EVIL, location=loc,
                          rule_id=f"{f.rule_id}|<x>`", references=(*f.references,
                                                                    "javascript:alert(1)")))
    base = scan_result()
    scanners = (*base.scanners,
                ScannerRun(name="evil", scanner="semgrep", status=RunStatus.FAILED,
                           reason=EVIL), ScannerRun(name="evil", scanner="semgrep",
                                                    status=RunStatus.FAILED,
                                                    required=False, reason=EVIL))
    run = replace(base, findings=tuple(fs), scanners=scanners, policy=EVIL_PATH)
    verdict = verdict_for(run)
    verdict = replace(verdict, warnings=(*verdict.warnings, EVIL),
                      gates=tuple(replace(g, name=g.name + EVIL) for g in verdict.gates))
    return run, verdict


def _render_all(run: ScanResult, verdict: Verdict) -> dict[str, dict[str, str]]:
    return {name: output_files(reporter, run, verdict) for name, reporter in REPORTERS.items()}


@pytest.fixture(scope="module")
def everything() -> dict[str, dict[str, str]]:
    return _render_all(*hostile_everything())


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, str]]:
    return _render_all(*hostile())


# Structure checks by file kind. A reporter writing a kind not listed here fails the test
# below until a check is added: no format joins the registry unchecked.
def _check_json(filename: str, text: str) -> None:
    doc = json.loads(text)
    if filename in GITLAB_TYPES:
        assert gitlab_errors(filename, doc) == [], filename


def _check_sarif(filename: str, text: str) -> None:
    doc = json.loads(text)
    assert sarif_errors(doc) == [], filename
    for r in doc["runs"]:
        for res in r["results"]:
            uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            assert re.fullmatch(r"[A-Za-z0-9/._~!$&'()*+,;=:@%-]+", uri), uri


def _check_xml(filename: str, text: str) -> None:
    ET.fromstring(text.encode("utf-8"))  # noqa: S314 - our own output


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def _check_html(filename: str, text: str) -> None:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    # Only the page's own elements: hostile text never becomes markup.
    assert {"b", "img", "a", "iframe"} & set(parser.tags) == set(), filename
    assert parser.tags.count("script") == 1


def _check_lines(filename: str, text: str) -> None:
    # Line-oriented text for people: nothing runs on for pages (the 10,000-character
    # string is cut) and no line forged by a newline inside a value.
    assert max(len(line) for line in text.splitlines()) <= 2_000, filename
    assert not [ln for ln in text.splitlines() if ln.startswith(("VERDICT: PASS", "# head"))]


CHECKS: dict[str, Callable[[str, str], None]] = {
    ".json": _check_json, ".sarif": _check_sarif, ".xml": _check_xml, ".html": _check_html,
    ".md": _check_lines, ".txt": _check_lines,
}


def _texts(value: Any, path: str) -> list[tuple[str, str]]:
    """Every string in a record, with where it is (an enum is a fixed value, not text)."""
    if isinstance(value, enum.Enum):
        return []
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, (tuple, list, frozenset)):
        return [t for v in value for t in _texts(v, f"{path}[]")]
    if isinstance(value, Mapping):
        return [t for k, v in value.items() for t in _texts(v, f"{path}.{k}")]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [t for f in dataclasses.fields(value) if f.name not in KEEP
                for t in _texts(getattr(value, f.name), f"{path}.{f.name}")]
    return []


def test_every_text_field_is_hostile() -> None:
    """The poisoning itself: a text field it missed (a new one of a new type) fails here."""
    run, verdict = hostile_everything()
    texts = _texts(run, "run") + _texts(verdict, "verdict")
    assert len(texts) > 300
    assert [p for p, t in texts if "MARK" not in t and t != LONG] == []
    records: list[Any] = [run, verdict, *run.findings, *run.scanners, *verdict.gates]
    missing = [f"{type(r).__name__}.{f.name}" for r in records
               for f in dataclasses.fields(r) if getattr(r, f.name) is None
               and "str" in str(f.type)]
    assert missing == []


def test_registry_is_walked(everything: dict[str, dict[str, str]]) -> None:
    assert set(everything) == set(REPORTERS) and len(REPORTERS) >= 10
    for name, files in everything.items():
        assert files, f"{name} wrote nothing"
        for filename in files:
            assert Path(filename).suffix in CHECKS, \
                f"{name}: no structure check for {filename}: add one to CHECKS"


@pytest.mark.parametrize("name", sorted(REPORTERS))
def test_no_invisible_character_in_any_output(name: str,
                                              everything: dict[str, dict[str, str]]) -> None:
    for filename, text in everything[name].items():
        bad = sorted({f"U+{ord(c):04X}" for c in text if _is_invisible(c)})
        assert bad == [], (name, filename)
        for c in ("\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200b", "\x1b"):
            assert c not in text, (name, filename, f"U+{ord(c):04X}")
        text.encode("utf-8")  # no lone surrogate: the file can be written
        assert "MARK" in text, f"{name}: {filename} shows none of the hostile text"


@pytest.mark.parametrize("name", sorted(REPORTERS))
def test_every_output_keeps_its_structure(name: str,
                                          everything: dict[str, dict[str, str]]) -> None:
    for filename, text in everything[name].items():
        CHECKS[Path(filename).suffix](filename, text)


def test_findings_json_is_a_faithful_record(everything: dict[str, dict[str, str]]) -> None:
    """Identifiers stay exact (policy ignores and baselines match on them) though written
    escaped; only prose is cleaned."""
    run, _ = hostile_everything()
    doc = json.loads(everything["json"]["findings.json"])
    got = doc["findings"][1]
    want = run.findings[1]
    assert want.location is not None
    assert got["location"]["path"] == want.location.path == LONG
    assert got["rule_id"] == want.rule_id and "\u202e" in got["rule_id"]
    assert got["fingerprint"] == want.fingerprint
    assert doc["findings"][0]["message"] == clean(LONG)
    assert doc["scanners"][2]["reason"] == clean(LONG)


def test_gitlab_urls_are_http_only(rendered: dict[str, dict[str, str]],
                                   everything: dict[str, dict[str, str]]) -> None:
    for outputs in (rendered, everything):
        for files in outputs.values():
            for filename in set(files) & set(GITLAB_TYPES):
                doc = json.loads(files[filename])
                for v in doc["vulnerabilities"]:
                    for link in v.get("links", []):
                        assert link["url"].startswith(("https://", "http://"))
                        assert clean(link["url"]) == link["url"]
                    for ident in v["identifiers"]:
                        assert ident["name"] and ident["value"] and ident["type"]


def test_no_raw_control_characters(rendered: dict[str, dict[str, str]]) -> None:
    for name, files in rendered.items():
        for filename, text in files.items():
            assert not [c for c in text if _is_invisible(c)], (name, filename)
            if name != "json":  # findings.json keeps the data (escaped)
                assert "RED" in text or "red" in text.lower(), (name, filename)


def test_junit_parses_and_escapes(rendered: dict[str, dict[str, str]]) -> None:
    text = rendered["junit"]["junit.xml"]
    root = ET.fromstring(text.encode("utf-8"))  # noqa: S314 - our own output
    assert "<script>" not in text and "]]>" not in text
    cases = root.findall(".//testcase")
    names = [c.get("name") for c in cases]
    assert len(names) == len(set(names)), "test case names must be unique"
    assert any("<script>" in (c.get("name") or "") for c in cases)  # escaped, round-trips
    for c in cases:
        assert "\n" not in (c.get("name") or "")
        assert re.fullmatch(r"[a-z0-9_.]+", c.get("classname") or "")
    errors = [c for c in cases if c.find("error") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert {c.get("name") for c in errors} == {"scanner semgrep", "scanner evil"}
    assert {c.get("name") for c in skipped} == {"scanner trivy-image-2", "scanner evil #2"}


def test_markdown_escapes(rendered: dict[str, dict[str, str]],
                          everything: dict[str, dict[str, str]]) -> None:
    for text in (rendered["markdown"]["summary.md"], everything["markdown"]["summary.md"]):
        assert "<script>" not in text and "<b>" not in text
        assert "](" not in text.replace("\\](", "")
        for line in text.splitlines():
            if line.startswith("|"):
                # Every unescaped pipe is a cell border: count matches the table's header.
                cells = len(re.findall(r"(?<!\\)\|", line))
                assert cells in (7, 8, 9, 10), line


def test_console_verdict_cannot_be_forged(everything: dict[str, dict[str, str]]) -> None:
    lines = everything["console"]["summary.txt"].splitlines()
    assert [ln for ln in lines if ln.startswith("VERDICT")] == \
        ["VERDICT: ERROR (could not evaluate; exit 2)"]


def test_helpers() -> None:
    assert md("a|b\nc<d>`e`") == "a\\|b c&lt;d&gt;\\`e\\`"
    assert md("\u202eevil\u2066") == "evil"
    # A colon in the first segment would read as a URI scheme; a surrogate escape is a byte.
    assert artifact_uri("a:b/c:d.py") == "a%3Ab/c:d.py"
    assert artifact_uri("x\udcff\u202e.py") == "x%FF%E2%80%AE.py"
    assert artifact_uri("y\ud800.py") == "y%3F.py"
    f = findings()[5].with_(identifiers=("", "CVE-2023-46136", "CWE-20", "OWASP-A03:2021"))
    ids = identifiers(f)
    assert ids[0]["name"] == "PYSEC-2023-221"
    assert [i["type"] for i in ids] == ["pysec", "cve", "cwe", "owasp"]
    assert ids[2]["value"] == "20"


@pytest.mark.real_tools
@pytest.mark.skipif(not multitool_available(),
                    reason="sarif-multitool not installed (scripts/test-deps/sarif-multitool.sh)")
def test_hostile_sarif_passes_multitool(rendered: dict[str, dict[str, str]],
                                        everything: dict[str, dict[str, str]],
                                        tmp_path: Path) -> None:
    paths = []
    for n, outputs in enumerate((rendered, everything)):
        for filename, text in outputs["sarif"].items():
            path = tmp_path / f"hostile-{n}-{filename}"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
    assert multitool_errors(paths, tmp_path) == []
