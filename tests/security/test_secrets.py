"""No planted credential reaches any file under the output dir, stdout or stderr.

Real scanners on a copy of the example app with credentials of five kinds planted in
Python, config and key files, and one .py file bandit cannot parse (so bandit's output is
rejected: it was once kept, unredacted, in raw/bandit.out). Every format, with --history.
The values are made up at run time, in the shapes the scanners' rules look for.
"""

from __future__ import annotations

import json
import random
import string
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADVISORIES, copy_webapp, run_cli

FORMATS = "console,json,sarif,junit,gitlab,markdown,html"


def _random(alphabet: str, n: int, rng: random.Random) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def make_credentials(seed: int) -> dict[str, str]:
    rng = random.Random(seed)  # test data, reproducible per seed
    up, alnum = string.ascii_uppercase + string.digits, string.ascii_letters + string.digits
    return {
        "aws_key_id": "AKIA" + _random(up, 16, rng),
        "aws_secret": _random(alnum + "/+", 40, rng),
        "github": "ghp_" + _random(alnum, 36, rng),
        "private_key": _random(alnum + "/+", 64, rng),
        "slack_webhook": f"T{_random(up, 8, rng)}/B{_random(up, 10, rng)}/"
                         f"{_random(alnum, 24, rng)}",
        "slack_token": f"xoxb-{_random(string.digits, 12, rng)}-"
                       f"{_random(string.digits, 13, rng)}-{_random(alnum, 24, rng)}",
        "password": "Pw-" + _random(alnum, 20, rng),
    }


def plant(root: Path, creds: dict[str, str]) -> None:
    settings = (
        f'AWS_ACCESS_KEY_ID = "{creds["aws_key_id"]}"\n'
        f'aws_secret_access_key = "{creds["aws_secret"]}"\n'
        f'GITHUB_TOKEN = "{creds["github"]}"\n'
        f'SLACK_WEBHOOK = "https://hooks.slack.com/services/{creds["slack_webhook"]}"\n'
        f'SLACK_TOKEN = "{creds["slack_token"]}"\n'
        f'password = "{creds["password"]}"\n'
        "\n\ndef connect(user: str) -> str:\n"
        f'    return login(user, password="{creds["password"]}")\n'
    )
    (root / "app" / "settings.py").write_text(settings)
    # bandit cannot parse this file; it quotes the same values
    (root / "app" / "broken.py").write_text(settings + "\ndef broken(:\n    pass\n")
    (root / ".env").write_text(f"AWS_ACCESS_KEY_ID={creds['aws_key_id']}\n"
                               f"AWS_SECRET_ACCESS_KEY={creds['aws_secret']}\n"
                               f"GITHUB_TOKEN={creds['github']}\n")
    body = "\n".join(creds["private_key"][i:i + 64] for i in range(0, 64, 64))
    (root / "deploy" / "id_rsa").write_text(
        "-----BEGIN RSA PRIVATE KEY-----\n"
        f"{body}\n{body[::-1]}\n"
        "-----END RSA PRIVATE KEY-----\n")
    (root / "deploy" / "notify.yml").write_text(
        f"webhook: https://hooks.slack.com/services/{creds['slack_webhook']}\n"
        f"token: {creds['slack_token']}\n")


def leaks(creds: dict[str, str], out: Path, proc: subprocess.CompletedProcess[str],
          *extra: Path) -> list[str]:
    found = []
    places = {"stdout": proc.stdout.encode(), "stderr": proc.stderr.encode()}
    for f in [*out.rglob("*"), *extra]:
        if f.is_file():
            places[str(f)] = f.read_bytes()
    needles = {**creds, "private_key (reversed line)": creds["private_key"][::-1]}
    for kind, value in needles.items():
        for where, data in places.items():
            if value.encode() in data:
                found.append(f"{kind} in {where}")
    return found


def scan(tmp: Path, policy: str, creds: dict[str, str]
         ) -> tuple[subprocess.CompletedProcess[str], Path]:
    root = copy_webapp(tmp)
    plant(root, creds)
    out = tmp / "report"
    policy_file = tmp / "policy.yml"
    policy_file.write_text(policy)
    proc = run_cli("scan", str(root), "--policy", str(policy_file), "-o", str(out),
                   "-f", FORMATS, "--advisories", str(ADVISORIES),
                   "--history", str(out / "history.sqlite"))
    return proc, out


POLICY = """version: 1
scanners:
  pip-audit: {{}}
  bandit: {{allow_parse_errors: {allow}}}
  semgrep: {{config: [bundled]}}
  trivy: {{scanners: [misconfig, secret]}}
gates:
  code: {{max: {{high: 0}}}}
  secret: {{max: {{any: 0}}}}
"""


@pytest.mark.slow
def test_rejected_scanner_output_leaks_no_credential(tmp_path: Path) -> None:
    creds = make_credentials(1)
    proc, out = scan(tmp_path, POLICY.format(allow="false"), creds)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "scanner bandit: could not analyse" in proc.stderr  # its output was rejected
    assert (out / "history.sqlite").is_file() and (out / "report.html").is_file()
    assert leaks(creds, out, proc) == []
    assert not (out / "raw" / "bandit.out").exists()


@pytest.mark.slow
def test_reported_secrets_leak_no_credential(tmp_path: Path) -> None:
    """Every scanner's output accepted: the secrets are reported (redacted), never shown."""
    creds = make_credentials(2)
    proc, out = scan(tmp_path, POLICY.format(allow="true"), creds)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED secret.max.any" in proc.stdout
    assert (out / "raw" / "bandit.json").is_file() and (out / "raw" / "trivy.json").is_file()
    doc = json.loads((out / "findings.json").read_text())
    rules = {f["rule_id"] for f in doc["findings"]}
    # every planted kind was found, so every one went through the reporters
    assert {"aws-access-key-id", "aws-secret-access-key", "github-pat", "private-key",
            "slack-web-hook", "slack-access-token", "B105", "B106"} <= rules
    assert leaks(creds, out, proc) == []


def test_the_check_finds_a_planted_value(tmp_path: Path) -> None:
    """The leak check itself: a value written anywhere under out/ is found."""
    creds = make_credentials(3)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "x.out").write_text(f"noise {creds['slack_token']} noise")
    proc = subprocess.CompletedProcess([], 0, stdout="", stderr=creds["password"])
    assert sorted(leaks(creds, tmp_path, proc)) == [
        "password in stderr", f"slack_token in {tmp_path / 'raw' / 'x.out'}"]
