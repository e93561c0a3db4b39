"""semgrep's failures and errors in one line: its stderr when a run fails, and the kind of
each error its JSON reports.

osemgrep warns on stderr of every run that passes an --x- flag (the plan does): never the
reason. Its log lines are stamped (`[00.06][ERROR]: ...`) and Cmdliner wraps a usage error
onto indented lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..textutil import one_line

_X_WARNING = "options starting with '--x-'"
_STAMP = re.compile(r"^\[[\d.]+\]\[[A-Z]+\]:\s*")


def explain(stderr: str) -> str:
    """The last message semgrep printed, unwrapped; "" when only its --x- warning is there
    (a rule error is in its JSON output, which is not kept when the run failed)."""
    messages: list[str] = []
    for line in stderr.splitlines():
        if not line.strip() or _X_WARNING in line:
            continue
        if line[:1].isspace() and messages:
            messages[-1] += " " + line.strip()
        else:
            messages.append(_STAMP.sub("", line.strip()))
    return one_line(messages[-1], 300) if messages else ""


def error_kind(error: Mapping[str, Any]) -> str | None:
    """An error's type: a word ("Timeout"), or a list whose head is one (["PartialParsing",
    [spans]])."""
    kind = error.get("type")
    if isinstance(kind, list) and kind and isinstance(kind[0], str):
        return kind[0]
    return kind if isinstance(kind, str) else None
