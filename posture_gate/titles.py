"""Readable finding titles: bandit's test names (`hashlib`, `blacklist`) and rule ids
(`pg-weak-hash-md5-sha1`) say little to a reader; these sentences say what was found.

Third-party semgrep rules get the first sentence of their own message; anything else keeps
the scanner's title. The result is still untrusted text (a message comes from the tree's
rule config at worst): every reporter escapes it as before.
"""

from __future__ import annotations

import re

from .textutil import one_line

BANDIT = {
    "B101": "Assert used (removed under python -O)",
    "B102": "Use of exec",
    "B103": "File permissions set too broadly",
    "B104": "Server bound to all network interfaces",
    "B105": "Hard-coded password string",
    "B106": "Hard-coded password passed as an argument",
    "B107": "Hard-coded password as a default argument",
    "B108": "Insecure use of a temporary file or directory",
    "B110": "Exception silenced (try/except/pass)",
    "B112": "Exception silenced (try/except/continue)",
    "B113": "HTTP request without a timeout",
    "B201": "Flask app run with debug=True",
    "B202": "Tar archive extracted without checking its members",
    "B301": "Deserialization with pickle",
    "B302": "Deserialization with marshal",
    "B303": "Weak hash function (MD2/MD4/MD5/SHA1)",
    "B304": "Insecure cipher",
    "B305": "Insecure cipher mode",
    "B306": "Insecure temporary file (mktemp)",
    "B307": "Use of eval",
    "B308": "Use of mark_safe (possible cross-site scripting)",
    "B310": "URL opened without checking its scheme",
    "B311": "Non-cryptographic random generator used",
    "B312": "Telnet used",
    "B313": "XML parsed with a vulnerable parser (cElementTree)",
    "B314": "XML parsed with a vulnerable parser (ElementTree)",
    "B315": "XML parsed with a vulnerable parser (expatreader)",
    "B316": "XML parsed with a vulnerable parser (expatbuilder)",
    "B317": "XML parsed with a vulnerable parser (sax)",
    "B318": "XML parsed with a vulnerable parser (minidom)",
    "B319": "XML parsed with a vulnerable parser (pulldom)",
    "B321": "FTP used",
    "B323": "SSL context without certificate verification",
    "B324": "Weak hash function",
    "B401": "Telnet module imported",
    "B402": "FTP module imported",
    "B403": "Pickle module imported",
    "B404": "subprocess module imported",
    "B405": "Vulnerable XML module imported (xml.etree)",
    "B406": "Vulnerable XML module imported (xml.sax)",
    "B407": "Vulnerable XML module imported (xml.expat)",
    "B408": "Vulnerable XML module imported (xml.dom.minidom)",
    "B409": "Vulnerable XML module imported (xml.dom.pulldom)",
    "B411": "XML-RPC module imported (vulnerable to XML attacks)",
    "B412": "CGI handler vulnerable to httpoxy imported",
    "B413": "Unmaintained pyCrypto imported",
    "B415": "IPMI module imported",
    "B501": "HTTPS request without certificate verification",
    "B502": "SSL/TLS with an insecure protocol version",
    "B503": "SSL/TLS with insecure default protocol version",
    "B504": "SSL/TLS without a protocol version",
    "B505": "Weak cryptographic key",
    "B506": "Unsafe YAML load",
    "B507": "SSH host key not verified",
    "B508": "Insecure SNMP version",
    "B509": "SNMP without encryption",
    "B601": "Shell command through paramiko",
    "B602": "Subprocess with shell=True",
    "B603": "Subprocess call: check for untrusted input",
    "B604": "Function call with shell=True",
    "B605": "Process started with a shell",
    "B606": "Process started without a shell",
    "B607": "Process started with a partial executable path",
    "B608": "SQL built from strings (possible SQL injection)",
    "B609": "Wildcard in a shell command (injection)",
    "B610": "Django QuerySet.extra (possible SQL injection)",
    "B611": "Django RawSQL (possible SQL injection)",
    "B612": "logging.config.listen accepts code from the network",
    "B613": "Bidirectional control characters in source (trojan source)",
    "B614": "Unsafe torch.load",
    "B615": "Hugging Face download without a pinned revision",
    "B701": "Jinja2 autoescape disabled",
    "B702": "Mako templates (no autoescape)",
    "B703": "Django mark_safe (possible cross-site scripting)",
    "B704": "markupsafe.Markup on dynamic text (possible cross-site scripting)",
}

