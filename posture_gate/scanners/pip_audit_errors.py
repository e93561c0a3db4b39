"""pip-audit's errors as one line naming the file, the line and the package.

pip-audit logs them as `ERROR:pip_audit._cli:...`, quoting its internals
(`RequirementLine(line_number=2, line='requests>=2', filename=PosixPath('requirements.txt'))`)
or putting the offending requirement on the next lines. The text comes from the scanned
tree (file names, requirement lines): it is cleaned like any other (textutil.one_line).
"""

from __future__ import annotations

import re

from ..textutil import one_line

_PREFIX = re.compile(r"^(?:ERROR|CRITICAL):pip_audit[\w.]*:\s*")
# requirement X is not pinned ...: SPEC (from RequirementLine(line_number=N, line='...',
# filename=PosixPath('F')))
_REQ_LINE = re.compile(
    r"\(from RequirementLine\(line_number=(\d+), line=(?:'[^']*'|\"[^\"]*\"), "
    r"filename=(?:\w*Path\()?'([^']*)'\)?\)\)")
_NOT_PINNED = re.compile(r"^requirement (\S+) is not pinned to an exact version: (.*?)\s*$")
_INVALID = re.compile(r"^requirement file (.+?) contains invalid specifier at line (\d+): "
                      r"Invalid requirement: .*$")


def explain(stderr: str) -> str | None:
    """The last pip-audit error in `stderr`, in plain words; None when there is none."""
    lines = stderr.splitlines()
    found = [i for i, line in enumerate(lines) if _PREFIX.match(line)]
    if not found:
        return None
    i = found[-1]
    text = _PREFIX.sub("", lines[i])
    invalid = _INVALID.match(text)
    if invalid:
        # the offending requirement is quoted on the next line, then a caret line
        quoted = lines[i + 1].strip() if i + 1 < len(lines) else ""
        what = f": {one_line(quoted, 120)}" if quoted else ""
        return f"{one_line(invalid.group(1), 200)}:{invalid.group(2)}: invalid requirement{what}"
    where = _REQ_LINE.search(text)
    if where:
        text = text[:where.start()].rstrip()
        pinned = _NOT_PINNED.match(text)
        if pinned:
            text = (f"{pinned.group(1)} is not pinned to an exact version "
                    f"({pinned.group(2)}); pin it with == or audit a lock file")
        return f"{one_line(where.group(2), 200)}:{where.group(1)}: {one_line(text, 240)}"
    return one_line(text, 300)
