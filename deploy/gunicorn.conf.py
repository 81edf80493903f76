"""gunicorn settings for dashhub: gunicorn -c deploy/gunicorn.conf.py dashhub.wsgi:server

Every setting can be changed from the environment (GUNICORN_BIND, GUNICORN_WORKERS, ...).
"""

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8050")
# Callbacks are CPU-bound (pandas, plotly): a process per core, plus one.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Longer than the database statement timeout, shorter than nginx's proxy_read_timeout.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (bounded memory growth), not all at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# gunicorn >= 25.1 opens a control socket in ~/.gunicorn by default; a container has no use for it.
control_socket_disable = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
# gunicorn's default format, with the path instead of the request line: query strings stay out of
# the log (Dash's background-job handles travel in the callback route's query string).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Prometheus multiprocess mode: every worker writes its samples under this folder and /metrics
# adds them up. One folder per server, emptied when it starts (set before any worker imports
# prometheus_client). DASHHUB_METRICS_DIR chooses it.
metrics_dir = os.environ.get("DASHHUB_METRICS_DIR") or os.path.join(
    tempfile.gettempdir(), f"dashhub-metrics-{os.getpid()}"
)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
_scheduler = None


def on_starting(server):
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir, exist_ok=True)


def when_ready(server):
    """One host scheduler per server (pruning the prediction log), not one per worker."""
    global _scheduler
    if os.environ.get("DASHHUB_SCHEDULER", "on") == "off":
        return
    _scheduler = subprocess.Popen([sys.executable, "-m", "dashhub", "scheduler"])
    server.log.info("host scheduler started (pid %s)", _scheduler.pid)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _scheduler is not None and _scheduler.poll() is None:
        _scheduler.send_signal(signal.SIGTERM)
        try:
            _scheduler.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _scheduler.kill()
