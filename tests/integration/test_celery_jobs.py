"""Large exports on a real Celery worker (Redis broker), as in production: result, cancel, crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import psutil
import pytest
import redis

from dashhub.app import create_app
from tests.conftest import TEST_SECRET, logged_in, make_settings
from tests.support import services
from tests.support.export_jobs import (
    begin,
    cancel,
    download_href,
    page_ticket,
    poll,
    rows_held,
    text_of,
    wait_for_progress,
)


@pytest.fixture(scope="module")
def celery_app(tmp_path_factory, demo_databases):
    """The app with jobs on Celery, a worker of its own (own queue and key prefix), the demo data
    on PostgreSQL (where a test can hold a job on its first read of the rows)."""
    tmp = tmp_path_factory.mktemp("celery")
    database_url, drop = demo_databases.copy("postgresql", tmp)
    prefix = f"dashhub-test-{uuid.uuid4().hex[:8]}:"
    overrides = {
        "DASHHUB_JOBS__BACKEND": "celery",
        "DASHHUB_JOBS__BROKER_URL": services.redis_url(),
        "DASHHUB_JOBS__QUEUE": prefix.rstrip(":"),
        "DASHHUB_CACHE__KEY_PREFIX": prefix,
    }
    settings = make_settings(tmp, database_url, **overrides)
    env = {
        **os.environ,
        **overrides,
        "DASHHUB_PATHS__DATA_DIR": str(settings.data_dir),
        "DASHHUB_DATABASE__URL": settings.database_url,
        "DASHHUB_ENVIRONMENT": "production",
        "DASHHUB_SECRET_KEY": TEST_SECRET,
    }
    log = (tmp / "worker.log").open("w")
    command = [sys.executable, "-m", "celery", "-A", "dashhub.worker", "worker", "--concurrency", "1",
               "--without-gossip", "--without-mingle", "--loglevel", "INFO"]  # fmt: skip
    worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    app = create_app(settings)
    jobs = app.server.extensions["dashhub"].jobs
    deadline = time.monotonic() + 60
    while not jobs.ping():
        assert worker.poll() is None, (tmp / "worker.log").read_text()
        assert time.monotonic() < deadline, "the Celery worker did not answer"
        time.sleep(0.5)
    app.worker, app.worker_env = worker, env
    yield app
    worker.terminate()
    worker.wait(timeout=30)
    app.server.extensions["dashhub"].engine.dispose()
    drop()
    client = redis.Redis.from_url(services.redis_url())
    keys = list(client.scan_iter(f"*{prefix}*"))
    if keys:
        client.delete(*keys)


def test_ready_reports_the_worker(celery_app):
    ready = celery_app.server.test_client().get("/ready")
    assert ready.status_code == 200
    assert ready.get_json()["checks"]["worker"] == "ok"


def test_the_worker_health_check_pings_the_worker_of_this_host(celery_app):
    """docker-compose.yml's worker healthcheck: this host's worker (celery@<hostname>) answers."""
    check = [sys.executable, "-m", "dashhub.worker_ping"]
    ok = subprocess.run(check, env=celery_app.worker_env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    other = subprocess.run([*check, "celery@elsewhere"], env=celery_app.worker_env, capture_output=True,
                           text=True, timeout=60)  # fmt: skip
    assert other.returncode == 1
    assert "celery@elsewhere: no answer to a ping within 5 s" in other.stderr


def test_export_runs_on_the_worker(celery_app):
    client = logged_in(celery_app)
    query = "?region=Nord&start=2025-12-01&end=2025-12-31"
    run = begin(client, "sales", query, page_ticket(client, "sales"))
    assert "~" in run.handles["job"] and not run.handles["job"].split("~")[0].isdigit(), "a Celery task id"
    # the job is recorded with its dashboard, under the deployment's key prefix (a shared Redis)
    prefix = celery_app.server.extensions["dashhub"].settings.cache.key_prefix
    owner = redis.Redis.from_url(services.redis_url()).get(
        f"{prefix}jobs:owner:{run.handles['job'].split('~')[0]}"
    )
    assert owner == b"sales"
    result = poll(client, run)
    text = text_of(result)
    assert "lignes exportées" in text
    lines = client.get(download_href(result)).get_data(as_text=True).splitlines()
    assert lines[0] == "date,region,product,amount"
    assert all(",Nord," in line for line in lines[1:])
    assert f"{len(lines) - 1:,}".replace(",", "\u202f") in text


def _pool_children(worker: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(worker.pid).children(recursive=True)


def test_cancel_revokes_the_task(celery_app):
    client = logged_in(celery_app)
    with rows_held(celery_app.server.extensions["dashhub"].settings.database_url):
        run = begin(client, "sales", "", page_ticket(client, "sales"))
        wait_for_progress(client, run)
        assert cancel(client, run).status_code in (200, 204)
    task_id = run.handles["job"].split("~")[0]
    jobs = celery_app.server.extensions["dashhub"].jobs
    deadline = time.monotonic() + 20
    while jobs.celery.AsyncResult(task_id).status != "REVOKED":
        assert time.monotonic() < deadline, jobs.celery.AsyncResult(task_id).status
        time.sleep(0.2)
    assert poll(client, run) is None, "a cancelled job gives no result"


def test_a_worker_that_dies_mid_job_is_reported_to_the_user(celery_app):
    client = logged_in(celery_app)
    with rows_held(celery_app.server.extensions["dashhub"].settings.database_url):
        run = begin(client, "sales", "", page_ticket(client, "sales"))
        wait_for_progress(client, run)
        for child in _pool_children(celery_app.worker):
            child.send_signal(signal.SIGKILL)
    result = poll(client, run)
    assert "s'est arrêté avant la fin" in text_of(result)
    # the worker replaces its pool process and takes the next job
    follow_up = poll(client, begin(client, "sales", "?region=-", page_ticket(client, "sales")))
    assert "Rien à exporter" in text_of(follow_up)
