"""Long jobs: the Dash background-callback manager (diskcache on one host, Celery across hosts).

The same callbacks run on both; `jobs.backend` chooses. A job runs outside any request (a child
process, or a Celery worker on another host), so it carries who asked for it in a token the
server signed when it rendered the page: the worker trusts the signature, not the browser.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil
from dash import CeleryManager, DiskcacheManager
from itsdangerous import BadSignature, URLSafeTimedSerializer

from dashhub.config import Settings

log = logging.getLogger(__name__)

TOKEN_SALT = "dashhub.job"
# A page stays open for a working day; its export button works that long.
TOKEN_MAX_AGE = 12 * 3600
READY_CACHE_SECONDS = 5.0
# How long a cancelled job has to clean up after SIGTERM before it is killed.
CANCEL_GRACE_SECONDS = 3.0


@dataclass(frozen=True)
class JobTicket:
    """Who asked for a job, from which dashboard, in which language (signed into the page)."""

    user_id: int
    dashboard: str
    locale: str


class TicketSigner:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=TOKEN_SALT)

    def sign(self, ticket: JobTicket) -> str:
        return self._serializer.dumps([ticket.user_id, ticket.dashboard, ticket.locale])

    def verify(self, token: object, max_age: int = TOKEN_MAX_AGE) -> JobTicket | None:
        """The ticket in token, or None when it is forged, malformed or too old."""
        if not isinstance(token, str) or len(token) > 512:
            return None
        try:
            user_id, dashboard, locale = self._serializer.loads(token, max_age=max_age)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(user_id, int) or not isinstance(dashboard, str) or not isinstance(locale, str):
            return None
        return JobTicket(user_id, dashboard, locale)


class _OwnFunctionsOnly:
    """Register only this app's background functions, and bind every job to its dashboard.

    Dash keeps every background function of the process in one class-level list and offers each
    to every manager; with two apps in one process (tests), one app's manager would otherwise run
    the other app's function, bound to the other app's database.

    Dash signs a job's handles (result key, job id) for the page load, and the app signs page
    loads for the session's user (auth.dash_app): another user's handles do not verify. Here the
    result key also starts with the dashboard of the callback that started the job, and the job id
    is recorded with it: a callback request of another dashboard reads nothing from it and cannot
    cancel it, even with the same user's handles.
    """

    owner: object

    def register(self, key, fn, progress):
        if getattr(fn, "dashhub_owner", None) is self.owner:
            super().register(key, fn, progress)

    def build_cache_key(self, fn, args, cache_args_to_ignore, triggered):
        digest = super().build_cache_key(fn, args, cache_args_to_ignore, triggered)
        return f"{getattr(fn, 'dashhub_dashboard', None) or 'app'}:{digest}"

    def call_job_fn(self, key, job_fn, args, context):
        job = super().call_job_fn(key, job_fn, args, context)
        self._store_owner(str(job), key.partition(":")[0])
        return job

    def get_result(self, key, job):
        if not self._callback_may_use(_dashboard_of_key(key)):
            return self.UNDEFINED
        return super().get_result(key, job)

    def get_progress(self, key):
        return super().get_progress(key) if self._callback_may_use(_dashboard_of_key(key)) else None

    def get_updated_props(self, key):
        return super().get_updated_props(key) if self._callback_may_use(_dashboard_of_key(key)) else {}

    def terminate_job(self, job):
        if not self._may_terminate(job):
            return None
        return super().terminate_job(job)

    def _may_terminate(self, job) -> bool:
        if job is not None and not self._callback_may_use(self._load_owner(str(job))):
            log.warning("refused to cancel a job of another dashboard")
            return False
        return True

    def _callback_may_use(self, dashboard: str | None) -> bool:
        """Whether the callback request being served belongs to dashboard (outside a callback
        request, e.g. in the job itself, always)."""
        from dashhub.auth.callbacks import dashboard_of_request

        served = dashboard_of_request(self.owner)
        return served is NOT_A_CALLBACK or (dashboard is not None and dashboard == (served or "app"))

    def _store_owner(self, job: str, dashboard: str) -> None:
        raise NotImplementedError

    def _load_owner(self, job: str) -> str | None:
        raise NotImplementedError


NOT_A_CALLBACK = object()  # dashboard_of_request outside a callback request


def _dashboard_of_key(key: object) -> str | None:
    """The dashboard a result key was made for (None: not one of ours, or no key)."""
    return key.partition(":")[0] if isinstance(key, str) and ":" in key else None


class LocalJobs(_OwnFunctionsOnly, DiskcacheManager):
    """Jobs in a child process of the app; results in a diskcache shared by the host's workers."""

    def __init__(self, owner: object, settings: Settings) -> None:
        import diskcache

        self.owner = owner
        self.directory = settings.jobs_dir / "results"
        self.directory.mkdir(parents=True, exist_ok=True)
        super().__init__(diskcache.Cache(str(self.directory)), expire=int(settings.jobs.keep_hours * 3600))

    def ping(self) -> bool:
        return os.access(self.directory, os.W_OK)

    def _store_owner(self, job: str, dashboard: str) -> None:
        self.handle.set(f"dashhub-owner-{job}", dashboard, expire=self.expire)

    def _load_owner(self, job: str) -> str | None:
        return self.handle.get(f"dashhub-owner-{job}")

    def terminate_job(self, job):
        """Cancel: SIGTERM first, so that the job removes what it was writing, then kill."""
        if not self._may_terminate(job):
            return None
        if job is not None:
            try:
                process = psutil.Process(int(job))
                process.terminate()
                process.wait(timeout=CANCEL_GRACE_SECONDS)
            except (psutil.Error, ValueError):
                pass  # gone already, or still there: Dash's own terminate kills it
        return super().terminate_job(job)


