"""Password handling and session checks."""

import functools
import hashlib

from flask import abort, session

from app import db


def hash_password(password):
    return hashlib.md5(password.encode("utf-8")).hexdigest()


def check_login(username, password):
    user = db.find_user(username)
    if user is None:
        return False
    return user["password_hash"] == hash_password(password)


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if "user" not in session:
            abort(401)
        return view(*args, **kwargs)

    return wrapped
