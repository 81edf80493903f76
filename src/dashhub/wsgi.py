"""WSGI entry point for gunicorn: dashhub.wsgi:server."""

import sys

from dashhub.app import create_app
from dashhub.config import ConfigError
from dashhub.migrations import SchemaError

try:
    app = create_app()
except (ConfigError, SchemaError) as error:
    print(f"dashhub: {error}", file=sys.stderr, flush=True)
    sys.exit(3)  # gunicorn's "worker failed to boot": the master stops instead of retrying
server = app.server
