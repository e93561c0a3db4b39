"""report.html: self-contained, escaped, and rendered for real in headless Chromium
(charts drawn, filters working, no console errors, no network request from the page)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from posture_gate.model import ScanResult, TrendPoint
from posture_gate.policy.evaluate import Verdict
from posture_gate.reporters import REPORTERS
from posture_gate.reporters.html import CSP

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def with_history(synthetic: tuple[ScanResult, Verdict]) -> tuple[ScanResult, Verdict]:
    run, verdict = synthetic
    cats = ("code", "architecture", "os", "dependency", "secret")
    points = tuple(
        TrendPoint(at=f"2026-11-{day:02d}T02:00:00Z", status="fail" if day % 3 else "pass",
                   totals={c: (day * (i + 1)) % 7 for i, c in enumerate(cats)})
        for day in range(1, 15))
    first = verdict.findings[0].with_(title=EVIL)
    findings = (first, *verdict.findings[1:])
    ages = {f.fingerprint: n * 3 for n, f in enumerate(findings)}
    verdict = replace(verdict, findings=findings, ages=ages,
                      new_since_last=(findings[1].fingerprint,), fixed_since_last=("ff" * 32,))
    return replace(run, trends=points, findings=findings), verdict


def render(synthetic: tuple[ScanResult, Verdict]) -> str:
    run, verdict = with_history(synthetic)
    return REPORTERS["html"].render(run, verdict)


def test_registered() -> None:
    assert REPORTERS["html"].filename == "report.html"


def test_untrusted_text_is_escaped(synthetic: tuple[ScanResult, Verdict]) -> None:
    page = render(synthetic)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=" in page
    assert page.count("<script") == 1 and "onerror=alert" not in page.replace(
        "onerror=alert(1)&gt;", "")


def test_self_contained_and_locked_down_by_csp(synthetic: tuple[ScanResult, Verdict]) -> None:
    page = render(synthetic)
    # nothing to fetch: no src/href attributes, no url(), no @import
    assert not re.search(r"<[^>]*\s(src|href)=", page)
    assert "url(" not in page and "@import" not in page
    assert "eval(" not in page and "new Function" not in page
    for tag in ("script", "style"):
        (body,) = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.S)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in CSP
    assert "default-src 'none'" in CSP


def test_charts_and_ages_and_changes(synthetic: tuple[ScanResult, Verdict]) -> None:
    run, verdict = with_history(synthetic)
    page = REPORTERS["html"].render(run, verdict)
    assert page.count('<svg class="trend"') == 6  # one per category
    dep = [p.totals["dependency"] for p in run.trends or ()]
    assert f'data-category="dependency" data-points="14" data-values="{",".join(map(str, dep))}"' \
        in page
    assert "Since the previous run: 1 new, 1 fixed." in page
    assert f'data-fingerprint="{verdict.findings[1].fingerprint}"' in page
    no_history = REPORTERS["html"].render(replace(run, trends=None),
                                          replace(verdict, ages=None))
    assert "No history for this run" in no_history and "<svg" not in no_history


# --- real browser ----------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic", "--disable-default-apps", "--disable-extensions",
    "--disable-domain-reliability", "--no-default-browser-check",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter",
    # Chromium's own background requests resolve nowhere: nothing leaves the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--enable-logging=stderr", "--v=0",
]


def chromium() -> str:
    exe = shutil.which("chromium")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium not installed (scripts/test-deps/chromium.sh)")
        pytest.skip("chromium not installed (scripts/test-deps/chromium.sh)")
    return exe


def browse(url: str, tmp: Path, *extra: str) -> tuple[str, str, list[dict[str, str]]]:
    """(stdout, stderr, the page's own network requests) of one headless Chromium run."""
    netlog = tmp / f"net-{len(list(tmp.glob('net-*')))}.json"
    with tempfile.TemporaryDirectory(dir=tmp) as profile:
        proc = subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             f"--log-net-log={netlog}", "--virtual-time-budget=2000", *extra, url],
            capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = json.loads(netlog.read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    # requests the page made (a browser-internal one has initiator 'not an origin')
    page_requests = [ev["params"] for ev in log["events"]
                     if names.get(ev["type"]) == "URL_REQUEST_START_JOB"
                     and "url" in ev.get("params", {})
                     and ev["params"].get("initiator") != "not an origin"]
    return proc.stdout, proc.stderr, page_requests


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from .conftest import scan_result, verdict_for  # the same fixed run as the goldens

    run = scan_result()
    tmp = tmp_path_factory.mktemp("html")
    (tmp / "report.html").write_text(render((run, verdict_for(run))), encoding="utf-8")
    return tmp


@pytest.mark.real_tools
def test_the_checks_catch_console_errors_and_requests(tmp_path: Path) -> None:
    """Control: a page that logs an error and fetches from a closed loopback port is caught,
    so a clean result below means something."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png">'
                   '<script>console.error("control-marker")</script></body></html>')
    _, stderr, requests = browse(bad.as_uri(), tmp_path, "--dump-dom")
    assert any("control-marker" in line for line in console_lines(stderr))
    assert [r["url"] for r in requests] == ["http://127.0.0.1:9/x.png"]


@pytest.mark.real_tools
def test_renders_in_chromium_without_errors_or_requests(page: Path) -> None:
    url = (page / "report.html").as_uri()
    dom, stderr, requests = browse(url + "#severity=high", page, "--dump-dom")
    assert console_lines(stderr) == []
    assert requests == []
    assert 'data-ready="1"' in dom  # the inline script ran to the end
    assert dom.count('<svg class="trend"') == 6 and dom.count("<polyline") == 6
    rows = re.findall(r'<tr data-category="[^"]+" data-severity="([^"]+)"[^>]*?'
                      r'( hidden(?:="")?)?>', dom)
    assert len(rows) > 3 and {sev for sev, _ in rows} > {"high"}
    assert all((not hidden) == (sev == "high") for sev, hidden in rows)
    shown = re.search(r'<span id="shown">(\d+)</span>', dom)
    assert shown and int(shown.group(1)) == sum(sev == "high" for sev, _ in rows)
    # the whole page as a picture
    shot = page / "report.png"
    _, stderr, requests = browse(url, page, f"--screenshot={shot}", "--window-size=1280,1800")
    assert console_lines(stderr) == [] and requests == []
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
