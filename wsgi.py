"""Entry point: ``gunicorn wsgi:app`` serves the web app, ``huey_consumer wsgi.huey`` runs tasks."""

from core.app import create_app

app = create_app()
huey = app.extensions["huey"]
