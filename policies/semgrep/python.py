# Test cases for python.yml (semgrep --test). Not meant to be imported or run.
# A "ruleid" annotation (rule id after a colon) marks the next line as an expected
# finding; an "ok" annotation marks a near miss that must NOT be reported.
# ruff: noqa
# fmt: off
import asyncio
import enum
import hashlib
import http.server
import io
import marshal
import os
import pickle
import random
import secrets
import shelve
import socket
import socketserver
import ssl
import subprocess
import tarfile
import tempfile
import xml.dom.minidom
import xml.etree.ElementTree as ET
import xml.sax
from pathlib import Path

import defusedxml.ElementTree
import dill
import jinja2
import jsonpickle
import jwt
import markupsafe
import pandas as pd
import paramiko
import requests
import sqlalchemy
import yaml
from yaml import SafeLoader
from ruamel.yaml import YAML
from django.conf import settings
from django.utils.safestring import mark_safe
from flask import Flask, Markup, request, send_file, send_from_directory
from jinja2 import Environment, FileSystemLoader, select_autoescape
from lxml import etree
from sqlalchemy import text
from werkzeug.utils import secure_filename

app = Flask(__name__)


# ---------------------------------------------------------------- pg-subprocess-shell-true
def run_user_command(filename, args):
    # ruleid: pg-subprocess-shell-true
    subprocess.run(f"ls -l {filename}", shell=True)
    # ruleid: pg-subprocess-shell-true
    subprocess.Popen("grep " + args, shell=True, stdout=subprocess.PIPE)
    # ruleid: pg-subprocess-shell-true
    subprocess.check_output(args=filename, shell=True)
    # ok: pg-subprocess-shell-true
    subprocess.run("ls -l /tmp", shell=True)
    # ok: pg-subprocess-shell-true
    subprocess.run(["ls", "-l", filename], shell=False)
    # ok: pg-subprocess-shell-true
    subprocess.run(["ls", "-l", filename])


# ---------------------------------------------------------------- pg-subprocess-sh-c-dynamic
def run_via_shell(host):
    # ruleid: pg-subprocess-sh-c-dynamic
    subprocess.run(["bash", "-c", f"ping -c 1 {host}"])
    # ruleid: pg-subprocess-sh-c-dynamic
    subprocess.check_call(["/bin/sh", "-c", "nslookup " + host])
    # ok: pg-subprocess-sh-c-dynamic
    subprocess.run(["bash", "-c", "echo hello"])
    # ok: pg-subprocess-sh-c-dynamic
    subprocess.run(["ping", "-c", "1", host])
    # ruleid: pg-subprocess-sh-c-dynamic
    os.execv("/bin/sh", ["sh", "-c", "ping " + host])


# ---------------------------------------------------------------- pg-os-system-dynamic
def os_system(user_dir):
    # ruleid: pg-os-system-dynamic
    os.system("rm -rf " + user_dir)
    # ruleid: pg-os-system-dynamic
    os.system(f"tar czf backup.tgz {user_dir}")
    # ruleid: pg-os-system-dynamic
    subprocess.getoutput("du -sh %s" % user_dir)
    # ok: pg-os-system-dynamic
    os.system("clear")
    # ok: pg-os-system-dynamic
    subprocess.getoutput("uptime")


# ---------------------------------------------------------------- pg-os-popen-dynamic
def os_popen(pattern):
    # ruleid: pg-os-popen-dynamic
    out = os.popen("grep -r %s ." % pattern).read()
    # ruleid: pg-os-popen-dynamic
    pipe = os.popen(pattern, "r")
    # ok: pg-os-popen-dynamic
    date = os.popen("date").read()
    return out, pipe, date


# ---------------------------------------------------------------- pg-eval-dynamic
def do_eval(expr):
    # ruleid: pg-eval-dynamic
    value = eval(expr)
    # ruleid: pg-eval-dynamic
    total = eval("1 + " + request.args["n"])
    # ok: pg-eval-dynamic
    four = eval("2 + 2")
    # ok: pg-eval-dynamic
    frame = pd.DataFrame().eval(expr)
    return value, total, four, frame


