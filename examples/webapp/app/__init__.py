"""Inventory service: a tiny Flask app used as a posture-gate example.

Every weakness in this package is deliberate; see examples/README.md.
"""

from flask import Flask

from app import settings


def create_app():
    app = Flask(__name__)
    app.config.from_object(settings)

    from app import db
    from app.views import bp

    db.init_app(app)
    app.register_blueprint(bp)
    return app
