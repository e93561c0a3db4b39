"""Notices received by real servers on 127.0.0.1: an HTTP webhook and SMTP (aiosmtpd),
with and without STARTTLS; an unreachable one is a warning, never a new exit code."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from posture_gate import notify
from posture_gate.history import FindingRef, Recorded
from posture_gate.model import Category, Finding, Location, ScanResult, Severity
from posture_gate.policy.evaluate import GateResult, Verdict
from posture_gate.policy.model import EmailNotify, GateKind, Notify, SlackNotify, VerdictStatus
from tests.conftest import ADVISORIES, cli_env, copy_webapp, run_cli

SECRET_MESSAGE = "token=ghp_notarealtokenbutsecretlooking0000"
HOOK_SECRET = "/services/T000/B000/XXXXsecretpart"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Hook:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []


@pytest.fixture
def webhook() -> Iterator[tuple[str, Hook]]:
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length", "0"))
            hook.bodies.append(json.loads(self.rfile.read(n)))
            hook.paths.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{HOOK_SECRET}", hook
    finally:
        server.shutdown()
        server.server_close()


def finding() -> Finding:
    return Finding(fingerprint="a" * 64, scanner="bandit", scanner_version="1", rule_id="B105",
                   category=Category.SECRET, severity=Severity.CRITICAL,
                   title="Hardcoded password", message=SECRET_MESSAGE,
                   location=Location(path="app/settings.py", start_line=3))


def sample() -> tuple[ScanResult, Verdict, Recorded]:
    f = finding()
    run = ScanResult(tool_version="0", started_at="x", finished_at="x", root="/src/webapp",
                     policy="preset:nightly", policy_digest="d" * 64, scanners=(),
                     findings=(f,), commit="0123456789abcdef", branch="main")
    verdict = Verdict(status=VerdictStatus.FAIL, findings=(f,), new_fingerprints=frozenset(),
                      gates=(GateResult(name="secret.max.any", kind=GateKind.CATEGORY,
                                        severity="any", limit=0, count=1, passed=False),))
    change = Recorded(
        run_id=2, previous_status="pass",
        new=(FindingRef(fingerprint=f.fingerprint, category="secret", severity="critical",
                        rule_id="B105", title="Hardcoded <password>", path="app/settings.py"),),
        fixed=(FindingRef(fingerprint="b" * 64, category="dependency", severity="high",
                          rule_id="PYSEC-2021-142", title="pyyaml 5.3.1: PYSEC-2021-142",
                          path="pyyaml==5.3.1"),))
    return run, verdict, change


GH_ENV = {"GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "acme/shop",
          "GITHUB_RUN_ID": "42"}


def test_slack_webhook_receives_verdict_totals_changes_and_link(
        webhook: tuple[str, Hook]) -> None:
    url, hook = webhook
    run, verdict, change = sample()
    env = {"PG_SLACK_URL": url, **GH_ENV}
    cfg = Notify(slack=SlackNotify(webhook_url_env="PG_SLACK_URL", on="failure"))
    assert notify.send_all(cfg, run, verdict, change, env) == []
    (body,) = hook.bodies
    assert hook.paths == [HOOK_SECRET]
    assert body["text"] == "posture-gate FAIL: acme/shop (main)"
    text = body["blocks"][1]["text"]["text"]
    assert "Verdict: FAIL (exit 1)" in text
    assert "Failed gates: secret.max.any (1 &gt; 0)" in text
    assert ("Totals: code 0, architecture 0, os 0, dependency 0, secret 1, platform 0 "
            "(total 1)") in text
    assert "Since the previous run (verdict PASS): 1 new, 1 fixed" in text
    assert "new: [critical] B105 app/settings.py: Hardcoded &lt;password&gt;" in text
    assert "fixed: [high] PYSEC-2021-142 pyyaml==5.3.1" in text
    assert "<https://github.example/acme/shop/actions/runs/42|Pipeline>" in text
    dumped = json.dumps(body)
    assert SECRET_MESSAGE not in dumped and "secretpart" not in dumped


def test_when_each_notice_is_sent() -> None:
    _, verdict, change = sample()
    passed = Verdict(status=VerdictStatus.PASS, gates=(), findings=(), new_fingerprints=frozenset())
    same = Recorded(run_id=3, previous_status="pass", new=(), fixed=())
    assert notify.should_send("failure", verdict, None)
    assert not notify.should_send("failure", passed, change)
    assert notify.should_send("change", passed, change)  # findings changed
    assert not notify.should_send("change", passed, same)
    assert notify.should_send("change", verdict, same)  # pass -> fail
    assert notify.should_send("change", passed, None)  # no history: cannot tell
    assert notify.should_send("always", passed, same)
    assert notify.pipeline_url({"CI_PIPELINE_URL": "https://gitlab.example/p/-/pipelines/7"}) \
        == "https://gitlab.example/p/-/pipelines/7"
    assert notify.pipeline_url({}) is None


def test_unreachable_webhook_and_missing_env_are_warnings_without_secrets() -> None:
    run, verdict, change = sample()
    closed = f"http://127.0.0.1:{free_port()}{HOOK_SECRET}"
    cfg = Notify(slack=SlackNotify(webhook_url_env="PG_SLACK_URL", on="always"))
    (w,) = notify.send_all(cfg, run, verdict, change, {"PG_SLACK_URL": closed})
    assert w.startswith("notification not sent: slack: webhook unreachable")
    assert "secretpart" not in w and "127.0.0.1" not in w
    (w,) = notify.send_all(cfg, run, verdict, change, {})
    assert w == "notification not sent: slack: environment variable PG_SLACK_URL is not set"
    (w,) = notify.send_all(cfg, run, verdict, change, {"PG_SLACK_URL": "file:///etc/passwd"})
    assert "not an http(s) URL" in w and "passwd" not in w


# --- email: a real SMTP server ----------------------------------------------------------

class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_email_plain_smtp(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        run, verdict, change = sample()
        cfg = Notify(email=EmailNotify(smtp_host="127.0.0.1", smtp_port=port, starttls=False,
                                       sender="gate@example.org",
                                       to=("sec@example.org", "dev@example.org")))
        assert notify.send_all(cfg, run, verdict, change, {**GH_ENV}) == []
    finally:
        controller.stop()
    ((mail_from, rcpt, content),) = inbox.messages
    assert mail_from == "gate@example.org" and rcpt == ["sec@example.org", "dev@example.org"]
    msg = message_from_bytes(content)
    assert msg["Subject"] == "[posture-gate] posture-gate FAIL: acme/shop (main)"
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode()
    assert "Failed gates: secret.max.any (1 > 0)" in body
    assert "new: [critical] B105 app/settings.py: Hardcoded <password>" in body
    assert "Pipeline: https://github.example/acme/shop/actions/runs/42" in body
    assert SECRET_MESSAGE not in body


def test_email_starttls_with_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        logins.append((data.login, data.password))
        return AuthResult(success=data.login == b"gate" and data.password == b"s3cret-pw")

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_ctx,
                            require_starttls=True, authenticator=authenticator,
                            auth_require_tls=True)
    controller.start()
    try:
        # the client trusts the test's self-signed CA the way a runner would: SSL_CERT_FILE
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        run, verdict, change = sample()
        email = EmailNotify(smtp_host="localhost", smtp_port=port, starttls=True,
                            sender="gate@example.org", to=("sec@example.org",),
                            username_env="PG_SMTP_USER", password_env="PG_SMTP_PASS")
        env = {"PG_SMTP_USER": "gate", "PG_SMTP_PASS": "s3cret-pw"}
        assert notify.send_all(Notify(email=email), run, verdict, change, env) == []
        monkeypatch.setattr(notify, "TIMEOUT_S", 1.0)  # the server stalls after a refusal
        (w,) = notify.send_all(Notify(email=email), run, verdict, change,
                               {**env, "PG_SMTP_PASS": "wrong"})
        # refused (smtplib tries each mechanism; the server may hang up): a warning only
        assert w.startswith("notification not sent: email: ")
        assert "wrong" not in w and "s3cret" not in w
        monkeypatch.delenv("SSL_CERT_FILE")
        (w,) = notify.send_all(Notify(email=email), run, verdict, change, env)
        assert w.startswith("notification not sent: email: TLS failed")  # untrusted cert
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    assert logins[0] == (b"gate", b"s3cret-pw")


# --- the CLI: a notice never changes the exit code --------------------------------------

@pytest.mark.slow
def test_scan_sends_notices_and_an_unreachable_one_keeps_the_exit_code(
        tmp_path: Path, webhook: tuple[str, Hook]) -> None:
    url, hook = webhook
    root = copy_webapp(tmp_path)
    smtp_port = free_port()  # nothing listens there
    pol = tmp_path / "p.yml"
    pol.write_text(f"""version: 1