# ---------------------------------------------------------------- pg-exec-dynamic
def do_exec(source, name):
    # ruleid: pg-exec-dynamic
    exec(source)
    # ruleid: pg-exec-dynamic
    exec(f"result = {name}()", {})
    # ruleid: pg-exec-dynamic
    code = compile(source, "<user>", "exec")
    # ok: pg-exec-dynamic
    exec("import this")
    # ok: pg-exec-dynamic
    tree = compile(source, "<user>", "eval", flags=0x400)
    return code, tree


# ---------------------------------------------------------------- pg-yaml-unsafe-load
def load_yaml(stream):
    # ruleid: pg-yaml-unsafe-load
    a = yaml.load(stream)
    # ruleid: pg-yaml-unsafe-load
    b = yaml.load(stream, Loader=yaml.Loader)
    # ruleid: pg-yaml-unsafe-load
    c = yaml.unsafe_load(stream)
    # ruleid: pg-yaml-unsafe-load
    d = yaml.load_all(stream, Loader=yaml.FullLoader)
    # ok: pg-yaml-unsafe-load
    e = yaml.load(stream, Loader=yaml.SafeLoader)
    # ok: pg-yaml-unsafe-load
    f = yaml.load(stream, yaml.CSafeLoader)
    # ok: pg-yaml-unsafe-load
    g = yaml.safe_load(stream)
    # ok: pg-yaml-unsafe-load
    h = yaml.load(stream, Loader=SafeLoader)
    return a, b, c, d, e, f, g, h


def load_ruamel(stream):
    yaml = YAML(typ="safe")
    # ok: pg-yaml-unsafe-load
    return yaml.load(stream)


# ---------------------------------------------------------------- pg-pickle-deserialization
def load_pickles(blob, fh, path):
    # ruleid: pg-pickle-deserialization
    obj = pickle.loads(blob)
    # ruleid: pg-pickle-deserialization
    obj2 = pickle.load(fh)
    # ruleid: pg-pickle-deserialization
    obj3 = dill.loads(blob)
    # ruleid: pg-pickle-deserialization
    obj4 = jsonpickle.decode(blob)
    # ruleid: pg-pickle-deserialization
    frame = pd.read_pickle(path)
    # ok: pg-pickle-deserialization
    data = pickle.dumps(obj)
    return obj2, obj3, obj4, frame, data


# ---------------------------------------------------------------- pg-marshal-deserialization
def load_marshal(blob):
    # ruleid: pg-marshal-deserialization
    code = marshal.loads(blob)
    # ok: pg-marshal-deserialization
    raw = marshal.dumps(code)
    return raw


# ---------------------------------------------------------------- pg-shelve-open
def open_shelf(path):
    # ruleid: pg-shelve-open
    with shelve.open(path) as db:
        return dict(db)


def open_json(path):
    # ok: pg-shelve-open
    with io.open(path) as fh:
        return fh.read()


# ---------------------------------------------------------------- pg-weak-hash-md5-sha1
def hashes(password, data):
    # ruleid: pg-weak-hash-md5-sha1
    h1 = hashlib.md5(password.encode()).hexdigest()
    # ruleid: pg-weak-hash-md5-sha1
    h2 = hashlib.sha1(password.encode())
    # ruleid: pg-weak-hash-md5-sha1
    h3 = hashlib.new("MD5", data)
    # ruleid: pg-weak-hash-md5-sha1
    h4 = hashlib.new(name="sha1")
    # ok: pg-weak-hash-md5-sha1
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
    # ok: pg-weak-hash-md5-sha1
    h5 = hashlib.new("sha256", data)
    # ok: pg-weak-hash-md5-sha1
    h6 = hashlib.sha256(data)
    return h1, h2, h3, h4, etag, h5, h6


