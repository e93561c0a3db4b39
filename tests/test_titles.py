"""Readable titles: every bandit test and every bundled semgrep rule has a sentence."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from posture_gate.scanners import SCANNERS
from posture_gate.scanners.base import ScanContext, ScannerSettings
from posture_gate.titles import BANDIT, SEMGREP, bandit_title, semgrep_title

REPO = Path(__file__).resolve().parent.parent


def test_every_installed_bandit_test_has_a_title() -> None:
    from bandit.core import extension_loader

    manager = extension_loader.MANAGER
    ids = set(manager.plugins_by_id) | set(manager.blacklist_by_id)
    assert ids - set(BANDIT) == set()
    assert bandit_title("B324", "hashlib") == "Weak hash function"
    assert bandit_title("B999", "some_new_test") == "Some new test"


def test_every_bundled_semgrep_rule_has_a_title() -> None:
    doc = yaml.safe_load((REPO / "policies/semgrep/python.yml").read_text())
    ids = {r["id"] for r in doc["rules"]}
    assert ids == set(SEMGREP)
    # semgrep prefixes a local rule's id with the path of its file
    assert semgrep_title("tmp.x.pg-weak-hash-md5-sha1", "...") == SEMGREP["pg-weak-hash-md5-sha1"]


def test_other_semgrep_rules_take_their_first_sentence() -> None:
    msg = "Detected  MD5 use.\nMD5 is broken. See https://example.invalid/x."
    assert semgrep_title("python.lang.security.md5", msg) == "Detected MD5 use"
    assert semgrep_title("r", "\x1b[31mred\x1b[0m text") == "red text"
    assert semgrep_title("r.only-id", "") == "r.only-id"


def test_parsers_set_readable_titles(tmp_path: Path) -> None:
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path)
    doc = {"errors": [], "generated_at": "x", "metrics": {"_totals": {
        "SEVERITY.HIGH": 1, "SEVERITY.MEDIUM": 0, "SEVERITY.LOW": 0, "SEVERITY.UNDEFINED": 0,
        "CONFIDENCE.HIGH": 1, "CONFIDENCE.MEDIUM": 0, "CONFIDENCE.LOW": 0,
        "CONFIDENCE.UNDEFINED": 0, "loc": 1, "nosec": 0, "skipped_tests": 0}},
        "results": [{"filename": "a.py", "line_number": 1, "line_range": [1],
                     "col_offset": 0, "end_col_offset": 1, "code": "1 x\n",
                     "issue_severity": "HIGH", "issue_confidence": "HIGH",
                     "issue_text": "Use of weak MD5 hash for security.",
                     "issue_cwe": {"id": 327, "link": "x"}, "more_info": "x",
                     "test_id": "B324", "test_name": "hashlib"}]}
    bandit = SCANNERS["bandit"]
    (job,) = bandit.plan(ScannerSettings(name="bandit"), ctx)
    parsed = bandit.parse(json.dumps(doc).encode(), job, ctx, "1.9.4", exit_code=1)
    assert [f.title for f in parsed.findings] == ["Weak hash function"]

