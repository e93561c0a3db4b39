"""pip-audit: what it is handed (lock files, includes), what it must say back (strict shapes,
every package audited or accepted), and the severity look-ups after it (bounded, one host).

The tests marked slow run the real pip-audit against posture-gate's OSV server on 127.0.0.1
(examples/advisories), or against a stand-in for pypi.org on 127.0.0.1.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from posture_gate import locks
from posture_gate.errors import ScannerError, ScannerOutputError
from posture_gate.scanners.base import Job, ScanContext, ScannerSettings
from posture_gate.scanners.pip_audit import PINS_FILE, PipAudit, pins_text
from posture_gate.scanners.pip_audit_severity import Fetcher as _Fetcher
from posture_gate.scanners.pip_audit_severity import vulns_base as _vulns_base
from tests.conftest import ADVISORIES, SAMPLES, cli_env, run_cli

LOCKS = Path(__file__).resolve().parent.parent / "data" / "locks"
PA = PipAudit()


# -- parse: strict shapes and complete results ----------------------------------------------

def sample() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((SAMPLES / "pip-audit.json").read_text())
    return doc


def pin(name: str, version: str, line: int, path: str = "poetry.lock") -> locks.Pin:
    return locks.Pin(name=name, version=version, path=path, line=line)


def parse(doc: dict[str, Any], tmp_path: Path, *, exit_code: int = 1, **meta: Any) -> Any:
    job = Job(name="pip-audit", scanner="pip-audit", argv=("pip-audit",), meta=meta)
    return PA.parse(json.dumps(doc).encode(), job, ScanContext(root=tmp_path, work_dir=tmp_path),
                    "2.10.1", exit_code=exit_code)


def sample_pins() -> tuple[locks.Pin, ...]:
    return tuple(pin(d["name"], d["version"], 10 + i) for i, d in
                 enumerate(sample()["dependencies"]))


@pytest.mark.parametrize("path, value, field", [
    (("dependencies", 0, "vulns", 0, "aliases"), -1, "dependencies[0].vulns[0].aliases is int"),
    (("dependencies", 0, "vulns", 0, "aliases"), [1], "dependencies[0].vulns[0].aliases[0] is int"),
    (("dependencies", 0, "vulns", 0, "fix_versions"), -1,
     "dependencies[0].vulns[0].fix_versions is int"),
    (("dependencies", 0, "vulns", 0, "fix_versions"), [None],
     "dependencies[0].vulns[0].fix_versions[0] is null"),
    (("dependencies", 0, "vulns", 0, "id"), 7, "dependencies[0].vulns[0].id is int"),
    (("dependencies", 0, "vulns", 0, "description"), {}, "dependencies[0].vulns[0].description "
                                                         "is dict"),
    (("dependencies", 0, "vulns", 0), "PYSEC-1", "dependencies[0].vulns[0] is str"),
    (("dependencies", 0, "vulns"), {}, "dependencies[0].vulns is dict"),
    (("dependencies", 0, "version"), 5.1, "dependencies[0].version is float"),
    (("dependencies", 0, "name"), None, "dependencies[0].name is null"),
    (("dependencies", 0), [], "dependencies[0] is list"),
    (("fixes",), {}, "fixes is dict"),
    (("dependencies",), {}, "dependencies is dict"),
])
def test_every_field_is_type_checked(tmp_path: Path, path: tuple[Any, ...], value: Any,
                                     field: str) -> None:
    doc = sample()
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ScannerOutputError) as exc:
        parse(doc, tmp_path)
    assert str(exc.value) == f"pip-audit: unexpected output shape: {field}"


def test_missing_fields(tmp_path: Path) -> None:
    doc = sample()
    del doc["fixes"]
    with pytest.raises(ScannerOutputError, match="no fixes"):
        parse(doc, tmp_path)
    doc = sample()
    del doc["dependencies"][1]["vulns"][0]["fix_versions"]
    with pytest.raises(ScannerOutputError, match=r"no dependencies\[1\].vulns\[0\].fix_versions"):
        parse(doc, tmp_path)


def test_exit_code_must_agree_with_the_results(tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match=r"exited 1 .* but reported none"):
        parse({"dependencies": [], "fixes": []}, tmp_path, exit_code=1)
    with pytest.raises(ScannerOutputError, match=r"exited 0 .* but reported 5 vulnerabilities"):
        parse(sample(), tmp_path, exit_code=0)


def test_findings_point_at_the_pin_and_inputs_are_counted(tmp_path: Path) -> None:
    pins = (pin("pyyaml", "5.1", 31), pin("requests", "2.19.0", 41, "requirements/prod.txt"))
    parsed = parse(sample(), tmp_path, pins=pins, unaudited=(),
                   inputs=("requirements.txt", "requirements/prod.txt", "poetry.lock"))
    where = {(f.package.name, f.location.path, f.location.start_line) for f in parsed.findings}
    assert where == {("pyyaml", "poetry.lock", 31), ("requests", "requirements/prod.txt", 41)}
    assert parsed.raw_count == 5
    assert parsed.properties["inputs"] == {"requirements.txt": 0, "requirements/prod.txt": 1,
                                           "poetry.lock": 1}
    assert parsed.properties["audited"] == 2


def test_a_package_handed_over_without_a_result_fails(tmp_path: Path) -> None:
    pins = (*sample_pins(), pin("urllib3", "1.23", 60))
    with pytest.raises(ScannerOutputError, match=r"no result for 1 of the 3 package\(s\) it was "
                                                 "asked about: urllib3 1.23"):
        parse(sample(), tmp_path, pins=pins)


def test_a_result_it_was_not_asked_about_fails(tmp_path: Path) -> None:
    with pytest.raises(ScannerOutputError, match=r"a result for requests 2.19.0, which it was "
                                                 "not asked about"):
        parse(sample(), tmp_path, pins=sample_pins()[:1])


def test_a_package_reported_twice_fails(tmp_path: Path) -> None:
    doc = sample()
    doc["dependencies"].append(doc["dependencies"][0])
    with pytest.raises(ScannerOutputError, match=r"two results for pyyaml 5\.1"):
        parse(doc, tmp_path, pins=sample_pins())


def skipped_doc(names: list[str]) -> dict[str, Any]:
    return {"dependencies": [
        {"name": n, "skip_reason": f"Dependency not found on PyPI and could not be audited: "
                                   f"{n} (1.0)"} for n in names]
        + [{"name": "pyyaml", "version": "5.1", "vulns": []}], "fixes": []}


def test_unaudited_packages_fail_naming_the_first_few(tmp_path: Path) -> None:
    names = ["flask", "jinja2", "click", "itsdangerous"]
    pins = (*(pin(n, "1.0", i) for i, n in enumerate(names)), pin("pyyaml", "5.1", 9))
    git = locks.Unpinned(name="mylib", reason="git source in poetry.lock", path="poetry.lock",
                         line=16)
    with pytest.raises(ScannerError) as exc:
        parse(skipped_doc(names), tmp_path, exit_code=0, pins=pins, unaudited=(git,))
    assert exc.value.reason.startswith(
        "5 package(s) could not be audited: mylib (git source in poetry.lock, poetry.lock:16), "
        "flask 1.0 (Dependency not found on PyPI and could not be audited), jinja2 1.0 "
        "(Dependency not found on PyPI and could not be audited), ...")


def test_allow_unaudited_accepts_by_name_as_warnings(tmp_path: Path) -> None:
    pins = (pin("flask", "1.0", 1), pin("pyyaml", "5.1", 2))
    with pytest.raises(ScannerError, match=r"^pip-audit: 1 package\(s\) could not be audited: "
                                           "flask 1.0"):
        parse(skipped_doc(["flask"]), tmp_path, exit_code=0, pins=pins,
              allow_unaudited=("other",))
    parsed = parse(skipped_doc(["flask"]), tmp_path, exit_code=0, pins=pins,
                   allow_unaudited=("flask",))
    assert parsed.warnings == ("not audited, accepted by allow_unaudited: flask 1.0 (Dependency "
                               "not found on PyPI and could not be audited)",)


def test_nothing_audited_is_an_error_even_when_every_skip_is_accepted(tmp_path: Path) -> None:
    doc = skipped_doc(["flask"])
    doc["dependencies"].pop()
    with pytest.raises(ScannerError, match="audited 0 packages"):
        parse(doc, tmp_path, exit_code=0, pins=(pin("flask", "1.0", 1),),
              allow_unaudited=("flask",))


def test_two_versions_of_one_package_are_both_handed_over_and_located() -> None:
    pins = [pin("pyyaml", "5.1", 20, "uv.lock"), pin("pyyaml", "5.3", 29, "uv.lock"),
            pin("requests", "2.19.1", 40, "uv.lock")]
    assert pins_text(pins) == "pyyaml==5.1\nPyyaml==5.3\nrequests==2.19.1\n"


def settings(**options: Any) -> ScannerSettings:
    return ScannerSettings(name="pip-audit", options=options)


def test_plan_hands_pip_audit_one_pins_file(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(LOCKS / "nested", root)
    work = tmp_path / "work"
    work.mkdir()
    job, = PA.plan(settings(), ScanContext(root=root, work_dir=work))
    argv = list(job.argv)
    assert argv[argv.index("-r") + 1] == str(work / PINS_FILE)
    assert argv.count("-r") == 1 and "--no-deps" in argv and "--disable-pip" in argv
    assert (work / PINS_FILE).read_text() == ("pyyaml==5.1\ncertifi==2024.2.2\n"
                                              "requests==2.19.1\nurllib3==1.23\n")


def test_plan_refuses_an_escaping_include_even_when_pip_resolves(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r ../elsewhere.txt\n")
    for opts in ({}, {"resolve": True}):
        with pytest.raises(ScannerError, match=r"^pip-audit: requirements.txt:1: include "
                                               r"'../elsewhere.txt' leaves the scanned tree"):
            PA.plan(settings(**opts), ScanContext(root=tmp_path, work_dir=tmp_path))


def test_a_file_name_from_the_tree_reaches_the_message_without_control_characters(
        tmp_path: Path) -> None:
    (tmp_path / "requirements-\x1b[2J.txt").write_text("requests>=2\n")
    with pytest.raises(ScannerError) as exc:
        PA.plan(settings(), ScanContext(root=tmp_path, work_dir=tmp_path))
    assert exc.value.reason.startswith("requirements-?[2J.txt:1: 'requests>=2' is not pinned")


def test_plan_with_only_unaudited_packages(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("mylib @ https://example.invalid/mylib.tgz\n")
    ctx = ScanContext(root=tmp_path, work_dir=tmp_path)
    with pytest.raises(ScannerError, match=r"1 package\(s\) could not be audited: mylib"):
        PA.plan(settings(), ctx)
    with pytest.raises(ScannerError, match=r"nothing to audit: requirements.txt pin no package"):
        PA.plan(settings(allow_unaudited=["mylib"]), ctx)


# -- severity look-ups: short, bounded, only to the OSV server pip-audit was given ---------

class _Osv(BaseHTTPRequestHandler):
    hits: list[str]
    record: dict[str, Any] | None = None
    redirect_to: str | None = None
    hang: threading.Event | None = None

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.hang is not None:
            self.hang.wait(30)
            return
        if self.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.redirect_to + self.path)
            self.end_headers()
            return
        body = json.dumps(self.record).encode() if self.record else b"{}"
        self.send_response(200 if self.record else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def osv_server() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []
    events: list[threading.Event] = []

    def start(**attrs: Any) -> tuple[str, list[str]]:
        hits: list[str] = []
        if attrs.get("hang"):
            attrs["hang"] = threading.Event()
            events.append(attrs["hang"])
        handler = type("H", (_Osv,), {"hits": hits, **attrs})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/v1/query", hits

    yield start
    for e in events:
        e.set()
    for s in servers:
        s.shutdown()
        s.server_close()


GHSA = {"id": "GHSA-x84v-xcm2-53pg", "database_specific": {"severity": "HIGH"},
        "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"}}]}


def test_lookups_stop_when_the_budget_is_spent(osv_server: Any) -> None:
    url, hits = osv_server(record=GHSA)
    ticks = iter([0.0, 0.0] + [25.0] * 10)  # the first look-up starts the budget, then 25 s pass
    fetcher = _Fetcher(url, None, budget_s=20.0, clock=lambda: next(ticks))
    assert fetcher.severity(["GHSA-x84v-xcm2-53pg"], "requests")[1] == \
        "GHSA-x84v-xcm2-53pg database_specific.severity"
    assert fetcher.severity(["PYSEC-2", "PYSEC-3"], "requests")[0].value == "unknown"
    assert hits == ["/v1/vulns/GHSA-x84v-xcm2-53pg"]
    assert fetcher.not_asked == 2
    assert any("budget was spent" in w for w in fetcher.warnings())


def test_a_lookup_that_hangs_is_cut_short(osv_server: Any) -> None:
    url, hits = osv_server(hang=True)
    fetcher = _Fetcher(url, None, timeout_s=0.2)
    assert fetcher.severity(["PYSEC-1"], "x")[0].value == "unknown"
    assert hits == ["/v1/vulns/PYSEC-1"] and fetcher.failed == 1
    assert any("1 failed" in w for w in fetcher.warnings())


def test_a_redirect_is_not_followed(osv_server: Any) -> None:
    elsewhere, elsewhere_hits = osv_server(record=GHSA)
    url, hits = osv_server(redirect_to=elsewhere.rsplit("/v1/", 1)[0])
    fetcher = _Fetcher(url, None)
    assert fetcher.severity(["GHSA-x84v-xcm2-53pg"], "requests")[0].value == "unknown"
    assert hits == ["/v1/vulns/GHSA-x84v-xcm2-53pg"] and elsewhere_hits == []


def test_ids_that_are_not_ids_are_not_looked_up(osv_server: Any) -> None:
    url, hits = osv_server(record=GHSA)
    fetcher = _Fetcher(url, None)
    fetcher.severity(["../../admin", "a?b=c", "x/y"], "requests")
    assert hits == []


def test_only_the_osv_url_pip_audit_was_given() -> None:
    assert _vulns_base("https://osv.example/api/v1/query") == "https://osv.example/api/v1/vulns/"
    for url in ("file:///etc/v1/query", "ftp://h/v1/query", "http:///v1/query",
                "https://osv.example/query", None):
        assert _vulns_base(url) is None


# -- the real pip-audit on real project shapes ----------------------------------------------

def project(tmp_path: Path, name: str) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(LOCKS / name, root)
    return root


def scan(tmp_path: Path, root: Path, options: str = "{}", *, advisories: bool = True,
         env: dict[str, str] | None = None) -> tuple[Any, dict[str, Any] | None]:
    """A scan with pip-audit only, under a trusted policy (a file outside the tree)."""
    policy = tmp_path / "policy.yml"
    policy.write_text(f"version: 1\nscanners:\n  pip-audit: {options}\n"
                      "gates:\n  dependency: {max: {critical: 99}}\n")
    out = tmp_path / "out"
    args = ["scan", str(root), "--policy", str(policy), "-o", str(out)]
    proc = run_cli(*args, *(["--advisories", str(ADVISORIES)] if advisories else []), env=env)
    doc = json.loads((out / "findings.json").read_text()) if (out / "findings.json").exists() \
        else None
    return proc, doc


def line_of(path: Path, text: str) -> int:
    """The line that is `text` (stripped): a lock's own `version = ...`, never a dependency's."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1)
                if line.strip() == text)


