"""One platform setting checked: pass, fail or unknown, and the finding a failure makes.

A passed check is no finding (it is recorded in the run's `checks`); a failed one is a
finding at the check's severity; one the token cannot see is a finding of severity
`unknown` naming the scope it needs, so gates count it per `treat_unknown_as` (fail closed).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from .. import fingerprint as fp
from ..model import Category, Finding, Severity
from ..textutil import one_line

SCANNER = "platform"


class Status(enum.Enum):
    PASS = "pass"  # noqa: S105 - a check status, not a credential
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: str  # "github/org-2fa-required"
    title: str
    severity: Severity  # when it fails
    remediation: str
    scope: str  # what the token needs to read the setting
    reference: str = ""


@dataclass(frozen=True, kw_only=True)
class Check:
    rule: Rule
    status: Status
    value: str  # the setting as read ("false", "absent", "2 members", "HTTP 403")
    detail: str = ""  # why unknown, or what exactly fails

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule.id, "title": self.rule.title, "status": self.status.value,
                "severity": self.rule.severity.value, "value": self.value,
                "detail": self.detail, "remediation": self.rule.remediation,
                "scope": self.rule.scope}


def passed(rule: Rule, value: object) -> Check:
    return Check(rule=rule, status=Status.PASS, value=_text(value))


def failed(rule: Rule, value: object, detail: str = "") -> Check:
    return Check(rule=rule, status=Status.FAIL, value=_text(value), detail=detail)


def unknown(rule: Rule, value: object, detail: str = "") -> Check:
    return Check(rule=rule, status=Status.UNKNOWN, value=_text(value),
                 detail=detail or f"not visible to this token; needs {rule.scope}")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return one_line("absent" if value is None else value, 200)


def to_finding(check: Check, *, provider: str, subject: str, version: str) -> Finding | None:
    """The finding for a failed or unknown check; None when it passed."""
    if check.status is Status.PASS:
        return None
    rule = check.rule
    unknown_ = check.status is Status.UNKNOWN
    lead = f"Unknown: {check.detail}" if unknown_ else (check.detail or rule.title)
    message = (f"{lead}. Value: {check.value}. Remediation: {rule.remediation}. "
               f"Scope needed to read it: {rule.scope}.")
    return Finding(
        fingerprint=fp.digest(fp.ALGORITHM, Category.PLATFORM.value, provider, subject, rule.id),
        scanner=SCANNER, scanner_version=version, found_by=(SCANNER,), rule_id=rule.id,
        category=Category.PLATFORM,
        severity=Severity.UNKNOWN if unknown_ else rule.severity,
        severity_source=f"platform check ({'not visible' if unknown_ else 'failed'})",
        title=("Unknown: " if unknown_ else "Not met: ") + rule.title + f" ({subject})",
        message=one_line(message, 1000),
        references=(rule.reference,) if rule.reference else (),
        target=None,
    )
