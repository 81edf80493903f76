"""A fresh worker, run by bench_hr.py in a process of its own: imports the app, creates it (an
empty cache directory of its own), then serves the RH callback to a user already logged in (the
session cookie made by the parent: a new gunicorn worker's first request), the whole population
first, then the given filters. Prints JSON: import and creation time, the first request's server
and client time, the following calls, the process's RSS after them and its peak.

    python bench/hr_worker.py '{"url": ..., "cookie": ..., "everything": [...], "filters": [...]}'
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import CpuTimer, ServerTimer, rss_mb  # noqa: E402
from dashhub.app import create_app  # noqa: E402
from dashhub.config import load_settings  # noqa: E402
from tests.support.hr_requests import hr_body  # noqa: E402

IMPORTED = time.perf_counter()


def peak_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    job = json.loads(sys.argv[1])
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings(
            path=None,
            environ={
                "DASHHUB_DATABASE__URL": job["url"],
                "DASHHUB_PATHS__DATA_DIR": data_dir,
                "DASHHUB_SECRET_KEY": job["secret"],
            },
        )
        created = time.perf_counter()
        app = create_app(settings)
        timer = ServerTimer(app.server.wsgi_app)
        cpu = CpuTimer(timer)
        app.server.wsgi_app = cpu
        client = app.server.test_client()
        client.set_cookie(job["cookie_name"], job["cookie"])
        ready = time.perf_counter()
        rss_ready = rss_mb()

        def call(flt) -> tuple[float, float, float]:
            started = time.perf_counter()
            response = client.post("/_dash-update-component", json=hr_body(*flt))
            wall = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"RH callback: {response.status_code} {response.get_data()[:300]!r}")
            return timer.last_ms, wall, cpu.last_ms

        first_server, first_wall, first_cpu = call(job["everything"])
        second_server, _, _ = call(job["everything"])
        later = [call(flt)[0] for flt in job["filters"]]
        print(
            json.dumps(
                {
                    "import_s": IMPORTED - STARTED,
                    "create_s": ready - created,
                    "first_ms": first_server,
                    "first_wall_ms": first_wall,
                    "first_cpu_ms": first_cpu,
                    "second_ms": second_server,
                    "later_ms": later,
                    "rss_ready_mb": rss_ready,
                    "rss_mb": rss_mb(),
                    "peak_mb": peak_mb(),
                    "pid": os.getpid(),
                }
            )
        )


if __name__ == "__main__":
    main()
