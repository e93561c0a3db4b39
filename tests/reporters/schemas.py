"""Schema validation helpers for the reporter tests (schemas in tests/data/schemas/)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).resolve().parent.parent / "data" / "schemas"
REPO = Path(__file__).resolve().parents[2]
MULTITOOL = REPO / "node_modules" / ".bin" / "sarif-multitool"
GITLAB_VERSIONS = ("15.0.7", "15.2.1")
GITLAB_TYPES = {
    "gl-sast-report.json": "sast",
    "gl-dependency-scanning-report.json": "dependency-scanning",
    "gl-container-scanning-report.json": "container-scanning",
    "gl-secret-detection-report.json": "secret-detection",
}


@functools.cache
def _validator(path: str, cls_name: str) -> Any:
    cls = getattr(jsonschema, cls_name)
    return cls(json.loads((SCHEMAS / path).read_text(encoding="utf-8")))


def errors(validator: Any, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in validator.iter_errors(doc)]


def sarif_errors(doc: Any) -> list[str]:
    return [f"oasis {e}" for e in errors(_validator("sarif-2.1.0.json", "Draft4Validator"), doc)] \
        + [f"codeql {e}" for e in errors(
            _validator("sarif-2.1.0.codeql-action.json", "Draft202012Validator"), doc)]


def gitlab_errors(filename: str, doc: Any) -> list[str]:
    kind = GITLAB_TYPES[filename]
    out = []
    for version in GITLAB_VERSIONS:
        v = _validator(f"gitlab-{version}/{kind}-report-format.json", "Draft7Validator")
        out += [f"{version} {e}" for e in errors(v, doc)]
    return out


def multitool_available() -> bool:
    # In CI the tool is installed by scripts/test-deps: never skip there, fail instead.
    if os.environ.get("CI") == "true":
        return True
    return MULTITOOL.exists() and shutil.which("node") is not None


def multitool_errors(paths: list[Path], work: Path) -> list[str]:
    """Run `sarif-multitool validate` on each file; its own SARIF log lists the problems."""
    problems: list[str] = []
    for n, path in enumerate(paths):
        log = work / f"multitool-{n}.sarif"
        proc = subprocess.run([str(MULTITOOL), "validate", str(path), "-o", str(log),
                               "--log", "ForceOverwrite"], capture_output=True, text=True,
                              timeout=300, check=False)
        if proc.returncode != 0 or not log.exists():
            problems.append(f"{path.name}: multitool exit {proc.returncode}: "
                            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
            continue
        result_log = json.loads(log.read_text(encoding="utf-8-sig"))
        for run in result_log.get("runs", []):
            for inv in run.get("invocations", []):
                for note in inv.get("toolExecutionNotifications", []):
                    if note.get("level") == "error":
                        problems.append(f"{path.name}: tool error {note.get('message')}")
            for r in run.get("results", []):
                if r.get("level", "warning") == "error":
                    args = r.get("message", {}).get("arguments")
                    problems.append(f"{path.name}: {r.get('ruleId')} {args}")
    return problems