class CeleryJobs(_OwnFunctionsOnly, CeleryManager):
    """Jobs on Celery workers; a job whose worker died or hit the hard time limit reports it."""

    def __init__(self, owner: object, settings: Settings) -> None:
        self.owner = owner
        self._key_prefix = settings.cache.key_prefix
        self.celery = make_celery(settings)
        self._ready_at = 0.0
        self._ready = False
        super().__init__(self.celery, expire=int(settings.jobs.keep_hours * 3600))

    def get_result(self, key, job):
        result = super().get_result(key, job)
        if result is self.UNDEFINED and job:
            task = self.get_task(job)
            if task is not None and task.status == "FAILURE":
                # Killed (hard time limit, lost worker): say so instead of ending silently.
                return {"background_callback_error": {"msg": f"job {task.status}", "tb": ""}}
        return result

    def _store_owner(self, job: str, dashboard: str) -> None:
        self.celery.backend.set(self._owner_key(job), dashboard)
        self.celery.backend.expire(self._owner_key(job), self.expire)

    def _load_owner(self, job: str) -> str | None:
        value = self.celery.backend.get(self._owner_key(job))
        return value.decode() if isinstance(value, bytes) else value

    def _owner_key(self, job: str) -> str:
        """Under the deployment's prefix, like every key of ours in a shared Redis."""
        return f"{self._key_prefix}jobs:owner:{job}"

    def ping(self) -> bool:
        """Broker answers and at least one worker replies (kept a few seconds per process)."""
        now = time.monotonic()
        if now - self._ready_at < READY_CACHE_SECONDS:
            return self._ready
        try:
            replies = self.celery.control.ping(timeout=1.0)
        except Exception as exc:
            log.warning("readiness: job broker down: %s", exc)
            replies = []
        self._ready, self._ready_at = bool(replies), now
        return self._ready


class JobStopped(SystemExit):
    """The job was asked to stop (cancelled): raised at once so that it cleans up and ends."""


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM (a cancel: Dash's local manager, Celery's revoke) raises
    JobStopped, so that `finally` and `except BaseException` clauses run before the process ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_signum, _frame):
        raise JobStopped(143)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def make_celery(settings: Settings):
    """The Celery app of dashhub: Redis broker and result store, one named queue, time limits."""
    from celery import Celery

    timeout = settings.jobs.timeout_seconds
    # Every key (queue, results, progress) under the deployment's prefix: a shared Redis stays tidy.
    prefix = {"global_keyprefix": f"{settings.cache.key_prefix}jobs:"}
    app = Celery("dashhub", broker=settings.jobs.broker_url, backend=settings.jobs.broker_url)
    app.conf.update(
        task_default_queue=settings.jobs.queue,
        # The job stops itself at timeout_seconds and says so; these are the backstops.
        task_soft_time_limit=timeout + 15,
        task_time_limit=timeout + 60,
        task_track_started=True,
        worker_prefetch_multiplier=1,
        result_expires=int(settings.jobs.keep_hours * 3600),
        broker_connection_retry_on_startup=True,
        broker_transport_options={"socket_timeout": 2, "socket_connect_timeout": 2, **prefix},
        result_backend_transport_options=prefix,
        redis_socket_timeout=2,
        redis_socket_connect_timeout=2,
        worker_hijack_root_logger=False,
    )
    return app


def make_manager(owner: object, settings: Settings) -> LocalJobs | CeleryJobs:
    if settings.jobs.backend == "celery":
        return CeleryJobs(owner, settings)
    return LocalJobs(owner, settings)
