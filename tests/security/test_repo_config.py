"""Scanner config files and symlinks planted in the scanned tree change nothing.

Issue 10 item 3, issue 11 item 5: under a trusted `--policy strict`, a copy of
examples/webapp with a planted `.bandit`, `pyproject.toml [tool.bandit]`, `setup.cfg
[bandit]`, `.semgrepignore`, `trivy.yaml` or `.trivyignore` scans exactly like the clean
copy (exit 1, same per-scanner counts) and the run lists the file as not honoured. A trusted
policy outside the tree can opt in per file. Symlinks leading outside the root are never
followed by any scanner and are listed. Real scanners; every file under tmp_path.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADVISORIES, PLANTED_TOKEN, copy_webapp, run_cli

pytestmark = pytest.mark.slow

CODE_SCANNERS = ("bandit", "semgrep", "trivy")


@dataclass(frozen=True)
class Clean:
    counts: dict[str, int]
    findings: list[dict[str, Any]]

    def rules(self, scanner: str, high: bool) -> list[str]:
        """The rule ids of `scanner`'s findings that are high or worse (or the others)."""
        return sorted({f["rule_id"] for f in self.findings if f["scanner"] == scanner
                       and (f["severity"] in ("critical", "high")) == high})


def _scan(root: Path, out: Path, policy: str = "strict") -> tuple[
        subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = run_cli("scan", str(root), "--policy", policy, "--advisories", str(ADVISORIES),
                   "-o", str(out))
    doc = json.loads((out / "findings.json").read_text()) if \
        (out / "findings.json").exists() else {}
    return proc, doc


def _counts(doc: dict[str, Any]) -> dict[str, int]:
    return {s["name"]: s["raw_count"] for s in doc["scanners"]}


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Clean:
    """The clean copy's per-scanner counts and findings, once per session."""
    base = tmp_path_factory.mktemp("repo-config-clean")
    proc, doc = _scan(copy_webapp(base), base / "out")
    assert proc.returncode == 1, proc.stderr
    counts = _counts(doc)
    assert set(counts) == {"pip-audit", *CODE_SCANNERS}
    assert all(n > 0 for n in counts.values()), counts
    assert doc["repo_config"] == [] and doc["outside_links"] == []
    return Clean(counts=counts, findings=doc["findings"])


# Each planted file silences part of one scanner's findings; read together, .bandit and
# pyproject.toml silence all of bandit's, trivy.yaml and .trivyignore all of trivy's (the
# honoured scan below proves each file does what it says, so the other tests can fail).
def _bandit_ini(c: Clean) -> str:
    return f"[bandit]\nskips = {','.join(c.rules('bandit', high=True))}\n"


def _pyproject(c: Clean) -> str:
    skips = ", ".join(f'"{r}"' for r in c.rules("bandit", high=False))
    return f"[tool.bandit]\nskips = [{skips}]\n"


def _setup_cfg(c: Clean) -> str:
    skips = ",".join([*c.rules("bandit", high=True), *c.rules("bandit", high=False)])
    return f"[metadata]\nname = webapp\n\n[bandit]\nskips = {skips}\nexclude = app\n"


def _trivyignore(c: Clean) -> str:
    return "\n".join(["# accepted", *c.rules("trivy", high=False)]) + "\n"


PLANTS: dict[str, Callable[[Clean], str]] = {
    ".bandit": _bandit_ini,
    "pyproject.toml": _pyproject,
    "setup.cfg": _setup_cfg,
    ".semgrepignore": lambda c: "# nothing to see\n*\n",
    # keeps only what .trivyignore hides: together they hide everything
    "trivy.yaml": lambda c: "severity:\n  - LOW\n  - MEDIUM\n",
    ".trivyignore": _trivyignore,
}
SCANNER_OF = {".bandit": "bandit", "pyproject.toml": "bandit", "setup.cfg": "bandit",
              ".semgrepignore": "semgrep", "trivy.yaml": "trivy", ".trivyignore": "trivy"}


def _plant(root: Path, clean: Clean, names: list[str]) -> None:
    for name in names:
        (root / name).write_text(PLANTS[name](clean))


def _entries(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["path"]: c for c in doc["repo_config"]}


def _trusted(tmp_path: Path, names: list[str]) -> Path:
    """A trusted policy: a file outside the scanned tree, given with --policy."""
    policy = tmp_path / "ci" / "posture-gate.yml"
    policy.parent.mkdir()
    policy.write_text("version: 1\nextends: strict\nhonor_repo_config: ["
                      + ", ".join(names) + "]\n")
    return policy


@pytest.mark.parametrize("name", list(PLANTS))
def test_a_planted_config_file_changes_nothing(name: str, clean: Clean,
                                               tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    _plant(root, clean, [name])
    victim = tmp_path / "bandit-wrote-here.json"
    if name == ".bandit":  # bandit takes an output file from its ini as well
        (root / name).write_text(PLANTS[name](clean) + f"output = {victim}\n")
    proc, doc = _scan(root, tmp_path / "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert _counts(doc) == clean.counts
    (entry,) = doc["repo_config"]
    assert entry["path"] == name and entry["scanner"] == SCANNER_OF[name]
    assert entry["honoured"] is False
    assert f"repo config: {name} ({SCANNER_OF[name]}) present, not honoured" in proc.stdout
    assert not victim.exists()
    if name == "setup.cfg":
        assert "does not read setup.cfg" in entry["note"]
    elif name == ".semgrepignore":
        assert entry["note"] == "ignores 1 pattern(s)"
    elif name == ".bandit":
        assert entry["note"].startswith("skips B")


def test_a_trusted_policy_honours_the_semgrepignore_it_names(clean: Clean,
                                                            tmp_path: Path) -> None:
    root = copy_webapp(tmp_path)
    _plant(root, clean, list(PLANTS))
    proc, doc = _scan(root, tmp_path / "out", str(_trusted(tmp_path, [".semgrepignore"])))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    counts = _counts(doc)
    assert counts["semgrep"] == 0 < clean.counts["semgrep"]
    assert {n: counts[n] for n in ("pip-audit", "bandit", "trivy")} == \
        {n: clean.counts[n] for n in ("pip-audit", "bandit", "trivy")}
    entries = _entries(doc)
    assert set(entries) == set(PLANTS)
    assert [p for p, e in entries.items() if e["honoured"]] == [".semgrepignore"]
    assert "repo config: .semgrepignore (semgrep) honoured by the trusted policy" in proc.stdout


def test_every_planted_file_does_silence_its_scanner_when_honoured(clean: Clean,
                                                                   tmp_path: Path) -> None:
    """The control experiment: read by the tools, the planted files hide all of bandit's,
    semgrep's and trivy's findings (setup.cfg is not read by bandit at all)."""
    root = copy_webapp(tmp_path)
    _plant(root, clean, list(PLANTS))
    honour = [n for n in PLANTS if n != "setup.cfg"]
    proc, doc = _scan(root, tmp_path / "out", str(_trusted(tmp_path, honour)))
    assert proc.returncode == 1, proc.stdout + proc.stderr  # pip-audit still fails it
    assert _counts(doc) == {**clean.counts, "bandit": 0, "semgrep": 0, "trivy": 0}
    assert {p for p, e in _entries(doc).items() if e["honoured"]} == set(honour)


def test_symlinks_leading_outside_the_root_are_not_followed(clean: Clean,
                                                            tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "pkg").mkdir(parents=True)
    vulnerable = ("import pickle\nimport subprocess\n\n\n"
                  "def run(cmd, blob):\n"
                  "    subprocess.call(cmd, shell=True)\n"
                  "    return pickle.loads(blob)\n\n\n"
                  f'TOKEN = "{PLANTED_TOKEN}"\n')
    (outside / "vuln.py").write_text(vulnerable)
    (outside / "pkg" / "more.py").write_text(vulnerable)
    (outside / "pkg" / "Dockerfile").write_text("FROM ubuntu:latest\nUSER root\n")
    root = copy_webapp(tmp_path)
    (root / "app" / "evil.py").symlink_to(outside / "vuln.py")  # absolute, a .py file
    (root / "creds.py").symlink_to(Path("..") / "outside" / "vuln.py")  # relative
    (root / "lib").symlink_to(outside / "pkg", target_is_directory=True)  # a directory
    odd = "app/we ird,[x]*.py"  # glob and list syntax in the name stays literal
    (root / odd).symlink_to(outside / "vuln.py")
    proc, doc = _scan(root, tmp_path / "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert _counts(doc) == clean.counts
    paths = {f["location"]["path"] for f in doc["findings"] if f["location"]}
    assert paths == {f["location"]["path"] for f in clean.findings if f["location"]}
    assert doc["outside_links"] == sorted(["app/evil.py", "creds.py", "lib", odd])
    assert "symlinks leading outside the scanned root, not followed: app/evil.py" \
        in proc.stdout
    assert PLANTED_TOKEN not in proc.stdout + json.dumps(doc)