# ---------------------------------------------------------------- pg-sql-string-formatting
def sql_queries(conn, cursor, user_id, name, table):
    # ruleid: pg-sql-string-formatting
    cursor.execute(f"SELECT * FROM users WHERE id = {user_id}")
    # ruleid: pg-sql-string-formatting
    cursor.execute("SELECT * FROM users WHERE name = '%s'" % name)
    # ruleid: pg-sql-string-formatting
    cursor.execute("DELETE FROM {} WHERE id = 1".format(table))
    # ruleid: pg-sql-string-formatting
    conn.execute("SELECT * FROM users WHERE name = '" + name + "'")
    query = "UPDATE users SET name = '%s' WHERE id = %d" % (name, user_id)
    # ruleid: pg-sql-string-formatting
    cursor.execute(query)
    # ok: pg-sql-string-formatting
    cursor.execute("SELECT * FROM users WHERE id = %s", (user_id,))
    # ok: pg-sql-string-formatting
    cursor.execute("SELECT * FROM users WHERE name = :name", {"name": name})
    # ok: pg-sql-string-formatting
    cursor.execute("SELECT * FROM users " + "ORDER BY id")
    safe = "SELECT count(*) FROM users"
    # ok: pg-sql-string-formatting
    cursor.execute(safe)
    filtered = "SELECT * FROM users"
    filtered += " WHERE name = %s"
    # ok: pg-sql-string-formatting
    cursor.execute(filtered, (name,))
    search = "SELECT * FROM users WHERE 1 = 1"
    search += f" AND name LIKE '%{name}%'"
    # ruleid: pg-sql-string-formatting
    cursor.execute(search)


# ---------------------------------------------------------------- pg-sqlalchemy-text-formatting
def sa_queries(session, name, user_id):
    # ruleid: pg-sqlalchemy-text-formatting
    session.execute(text(f"SELECT * FROM users WHERE name = '{name}'"))
    # ruleid: pg-sqlalchemy-text-formatting
    stmt = sqlalchemy.text("SELECT * FROM users WHERE id = %s" % user_id)
    # ok: pg-sqlalchemy-text-formatting
    stmt2 = text("SELECT * FROM users WHERE name = :name").bindparams(name=name)
    return stmt, stmt2


# ---------------------------------------------------------------- pg-flask-debug-true
def start_dev_server():
    # ruleid: pg-flask-debug-true
    app.run(debug=True)
    # ok: pg-flask-debug-true
    app.run(debug=False)
    # ok: pg-flask-debug-true
    asyncio.run(main(), debug=True)
    # ok: pg-flask-debug-true
    app.run(debug=os.environ.get("FLASK_DEBUG") == "1")


# ---------------------------------------------------------------- pg-requests-verify-false
def http_calls(url, payload):
    # ruleid: pg-requests-verify-false
    r1 = requests.get(url, verify=False)
    # ruleid: pg-requests-verify-false
    r2 = requests.post(url, json=payload, verify=False, timeout=5)
    session = requests.Session()
    # ruleid: pg-requests-verify-false
    session.verify = False
    # ok: pg-requests-verify-false
    r3 = requests.get(url, verify=True, timeout=5)
    # ok: pg-requests-verify-false
    r4 = requests.get(url, verify="/etc/ssl/certs/ca.pem", timeout=5)
    return r1, r2, r3, r4


# ---------------------------------------------------------------- pg-ssl-unverified-context
def tls_contexts():
    # ruleid: pg-ssl-unverified-context
    ctx = ssl._create_unverified_context()
    # ruleid: pg-ssl-unverified-context
    ssl._create_default_https_context = ssl._create_unverified_context
    # ok: pg-ssl-unverified-context
    good = ssl.create_default_context()
    return ctx, good


# ---------------------------------------------------------------- pg-ssl-cert-none
def tls_cert_none(sock):
    ctx = ssl.create_default_context()
    # ruleid: pg-ssl-cert-none
    ctx.check_hostname = False
    # ruleid: pg-ssl-cert-none
    ctx.verify_mode = ssl.CERT_NONE
    # ok: pg-ssl-cert-none
    ctx.verify_mode = ssl.CERT_REQUIRED
    # ok: pg-ssl-cert-none
    ctx.check_hostname = True
    # ruleid: pg-ssl-cert-none
    legacy = ssl.wrap_socket(sock, cert_reqs=ssl.CERT_NONE)
    return ctx.wrap_socket(sock, server_hostname="example.com"), legacy


