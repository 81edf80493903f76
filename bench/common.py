"""Helpers shared by the benchmarks: percentiles, machine description, markdown tables."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from datetime import date


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return f"{percentile(values, 50):.1f} / {percentile(values, 95):.1f}"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory_gb:.0f} GB RAM, Python {platform.python_version()}"


def header(title: str) -> str:
    return f"### {title}\n\n{date.today().isoformat()} · {machine()}\n"


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process in MB (this one by default)."""
    with open(f"/proc/{pid or os.getpid()}/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def mean(values: list[float]) -> float:
    return statistics.fmean(values)


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class ServerTimer:
    """Wraps a WSGI app and records how long it takes to produce each response (ms): the
    server's side of a request, without the test client's own work."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app
        self.last_ms = 0.0

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        body = list(self.wsgi_app(environ, start_response))
        self.last_ms = (time.perf_counter() - started) * 1000
        return body


class CpuTimer:
    """Wraps a WSGI app (a ServerTimer) and records the CPU time of the thread that produced each
    response (ms): the server's own work, without the time it waited for a core on a busy machine
    (a database server's work in its own process is not counted)."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app
        self.last_ms = 0.0

    def __call__(self, environ, start_response):
        started = time.thread_time()
        body = list(self.wsgi_app(environ, start_response))
        self.last_ms = (time.thread_time() - started) * 1000
        return body


def timed_app(database_url: str, data_dir: str, username: str):
    """The app on database_url, its WSGI timer, and a test client logged in as username."""
    from dashhub.app import create_app
    from dashhub.config import load_settings
    from tests.conftest import TEST_SECRET, add_users, login

    settings = load_settings(
        path=None,
        environ={
            "DASHHUB_DATABASE__URL": database_url,
            "DASHHUB_PATHS__DATA_DIR": data_dir,
            "DASHHUB_SECRET_KEY": TEST_SECRET,
        },
    )
    app = create_app(settings)
    timer = ServerTimer(app.server.wsgi_app)
    app.server.wsgi_app = timer
    add_users(settings)
    client = app.server.test_client()
    login(client, username)
    return app, timer, client