def located(doc: dict[str, Any]) -> set[tuple[str, str, str, int]]:
    return {(f["package"]["name"], f["package"]["version"], f["location"]["path"],
             f["location"]["start_line"]) for f in doc["findings"]}


def pip_audit_run(doc: dict[str, Any]) -> dict[str, Any]:
    run: dict[str, Any] = next(s for s in doc["scanners"] if s["name"] == "pip-audit")
    return run


@pytest.mark.slow
def test_nested_requirements_are_followed(tmp_path: Path) -> None:
    root = project(tmp_path, "nested")
    proc, doc = scan(tmp_path, root)
    assert proc.returncode == 0, proc.stderr
    assert doc is not None
    assert located(doc) >= {("pyyaml", "5.1", "requirements/base.txt", 2),
                            ("requests", "2.19.1", "requirements/constraints.txt", 1),
                            ("urllib3", "1.23", "requirements/constraints.txt", 2)}
    assert pip_audit_run(doc)["properties"]["inputs"] == {
        "requirements.txt": 0, "requirements/prod.txt": 0, "requirements/base.txt": 2,
        "requirements/constraints.txt": 2}


@pytest.mark.slow
@pytest.mark.parametrize("name, lock, count, options", [
    ("poetry", "poetry.lock", 4, "{allow_unaudited: [mylib]}"),  # + a git dependency
    ("uv", "uv.lock", 3, "{}"),  # ranged pyproject.toml + uv.lock
    ("pipenv", "Pipfile.lock", 4, "{}"),
    ("pdm", "pdm.lock", 3, "{}"),
    ("pylock", "pylock.toml", 2, "{allow_unaudited: [mylib]}"),
])
def test_lock_files_are_audited_at_their_pins(tmp_path: Path, name: str, lock: str, count: int,
                                              options: str) -> None:
    root = project(tmp_path, name)
    proc, doc = scan(tmp_path, root, options)
    assert proc.returncode == 0, proc.stderr
    assert doc is not None
    path = root / lock
    line = line_of(path, '"pyyaml": {') if lock == "Pipfile.lock" else \
        line_of(path, 'version = "5.1"')
    assert ("pyyaml", "5.1", lock, line) in located(doc)
    assert {f["location"]["path"] for f in doc["findings"]} == {lock}
    run = pip_audit_run(doc)
    assert run["properties"]["inputs"] == {lock: count}
    if "mylib" in options:
        assert any("accepted by allow_unaudited: mylib" in w for w in run["warnings"])


