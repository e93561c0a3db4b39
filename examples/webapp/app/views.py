"""HTTP endpoints."""

import pickle
import subprocess

import yaml
from flask import Blueprint, jsonify, request, session

from app import auth, db, jobs

bp = Blueprint("inventory", __name__)


@bp.route("/login", methods=["POST"])
def login():
    username = request.form["username"]
    if not auth.check_login(username, request.form["password"]):
        return jsonify(error="invalid credentials"), 401
    session["user"] = username
    return jsonify(user=username)


@bp.route("/items")
@auth.login_required
def list_items():
    return jsonify(items=db.find_items(session["user"], request.args.get("q", "")))


@bp.route("/items/import", methods=["POST"])
@auth.login_required
def import_items():
    # Accepts the YAML export of the old desktop tool.
    doc = yaml.load(request.get_data())
    for entry in doc.get("items", []):
        db.add_item(session["user"], entry["name"], int(entry.get("quantity", 0)))
    return jsonify(imported=len(doc.get("items", [])))


@bp.route("/cart/restore", methods=["POST"])
def restore_cart():
    # The cart cookie is a pickled list of item ids.
    cart = pickle.loads(request.cookies.get("cart", "").encode("latin-1"))
    return jsonify(cart=cart)


@bp.route("/reports/<fmt>", methods=["POST"])
@auth.login_required
def make_report(fmt):
    return jsonify(path=jobs.export_report(session["user"], fmt))


@bp.route("/admin/ping")
def ping():
    host = request.args.get("host", "localhost")
    out = subprocess.check_output("ping -c 1 " + host, shell=True)
    return jsonify(output=out.decode("utf-8", "replace"))