def tls_custom_hostname_check(sock, verify_host):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # ok: pg-ssl-cert-none
    ctx.check_hostname = False
    conn = ctx.wrap_socket(sock)
    verify_host(conn.getpeercert())
    return conn


# ---------------------------------------------------------------- pg-paramiko-auto-add-policy
def ssh_connect(host):
    client = paramiko.SSHClient()
    # ruleid: pg-paramiko-auto-add-policy
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    # ruleid: pg-paramiko-auto-add-policy
    client.set_missing_host_key_policy(paramiko.WarningPolicy)
    # ok: pg-paramiko-auto-add-policy
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.load_system_host_keys()
    client.connect(host)


# ---------------------------------------------------------------- pg-bind-all-interfaces
def serve(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # ruleid: pg-bind-all-interfaces
    sock.bind(("0.0.0.0", port))
    # ruleid: pg-bind-all-interfaces
    app.run(host="0.0.0.0", port=port)
    # ruleid: pg-bind-all-interfaces
    httpd = http.server.HTTPServer(("0.0.0.0", port), http.server.SimpleHTTPRequestHandler)
    # ok: pg-bind-all-interfaces
    sock.bind(("127.0.0.1", port))
    # ok: pg-bind-all-interfaces
    app.run(host="127.0.0.1", port=port)
    # ok: pg-bind-all-interfaces
    srv = socketserver.TCPServer(("localhost", port), socketserver.BaseRequestHandler)
    return httpd, srv


# ---------------------------------------------------------------- pg-tempfile-mktemp
def temp_files():
    # ruleid: pg-tempfile-mktemp
    name = tempfile.mktemp(suffix=".txt")
    # ok: pg-tempfile-mktemp
    fd, path = tempfile.mkstemp(suffix=".txt")
    return name, fd, path


# ---------------------------------------------------------------- pg-tarfile-extract-no-filter
def untar(archive, dest):
    # ruleid: pg-tarfile-extract-no-filter
    tarfile.open(archive).extractall(dest)
    with tarfile.open(archive) as tar:
        # ruleid: pg-tarfile-extract-no-filter
        tar.extractall(path=dest)
    tf = tarfile.open(archive, "r:gz")
    # ruleid: pg-tarfile-extract-no-filter
    tf.extract("member.txt", dest)
    with tarfile.open(archive) as safe_tar:
        # ok: pg-tarfile-extract-no-filter
        safe_tar.extractall(dest, filter="data")
    # ok: pg-tarfile-extract-no-filter
    tarfile.open(archive).extractall(dest, filter="data")
    with tarfile.open(archive) as vetted:
        # ok: pg-tarfile-extract-no-filter
        vetted.extractall(dest, members=safe_members(vetted))


# ---------------------------------------------------------------- pg-flask-path-traversal
@app.route("/download")
def download():
    filename = request.args.get("file")
    # ruleid: pg-flask-path-traversal
    return send_file(os.path.join("/srv/files", filename))


@app.route("/read")
def read_report():
    name = request.args["name"]
    # ruleid: pg-flask-path-traversal
    with open("/srv/reports/" + name) as fh:
        return fh.read()


@app.route("/upload", methods=["POST"])
def upload():
    upload = request.files["doc"]
    # ruleid: pg-flask-path-traversal
    upload.save(open(os.path.join("/srv/uploads", upload.filename), "wb"))
    report = Path("/srv/reports") / request.form["name"]
    # ruleid: pg-flask-path-traversal
    return report.read_text()


@app.route("/download-safe")
def download_safe():
    filename = secure_filename(request.args.get("file", ""))
    # ok: pg-flask-path-traversal
    return send_file(os.path.join("/srv/files", filename))


@app.route("/download-dir")
def download_dir():
    # ok: pg-flask-path-traversal
    return send_from_directory("/srv/files", request.args["file"])


@app.route("/index")
def index():
    lang = request.args.get("lang", "en")
    # ok: pg-flask-path-traversal
    body = Path("/srv/static/index.html").read_text()
    return body.replace("{lang}", lang)


def read_config():
    # ok: pg-flask-path-traversal
    with open("/etc/app/config.ini") as fh:
        return fh.read()


# ---------------------------------------------------------------- pg-insecure-random-secret
def make_token(alphabet):
    # ruleid: pg-insecure-random-secret
    reset_token = "".join(random.choice(alphabet) for _ in range(32))
    # ruleid: pg-insecure-random-secret
    otp = random.randint(100000, 999999)
    return reset_token, otp


def generate_password(alphabet):
    # ruleid: pg-insecure-random-secret
    return "".join(random.choices(alphabet, k=16))


def jitter_and_tokens(items, alphabet):
    # ok: pg-insecure-random-secret
    delay = random.uniform(0.1, 0.5)
    # ok: pg-insecure-random-secret
    sample = random.choice(items)
    # ok: pg-insecure-random-secret
    api_token = secrets.token_urlsafe(32)
    # ok: pg-insecure-random-secret
    session_id = "".join(random.SystemRandom().choice(alphabet) for _ in range(32))
    return delay, sample, api_token, session_id


# ---------------------------------------------------------------- pg-jinja2-autoescape-off
def templates(source):
    # ruleid: pg-jinja2-autoescape-off
    env1 = jinja2.Environment(loader=FileSystemLoader("templates"), autoescape=False)
    # ruleid: pg-jinja2-autoescape-off
    env2 = Environment(loader=FileSystemLoader("templates"))
    # ruleid: pg-jinja2-autoescape-off
    tpl = jinja2.Template(source)
    # ok: pg-jinja2-autoescape-off
    env3 = Environment(loader=FileSystemLoader("templates"), autoescape=select_autoescape())
    # ok: pg-jinja2-autoescape-off
    env4 = jinja2.Environment(autoescape=True)
    return env1, env2, tpl, env3, env4


# ---------------------------------------------------------------- pg-markup-dynamic
def markup(comment, user):
    # ruleid: pg-markup-dynamic
    html = Markup(f"<p>{comment}</p>")
    # ruleid: pg-markup-dynamic
    html2 = markupsafe.Markup("<b>" + user + "</b>")
    # ruleid: pg-markup-dynamic
    html3 = mark_safe(request.args["bio"])
    # ok: pg-markup-dynamic
    html4 = markupsafe.Markup("<p>{}</p>").format(comment)
    # ok: pg-markup-dynamic
    html5 = Markup("<hr>")
    # ok: pg-markup-dynamic
    html6 = markupsafe.Markup(markupsafe.escape(comment))
    return html, html2, html3, html4, html5, html6


# ---------------------------------------------------------------- pg-xml-stdlib-parse
def parse_xml(payload, path):
    # ruleid: pg-xml-stdlib-parse
    root = ET.fromstring(payload)
    # ruleid: pg-xml-stdlib-parse
    dom = xml.dom.minidom.parseString(payload)
    # ruleid: pg-xml-stdlib-parse
    parser = xml.sax.make_parser()
    # ok: pg-xml-stdlib-parse
    safe_root = defusedxml.ElementTree.fromstring(payload)
    # ok: pg-xml-stdlib-parse
    out = ET.tostring(ET.Element("a"))
    return root, dom, parser, safe_root, out


# ---------------------------------------------------------------- pg-lxml-insecure-parser
def parse_lxml(payload):
    # ruleid: pg-lxml-insecure-parser
    bad = etree.XMLParser(resolve_entities=True)
    # ruleid: pg-lxml-insecure-parser
    bad2 = etree.XMLParser(load_dtd=True, no_network=False)
    # ok: pg-lxml-insecure-parser
    good = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(payload, parser=good), bad, bad2


# ---------------------------------------------------------------- pg-assert-for-authz
def delete_post(user, post):
    # ruleid: pg-assert-for-authz
    assert user.is_authenticated
    # ruleid: pg-assert-for-authz
    assert user.has_perm("blog.delete_post"), "forbidden"
    # ruleid: pg-assert-for-authz
    assert post.owner == user or user.is_admin
    # ok: pg-assert-for-authz
    assert isinstance(post.id, int)
    # ok: pg-assert-for-authz
    if not user.is_staff:
        raise PermissionError("forbidden")
    post.delete()


# ---------------------------------------------------------------- pg-hardcoded-password
# ruleid: pg-hardcoded-password
DB_PASSWORD = "s3cr3t-Pa55!"
# ruleid: pg-hardcoded-password
SECRET_KEY = "django-insecure-7h1s-1s-n0t-s3cr3t"
# ok: pg-hardcoded-password
PASSWORD_ENV_VAR = "DB_PASSWORD"
# ok: pg-hardcoded-password
OTEL_EXPORTER_PASSWORD = "OTEL_EXPORTER_PASSWORD"
# ok: pg-hardcoded-password
MASKED_PASSWORD = "****"
# ok: pg-hardcoded-password
API_KEY = os.environ.get("API_KEY", "")
# ok: pg-hardcoded-password
EMPTY_PASSWORD = ""


# ruleid: pg-hardcoded-password
def connect_db(host, user, password="hunter2hunter2"):
    return host, user, password


def connect_db_with_kwarg(create_engine):
    # ruleid: pg-hardcoded-password
    return create_engine(user="app", password="Tr0ub4dor&3")


def connect_db_from_env(create_engine):
    # ok: pg-hardcoded-password
    return create_engine(user="app", password=os.environ["DB_PASSWORD"])


# ruleid: pg-hardcoded-password
DATABASES = {"default": {"USER": "app", "PASSWORD": "pr0d-db-pa55"}}
# ok: pg-hardcoded-password
CACHES = {"default": {"PASSWORD": "", "LOCATION": "redis://cache:6379"}}


class Category(enum.Enum):
    # ok: pg-hardcoded-password
    SECRET = "secret"
    # ok: pg-hardcoded-password
    API_KEY = "api-key-finding"


class FormFields:
    # ok: pg-hardcoded-password
    password = "password"


def placeholder_settings():
    # ok: pg-hardcoded-password
    password = "${DB_PASSWORD}"
    # ok: pg-hardcoded-password
    client_secret = "<client-secret>"
    return password, client_secret


# ---------------------------------------------------------------- pg-jwt-verify-disabled
def read_token(token, key):
    # ruleid: pg-jwt-verify-disabled
    claims = jwt.decode(token, options={"verify_signature": False})
    # ruleid: pg-jwt-verify-disabled
    legacy = jwt.decode(token, key, verify=False)
    # ok: pg-jwt-verify-disabled
    good = jwt.decode(token, key, algorithms=["RS256"])
    # ok: pg-jwt-verify-disabled
    no_exp = jwt.decode(token, key, algorithms=["HS256"], options={"verify_exp": False})
    return claims, legacy, good, no_exp


# ---------------------------------------------------------------- pg-jwt-none-algorithm
def none_alg(token, key, payload):
    # ruleid: pg-jwt-none-algorithm
    claims = jwt.decode(token, key, algorithms=["HS256", "none"])
    # ruleid: pg-jwt-none-algorithm
    unsigned = jwt.encode(payload, None, algorithm="none")
    # ok: pg-jwt-none-algorithm
    signed = jwt.encode(payload, key, algorithm="HS256")
    return claims, unsigned, signed


# ---------------------------------------------------------------- pg-django-debug-true
# ruleid: pg-django-debug-true
DEBUG = True

INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth"]
ROOT_URLCONF = "project.urls"

# ok: pg-django-debug-true
TEMPLATE_DEBUG = True


def configure_standalone():
    # ruleid: pg-django-debug-true
    settings.configure(DEBUG=True, INSTALLED_APPS=[])
    # ok: pg-django-debug-true
    settings.configure(DEBUG=False, INSTALLED_APPS=[])


class DevFlags:
    # ok: pg-django-debug-true
    DEBUG = True