gates:
  dependency: {{max: {{high: 0}}}}
notify:
  slack: {{webhook_url_env: PG_SLACK_URL, on: always}}
  email: {{smtp_host: 127.0.0.1, smtp_port: {smtp_port}, starttls: false,
          from: gate@example.org, to: [sec@example.org]}}
""")
    args = ("scan", str(root), "--policy", str(pol), "--advisories", str(ADVISORIES),
            "--only", "pip-audit", "-o", str(tmp_path / "out"), "--history",
            str(tmp_path / "h.sqlite"), "--today", "2026-11-26")
    proc = run_cli(*args, env=cli_env(PG_SLACK_URL=url, CI_PIPELINE_URL="https://ci.example/1"))
    assert proc.returncode == 1, proc.stderr
    (body,) = hook.bodies
    text = body["blocks"][1]["text"]["text"]
    assert "Verdict: FAIL" in text and "dependency.max.high" in text
    assert "Since the previous run (verdict none):" in text
    assert "<https://ci.example/1|Pipeline>" in text
    warnings = [x for x in proc.stderr.splitlines() if "warning" in x]
    assert warnings == [f"posture-gate: warning: notification not sent: email: "
                        f"127.0.0.1:{smtp_port}: Connection refused"]
    # now the webhook is gone too: still exit 1, two one-line warnings, no URL printed
    closed = f"http://127.0.0.1:{free_port()}{HOOK_SECRET}"
    proc = run_cli(*args, env=cli_env(PG_SLACK_URL=closed))
    assert proc.returncode == 1
    warnings = [x for x in proc.stderr.splitlines() if "warning" in x]
    assert len(warnings) == 2 and "webhook unreachable" in warnings[0]
    assert "secretpart" not in proc.stderr + proc.stdout
