"""redact(): the net for free text (stderr lines, exception messages) that may quote a secret."""

from __future__ import annotations

import pytest

from posture_gate.redact import MASK, redact

AWS = "AKIA" + "QYLPMN5HHHFPZAM2"  # made up, in the shape of an access key id
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
HOOK = "T0AAAAAAA/B0BBBBBBBBB/" + "abcdefghijklmnopqrstuvwx"
KEY_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"


@pytest.mark.parametrize("text, secret", [
    (f"error: bad key {AWS} in request", AWS),
    (f"auth failed for token {GITHUB}", GITHUB),
    (f"posting with {SLACK}", SLACK),
    (f"POST https://hooks.slack.com/services/{HOOK} failed", HOOK),
    (f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n-----END RSA PRIVATE KEY-----", KEY_BODY),
    ("could not fetch https://deploy:s3cr3t-Passw0rd@pypi.internal/simple/", "s3cr3t-Passw0rd"),
    ('password = "hunter2-but-longer"', "hunter2-but-longer"),
    ("--api-key=abcdef123456 rejected", "abcdef123456"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz", "wJalrXUtnFEMI"),
])
def test_known_shapes_are_masked(text: str, secret: str) -> None:
    out = redact(text, env={})
    assert secret not in out and MASK in out


def test_secret_looking_environment_values_are_masked() -> None:
    env = {"SLACK_WEBHOOK_URL": "https://example.invalid/hook/abc123def",
           "MY_API_TOKEN": "tok-9f8e7d6c5b", "SHORT_TOKEN": "1", "HOME": "/root/longpath"}
    out = redact("sent to https://example.invalid/hook/abc123def with tok-9f8e7d6c5b "
                 "from /root/longpath (1)", env=env)
    assert "abc123def" not in out and "tok-9f8e7d6c5b" not in out
    assert "/root/longpath (1)" in out  # not secret by name, or too short to mask


def test_ordinary_messages_are_left_alone() -> None:
    text = ("bandit: exited with code 2: error: unrecognized arguments: --frobnicate; "
            "/tmp/x/app.py:3: invalid syntax")
    assert redact(text, env={}) == text
