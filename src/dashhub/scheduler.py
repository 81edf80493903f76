"""The host scheduler: periodic work that must run once per host, not once per worker.

gunicorn's master starts it (deploy/gunicorn.conf.py, `dashhub scheduler`) and stops it on exit.
It brings the monitoring's rollups and alerts up to date, samples the server's CPU and memory,
and prunes the prediction log; every task runs in its own transaction and tolerates the database
being down (it tries again at the next tick).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from dashhub.config import Settings
from dashhub.container import export_files
from dashhub.db import make_engine
from dashhub.services.monitoring_jobs import monitoring_tasks
from dashhub.services.retention import prune

log = logging.getLogger(__name__)


@dataclass
class Task:
    name: str
    every_seconds: float
    run: Callable[[], object]
    due: float = field(default=0.0)


def tasks(settings: Settings, root_pid: int | None = None) -> list[Task]:
    engine = make_engine(settings.database_url)
    retention = settings.monitoring.retention_days

    def prune_predictions():
        report = prune(engine, retention)
        if report.rolled_up or report.rollups_dropped:
            log.info(
                "pruned %s predictions, dropped %s old rollups", report.rolled_up, report.rollups_dropped
            )
        return report

    exports = export_files(settings)

    def clean_exports():
        """Claims and partial files of jobs that died (killed on cancel, or by a restart), and
        exports past jobs.keep_hours."""
        return exports.remove_abandoned() + exports.remove_expired()

    return [
        *(Task(name, every, job) for name, every, job in monitoring_tasks(settings, engine, root_pid)),
        Task("clean-exports", 60, clean_exports),
        Task("prune-predictions", settings.monitoring.prune_every_minutes * 60, prune_predictions),
    ]


def run(
    settings: Settings, stop: threading.Event, tick_seconds: float = 1.0, root_pid: int | None = None
) -> None:
    """Run every task when it is due until stop is set (SIGTERM sets it). root_pid: the server
    whose processes the resource samples measure (default: this process's parent)."""
    schedule = tasks(settings, root_pid)
    while not stop.is_set():
        now = time.monotonic()
        for task in schedule:
            if now >= task.due:
                try:
                    task.run()
                except SQLAlchemyError as exc:
                    log.warning("scheduler: %s failed (database): %s", task.name, str(exc).splitlines()[0])
                except Exception:
                    log.exception("scheduler: %s failed", task.name)
                task.due = time.monotonic() + task.every_seconds
        stop.wait(tick_seconds)


def run_until_terminated(settings: Settings) -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run(settings, stop)