@pytest.mark.slow
def test_a_git_dependency_in_a_lock_fails_unless_accepted(tmp_path: Path) -> None:
    proc, _ = scan(tmp_path, project(tmp_path, "poetry"))
    assert proc.returncode == 2
    assert "pip-audit: 1 package(s) could not be audited: mylib (git source in poetry.lock, " \
           "poetry.lock:16)" in proc.stderr


@pytest.mark.slow
def test_a_lock_forked_on_markers_audits_both_versions(tmp_path: Path) -> None:
    root = project(tmp_path, "uv-fork")
    proc, doc = scan(tmp_path, root)
    assert proc.returncode == 0, proc.stderr
    assert doc is not None
    lock = root / "uv.lock"
    assert {(n, v, ln) for n, v, _, ln in located(doc)} == {
        ("pyyaml", "5.1", line_of(lock, 'version = "5.1"')),
        ("pyyaml", "5.3", line_of(lock, 'version = "5.3"'))}


@pytest.mark.slow
def test_an_include_escaping_the_root_is_exit_2_naming_it(tmp_path: Path) -> None:
    root = project(tmp_path, "nested")
    (tmp_path / "outside.txt").write_text("pyyaml==5.1\n")
    (root / "requirements" / "prod.txt").write_text("-r ../../outside.txt\n")
    proc, _ = scan(tmp_path, root)
    assert proc.returncode == 2
    assert "pip-audit: requirements/prod.txt:1: include '../../outside.txt' leaves the " \
           "scanned tree; not read" in proc.stderr


