"""WSGI entry point for gunicorn: dashhub.wsgi:server."""

from dashhub.app import create_app

app = create_app()
server = app.server