# The bundled rule pack (policies/semgrep/python.yml); a test checks that every rule has one.
SEMGREP = {
    "pg-subprocess-shell-true": "Subprocess with shell=True on a dynamic command",
    "pg-subprocess-sh-c-dynamic": "Dynamic command run through sh -c",
    "pg-os-system-dynamic": "os.system on a dynamic command",
    "pg-os-popen-dynamic": "os.popen on a dynamic command",
    "pg-eval-dynamic": "eval on dynamic input",
    "pg-exec-dynamic": "exec on dynamic input",
    "pg-yaml-unsafe-load": "Unsafe YAML load",
    "pg-pickle-deserialization": "Deserialization with pickle",
    "pg-marshal-deserialization": "Deserialization with marshal",
    "pg-shelve-open": "shelve.open (pickle underneath)",
    "pg-weak-hash-md5-sha1": "Weak hash function (MD5/SHA1)",
    "pg-sql-string-formatting": "SQL built from strings (possible SQL injection)",
    "pg-sqlalchemy-text-formatting": "SQLAlchemy text() built from strings (SQL injection)",
    "pg-flask-debug-true": "Flask app run with debug=True",
    "pg-django-debug-true": "Django DEBUG = True",
    "pg-requests-verify-false": "HTTPS request without certificate verification",
    "pg-ssl-unverified-context": "SSL context without certificate verification",
    "pg-ssl-cert-none": "SSL with certificate checks off (CERT_NONE)",
    "pg-paramiko-auto-add-policy": "SSH host key accepted unverified (AutoAddPolicy)",
    "pg-bind-all-interfaces": "Server bound to all network interfaces",
    "pg-tempfile-mktemp": "Insecure temporary file (mktemp)",
    "pg-tarfile-extract-no-filter": "Tar archive extracted without a filter",
    "pg-flask-path-traversal": "File path from the request (path traversal)",
    "pg-insecure-random-secret": "Secret made with a non-cryptographic random generator",
    "pg-jinja2-autoescape-off": "Jinja2 autoescape disabled",
    "pg-markup-dynamic": "Markup on dynamic text (possible cross-site scripting)",
    "pg-xml-stdlib-parse": "XML parsed with a vulnerable standard-library parser",
    "pg-lxml-insecure-parser": "lxml parser resolving entities (XXE)",
    "pg-assert-for-authz": "assert used for an authorization check",
    "pg-hardcoded-password": "Hard-coded password",
    "pg-jwt-verify-disabled": "JWT decoded without verifying its signature",
    "pg-jwt-none-algorithm": "JWT 'none' algorithm accepted",
}

TITLE_LIMIT = 100
_SENTENCE = re.compile(r"^(.+?[.!?])(?:\s|$)")


def bandit_title(test_id: str, test_name: str) -> str:
    return BANDIT.get(test_id) or test_name.replace("_", " ").strip().capitalize() or test_id


def semgrep_title(rule: str, message: str) -> str:
    """A bundled rule's sentence; another rule's first sentence of its message."""
    short = rule.rsplit(".", 1)[-1]  # semgrep prefixes a local rule's id with its path
    known = SEMGREP.get(short)
    if known:
        return known
    text = " ".join(message.split())
    m = _SENTENCE.match(text)
    first = (m.group(1) if m else text).rstrip(".")
    return one_line(first, TITLE_LIMIT) if first else rule
