"""Development entry point: ``python run.py`` (production uses gunicorn, see Dockerfile)."""

from flask import Flask

from app import create_app, settings

app: Flask = create_app()

if __name__ == "__main__":
    app.run(host="0.0.0.0", port=settings.PORT, debug=True)