@pytest.mark.slow
def test_an_osv_server_that_refuses_is_exit_2(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connections to it are refused
    root = project(tmp_path, "uv")
    proc, _ = scan(tmp_path, root, f"{{osv_url: 'http://127.0.0.1:{port}/v1/query'}}",
                   advisories=False)
    assert proc.returncode == 2
    assert "pip-audit: produced no output; exit code 1: requests.exceptions.ConnectionError" \
        in proc.stderr


class PypiStub:
    """pypi.org for pip-audit's default (PyPI) service, on 127.0.0.1: an HTTPS proxy that
    accepts CONNECT pypi.org:443 only, terminates TLS with a throwaway certificate for pypi.org
    and answers the JSON API: 404 (what PyPI says of a package it does not have, and what a
    blocking proxy says) unless the package is in `known`."""

    def __init__(self, tmp: Path, known: set[str]) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pypi.org")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.DNSName("pypi.org"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                    critical=False)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        self.cert = tmp / "pypi-stub.pem"
        self.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path = tmp / "pypi-stub.key"
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(self.cert, key_path)
        self.known = known
        self.tunnels: list[str] = []
        self.paths: list[str] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def env(self) -> dict[str, str]:
        proxy = f"http://127.0.0.1:{self.port}"
        env = cli_env(HTTPS_PROXY=proxy, https_proxy=proxy, REQUESTS_CA_BUNDLE=str(self.cert))
        for var in ("NO_PROXY", "no_proxy", "CURL_CA_BUNDLE"):
            env.pop(var, None)
        return env

    def close(self) -> None:
        self.sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(conn,), daemon=True).start()

    @staticmethod
    def _head(conn: Any) -> str:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return ""
            data += chunk
        return data.split(b"\r\n", 1)[0].decode()

    def _tunnel(self, conn: socket.socket) -> None:
        with conn:
            target = self._head(conn).split(" ")
            self.tunnels.append(target[1] if len(target) > 1 else "")
            if target[:2] != ["CONNECT", "pypi.org:443"]:
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            try:
                with self.tls.wrap_socket(conn, server_side=True) as tls:
                    while request := self._head(tls):
                        path = request.split(" ")[1]
                        self.paths.append(path)
                        parts = path.strip("/").split("/")  # pypi/<name>/<version>/json
                        if len(parts) == 4 and parts[1] in self.known:
                            status, body = "200 OK", b'{"info": {}, "vulnerabilities": []}'
                        else:
                            status, body = "404 Not Found", b'{"message": "Not Found"}'
                        tls.sendall(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                                    f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            except (OSError, ssl.SSLError):
                return


@pytest.fixture
def pypi(tmp_path: Path) -> Iterator[Any]:
    stubs: list[PypiStub] = []

    def start(known: set[str]) -> PypiStub:
        stubs.append(PypiStub(tmp_path, known))
        return stubs[-1]

    yield start
    for s in stubs:
        s.close()


@pytest.mark.slow
def test_no_advisories_and_no_network_is_exit_2(tmp_path: Path, pypi: Any) -> None:
    stub = pypi(set())
    root = project(tmp_path, "uv")
    proc, _ = scan(tmp_path, root, advisories=False, env=stub.env())
    assert set(stub.tunnels) == {"pypi.org:443"}  # hermetic: pip-audit went nowhere else
    assert sorted(stub.paths) == ["/pypi/certifi/2024.8.30/json", "/pypi/pyyaml/5.1/json",
                                  "/pypi/requests/2.19.1/json"]
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("posture-gate: error")]
    assert len(errors) == 1, proc.stderr  # progress lines aside, one line says why
    assert "pip-audit: 3 package(s) could not be audited: certifi 2024.8.30 (Dependency not " \
           "found on PyPI and could not be audited), pyyaml 5.1 (" in errors[0]


@pytest.mark.slow
def test_allow_unaudited_accepts_what_pypi_does_not_have(tmp_path: Path, pypi: Any) -> None:
    stub = pypi({"pyyaml", "requests"})
    root = project(tmp_path, "uv")
    proc, doc = scan(tmp_path, root, "{allow_unaudited: [certifi]}", advisories=False,
                     env=stub.env())
    assert proc.returncode == 0, proc.stderr
    assert doc is not None
    run = pip_audit_run(doc)
    assert run["status"] == "ok"
    assert run["properties"]["inputs"] == {"uv.lock": 2}
    assert run["warnings"] == ["not audited, accepted by allow_unaudited: certifi 2024.8.30 "
                               "(Dependency not found on PyPI and could not be audited)"]
    # every package accepted, none audited: still not a pass
    stub = pypi(set())
    proc, _ = scan(tmp_path, root, "{allow_unaudited: [certifi, pyyaml, requests]}",
                   advisories=False, env=stub.env())
    assert proc.returncode == 2
    assert "could not be audited" not in proc.stderr
    assert "pip-audit: audited 0 packages" in proc.stderr
