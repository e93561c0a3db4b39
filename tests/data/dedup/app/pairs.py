"""One weakness per block, each flagged by bandit and by a textbook-CWE semgrep rule."""
import hashlib
import sqlite3

import yaml
from flask import Flask

app = Flask(__name__)


def digest(data):
    return hashlib.md5(data).hexdigest()


def settings(text):
    return yaml.load(text)


def calc(expr):
    return eval(expr)


def lookup(name):
    conn = sqlite3.connect("app.db")
    cur = conn.cursor()
    query = "SELECT * FROM users WHERE name = '%s'" % name
    cur.execute("SELECT 1")
    cur.execute(query)
    return cur.fetchall()


def two_on_one_line(path):
    return yaml.load(eval(path))


if __name__ == "__main__":
    app.run(
        host="127.0.0.1",
        port=5000,
        debug=True,
    )
