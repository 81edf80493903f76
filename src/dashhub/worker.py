"""Celery worker entry point for background jobs: `celery -A dashhub.worker worker`.

The worker builds the same app as the web servers (same configuration, same callbacks), so the
background callbacks are registered as Celery tasks under the same names.
"""

from __future__ import annotations

from dashhub.app import create_app
from dashhub.config import ConfigError, load_settings
from dashhub.jobs import CeleryJobs

settings = load_settings()
if settings.jobs.backend != "celery":
    raise ConfigError(
        "jobs.backend is 'diskcache': jobs run inside the app, no worker is needed. "
        "Set DASHHUB_JOBS__BACKEND=celery (and jobs.broker_url) to use Celery workers."
    )
dash_app = create_app(settings)
jobs = dash_app.server.extensions["dashhub"].jobs
assert isinstance(jobs, CeleryJobs)
celery = jobs.celery
