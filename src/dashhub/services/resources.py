"""CPU and memory of a server's processes and of its host, sampled by the host scheduler (one
sampler per server, not one per worker) and stored for the monitoring's resource charts."""

from __future__ import annotations

import datetime as dt
import os
import socket

import psutil
from sqlalchemy import Engine, delete, insert

from dashhub.db import resource_samples


class ResourceSampler:
    """Samples the process tree rooted at `root_pid` (gunicorn's master: every worker and job
    below it) and the host. CPU shares are measured between two calls, so the first call primes
    the counters and the next ones store."""

    def __init__(self, engine: Engine, root_pid: int | None = None, host: str | None = None) -> None:
        self._engine = engine
        self._root = psutil.Process(root_pid or os.getppid())
        self._host = (host or socket.gethostname())[:128]
        self._known: dict[int, psutil.Process] = {}
        self._cores = psutil.cpu_count() or 1
        psutil.cpu_percent(None)

    def _processes(self) -> list[psutil.Process]:
        """The tree's processes, the same objects from call to call (their CPU counters persist)."""
        try:
            current = [self._root, *self._root.children(recursive=True)]
        except psutil.NoSuchProcess:
            current = []
        alive = {}
        for process in current:
            alive[process.pid] = self._known.get(process.pid, process)
        self._known = alive
        return list(alive.values())

    def sample(self, now: dt.datetime | None = None) -> dict[str, float] | None:
        """Measure and store one sample; None on the first call (it only primes the counters)."""
        cpu, memory, primed = 0.0, 0.0, bool(self._known)
        for process in self._processes():
            try:
                with process.oneshot():
                    cpu += process.cpu_percent(None)
                    memory += process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        host_cpu = psutil.cpu_percent(None)
        if not primed:
            return None
        virtual = psutil.virtual_memory()
        row = {
            "at": now or dt.datetime.now(dt.UTC),
            "host": self._host,
            "process_cpu": min(100.0, cpu / self._cores),
            "process_memory": float(memory),
            "host_cpu": float(host_cpu),
            "host_memory": float(virtual.total - virtual.available),
            "host_memory_total": float(virtual.total),
        }
        with self._engine.begin() as conn:
            conn.execute(insert(resource_samples).values(**row))
        return row


def prune_samples(engine: Engine, keep_days: float, now: dt.datetime | None = None) -> int:
    """Delete the samples older than keep_days; how many."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=keep_days)
    with engine.begin() as conn:
        return conn.execute(delete(resource_samples).where(resource_samples.c.at < cutoff)).rowcount
