"""Notices after a scan: a Slack incoming webhook and/or an email, per the policy's `notify:`.

When: `on: failure` (default; verdict fail or error), `change` (the verdict or the set of
open findings changed since the previous run in the history; without a history every run
counts as a change) or `always`.

What a notice holds: the verdict, the failed gates, the counted totals, what changed since
the previous run (severity, rule id, path and title of each new or fixed finding) and a link
to the pipeline. Never a finding's message or matched text, never an environment value:
the webhook URL and SMTP credentials are read from the environment variables the policy
names, and no error message repeats them.

A notice that cannot be sent is a one-line warning; it never changes the exit code.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from .history import FindingRef, Recorded
from .model import Category, ScanResult
from .policy.evaluate import Verdict, totals
from .policy.model import EmailNotify, Notify, SlackNotify
from .textutil import one_line

TIMEOUT_S = 10.0
MAX_LISTED = 10


class NotifyError(Exception):
    """Why a notice was not sent; the text never holds a secret."""


def should_send(on: str, verdict: Verdict, change: Recorded | None) -> bool:
    if on == "always":
        return True
    if on == "failure":
        return verdict.status != "pass"
    # change
    if change is None:
        return True
    return change.previous_status != verdict.status or bool(change.new or change.fixed)


def pipeline_url(env: Mapping[str, str]) -> str | None:
    """The CI run this scan belongs to (GitHub Actions or GitLab CI), else None."""
    server, repo, run_id = (env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY"),
                            env.get("GITHUB_RUN_ID"))
    if server and repo and run_id:
        return f"{server.rstrip('/')}/{repo}/actions/runs/{run_id}"
    url = env.get("CI_PIPELINE_URL")
    return url or None


def _project(run: ScanResult, env: Mapping[str, str]) -> str:
    return env.get("GITHUB_REPOSITORY") or env.get("CI_PROJECT_PATH") or Path(run.root).name


def _ref_line(r: FindingRef) -> str:
    where = f" {r.path}" if r.path else ""
    return one_line(f"[{r.severity}] {r.rule_id}{where}: {r.title}", 240)


def summary_lines(run: ScanResult, verdict: Verdict, change: Recorded | None,
                  env: Mapping[str, str]) -> tuple[str, list[str]]:
    """(one-line headline, body lines) shared by Slack and email."""
    project = one_line(_project(run, env), 120)
    branch = f" ({one_line(run.branch, 80)})" if run.branch else ""
    head = f"posture-gate {verdict.status.upper()}: {project}{branch}"
    lines = [f"Verdict: {verdict.status.upper()} (exit {verdict.exit_code})"]
    if run.commit:
        lines.append(f"Commit: {one_line(run.commit, 64)}")
    failed = verdict.failed_gates
    if failed:
        lines.append("Failed gates: " + ", ".join(
            f"{one_line(g.name, 80)} ({g.count} > {g.limit})" for g in failed[:MAX_LISTED])
            + (f", +{len(failed) - MAX_LISTED} more" if len(failed) > MAX_LISTED else ""))
    if verdict.errors:
        lines.append(f"Scanner errors: {len(verdict.errors)}")
    table = totals(verdict.findings)
    lines.append("Totals: " + ", ".join(f"{c.value} {sum(table[c].values())}"
                                        for c in Category)
                 + f" (total {sum(sum(r.values()) for r in table.values())})")
    if change is not None:
        before = change.previous_status.upper() if change.previous_status else "none"
        lines.append(f"Since the previous run (verdict {before}): {len(change.new)} new, "
                     f"{len(change.fixed)} fixed")
        for label, refs in (("new", change.new), ("fixed", change.fixed)):
            lines += [f"  {label}: {_ref_line(r)}" for r in refs[:MAX_LISTED]]
            if len(refs) > MAX_LISTED:
                lines.append(f"  {label}: +{len(refs) - MAX_LISTED} more")
    url = pipeline_url(env)
    if url:
        lines.append(f"Pipeline: {one_line(url, 300)}")
    return head, lines


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(run: ScanResult, verdict: Verdict, change: Recorded | None,
                  env: Mapping[str, str]) -> dict[str, Any]:
    head, lines = summary_lines(run, verdict, change, env)
    url = pipeline_url(env)
    body = [_slack_escape(x) for x in lines if not x.startswith("Pipeline: ")]
    if url:
        body.append(f"<{_slack_escape(url)}|Pipeline>")
    return {
        "text": _slack_escape(head),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": head[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(body)[:2900]}},
        ],
    }


def _env(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name)
    if not value:
        raise NotifyError(f"{what}: environment variable {name} is not set")
    return value


def send_slack(cfg: SlackNotify, payload: Mapping[str, Any], env: Mapping[str, str],
               timeout: float | None = None) -> None:
    timeout = timeout or TIMEOUT_S
    url = _env(env, cfg.webhook_url_env, "slack")
    if not url.startswith(("https://", "http://")):
        raise NotifyError(f"slack: {cfg.webhook_url_env} is not an http(s) URL")
    req = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=json.dumps(payload).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8",
                 "User-Agent": "posture-gate"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            resp.read(4096)
    except urllib.error.HTTPError as exc:
        raise NotifyError(f"slack: webhook answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror \
            else type(reason).__name__ if isinstance(reason, BaseException) else "unreachable"
        raise NotifyError(f"slack: webhook unreachable ({one_line(str(text), 120)})") \
            from None
    except TimeoutError:
        raise NotifyError(f"slack: webhook timed out after {timeout:g}s") from None
    except (OSError, ValueError) as exc:
        raise NotifyError(f"slack: webhook request failed ({type(exc).__name__})") from None


def email_message(cfg: EmailNotify, run: ScanResult, verdict: Verdict,
                  change: Recorded | None, env: Mapping[str, str]) -> EmailMessage:
    head, lines = summary_lines(run, verdict, change, env)
    msg = EmailMessage()
    msg["Subject"] = f"[posture-gate] {head}"
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.to)
    msg.set_content("\n".join([head, "", *lines]) + "\n")
    return msg


def send_email(cfg: EmailNotify, msg: EmailMessage, env: Mapping[str, str],
               timeout: float | None = None, context: ssl.SSLContext | None = None) -> None:
    timeout = timeout or TIMEOUT_S
    user = _env(env, cfg.username_env, "email") if cfg.username_env else None
    password = _env(env, cfg.password_env, "email") if cfg.password_env else None
    if user is not None and not cfg.starttls:
        raise NotifyError("email: refusing to send credentials without starttls")
    port = cfg.smtp_port or (587 if cfg.starttls else 25)
    try:
        with smtplib.SMTP(cfg.smtp_host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if cfg.starttls:
                smtp.starttls(context=context or ssl.create_default_context())
                smtp.ehlo()
            if user is not None:
                smtp.login(user, password or "")
            smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise NotifyError(f"email: authentication failed (SMTP {exc.smtp_code})") from None
    except smtplib.SMTPNotSupportedError:
        raise NotifyError(f"email: {cfg.smtp_host}:{port} does not offer STARTTLS") from None
    except smtplib.SMTPResponseException as exc:
        raise NotifyError(f"email: server refused (SMTP {exc.smtp_code})") from None
    except ssl.SSLError as exc:
        raise NotifyError(f"email: TLS failed ({one_line(exc.reason or type(exc).__name__)})") \
            from None
    except (smtplib.SMTPException, OSError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror \
            else type(exc).__name__
        raise NotifyError(f"email: {cfg.smtp_host}:{port}: {one_line(str(detail), 120)}") \
            from None


def send_all(notify: Notify, run: ScanResult, verdict: Verdict, change: Recorded | None,
             env: Mapping[str, str] | None = None) -> list[str]:
    """Send what the policy asks for. Returns one warning line per notice not sent."""
    env = os.environ if env is None else env
    warnings: list[str] = []
    jobs: Sequence[tuple[str, Any]] = [("slack", notify.slack), ("email", notify.email)]
    for kind, cfg in jobs:
        if cfg is None or not should_send(cfg.on, verdict, change):
            continue
        try:
            if kind == "slack":
                send_slack(cfg, slack_payload(run, verdict, change, env), env)
            else:
                send_email(cfg, email_message(cfg, run, verdict, change, env), env)
        except NotifyError as exc:
            warnings.append(f"notification not sent: {one_line(str(exc), 300)}")
        except Exception as exc:  # a notice never changes the verdict
            warnings.append(f"notification not sent: {kind}: {type(exc).__name__}")
    return warnings
