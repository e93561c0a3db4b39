"""SQLite persistence for items and users."""

import sqlite3

from flask import current_app, g

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT UNIQUE NOT NULL,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 0
);
"""


def get_db():
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE_PATH"])
        g.db.row_factory = sqlite3.Row
    return g.db


def close_db(exc=None):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def init_app(app):
    app.teardown_appcontext(close_db)
    with app.app_context():
        get_db().executescript(SCHEMA)


def find_items(owner, name_filter):
    cur = get_db().cursor()
    query = "SELECT id, name, quantity FROM items WHERE owner = '%s' AND name LIKE '%%%s%%'" % (
        owner,
        name_filter,
    )
    cur.execute(query)
    return [dict(row) for row in cur.fetchall()]


def find_user(username):
    cur = get_db().cursor()
    cur.execute("SELECT id, username, password_hash FROM users WHERE username = '" + username + "'")
    return cur.fetchone()


def add_item(owner, name, quantity):
    conn = get_db()
    conn.execute(
        "INSERT INTO items (name, owner, quantity) VALUES (?, ?, ?)", (name, owner, quantity)
    )
    conn.commit()
