"""RH filter change: server time (cold and warm cache), response size, memory, by employee count and
database; and a fresh worker (a process of its own): its import and app creation, its first RH
request, its RSS after a series of filter changes.

"Cold" empties the query cache (shared and per-process) before each call: every number is read
from the `employee_cells` aggregates. Databases are built once and reused (bench/hr_data.py):
SQLite in bench/results/employees-N.db, PostgreSQL in dashhub_bench_employees_N (127.0.0.1).

    .venv/bin/python bench/bench_hr.py --employees 2000 --employees 1000000 --database sqlite
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import hr_data
from bench.common import CpuTimer, header, rss_mb, summary, timed_app
from dashhub.demo import DEPARTMENTS
from tests.conftest import TEST_SECRET
from tests.support.hr_requests import hr_body

WORKER = Path(__file__).resolve().parent / "hr_worker.py"
WORKER_TIMEOUT_S = 600


def random_filter(rng: random.Random, options) -> tuple:
    """Two or more departments, an experience and an age range within the data's."""
    departments = sorted(rng.sample(DEPARTMENTS, rng.randint(2, len(DEPARTMENTS))))
    exp_max, (age_min, age_max) = int(options.experience[1]), (int(options.age[0]), int(options.age[1]))
    exp_low = rng.randint(0, 10)
    age_low = rng.randint(max(age_min, 21), 35)
    experience = [exp_low, min(exp_max, rng.randint(exp_low + 10, 44))]
    return departments, experience, [age_low, min(age_max, rng.randint(age_low + 10, 65))], {}


def measure(url: str, calls: int, profile: bool) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        app, timer, client = timed_app(url, data_dir, "hr")
        cpu = CpuTimer(app.server.wsgi_app)
        app.server.wsgi_app = cpu
        services = app.server.extensions["dashhub"]
        cache = services.cache
        with app.server.app_context():
            options = services.employees.options()
        rng = random.Random(3)
        filters = [random_filter(rng, options) for _ in range(calls)]
        everything = (list(options.departments), list(options.experience), list(options.age), {})
        cold, cold_cpu, warm, sizes, gz = [], [], [], [], []
        for flt in [everything, *filters]:
            cache.clear()
            response = client.post("/_dash-update-component", json=hr_body(*flt))
            cold.append(timer.last_ms)
            cold_cpu.append(cpu.last_ms)
            assert response.status_code == 200, response.get_data()[:300]
            body = response.get_data()
            sizes.append(len(body))
            gz.append(len(gzip.compress(body, 6)))
            client.post("/_dash-update-component", json=hr_body(*flt))
            warm.append(timer.last_ms)
        if profile:
            cache.clear()
            profiler = cProfile.Profile()
            profiler.enable()
            client.post("/_dash-update-component", json=hr_body(*everything))
            profiler.disable()
            print(f"\n--- cProfile of one cold RH call ({url}) ---", file=sys.stderr)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        cookie = client.get_cookie(app.server.config["SESSION_COOKIE_NAME"])
        worker = fresh_worker(
            {
                "url": url,
                "secret": TEST_SECRET,
                "cookie_name": cookie.key,
                "cookie": cookie.value,
                "everything": everything,
                "filters": filters,
            }
        )
        return {
            "cold": cold,
            "cold_cpu": cold_cpu,
            "warm": warm,
            "size_kb": max(sizes) / 1024,
            "gzip_kb": max(gz) / 1024,
            "rss_mb": rss_mb(),
            "worker": worker,
        }


def fresh_worker(job: dict) -> dict:
    """Run hr_worker.py in a new process (its own metrics directory); its JSON answer."""
    with tempfile.TemporaryDirectory() as metrics:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics}
        done = subprocess.run(
            [sys.executable, str(WORKER), json.dumps(job)],
            env=env,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT_S,
        )
    if done.returncode != 0:
        raise SystemExit(f"fresh worker failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--employees", type=int, action="append", help="repeatable; default 2000")
    parser.add_argument("--database", choices=hr_data.DATABASES, action="append", help="default: both")
    parser.add_argument("--calls", type=int, default=60, help="filter changes per run (and per worker)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the databases")
    parser.add_argument("--drop", action="store_true", help="drop the PostgreSQL databases at the end")
    parser.add_argument("--profile", action="store_true", help="cProfile of one cold call (stderr)")
    args = parser.parse_args()
    code, load = hr_data.code_version(), hr_data.load_average()
    counts, databases = args.employees or [2000], args.database or list(hr_data.DATABASES)
    rows = []
    for count in counts:
        for database in databases:
            started = time.perf_counter()
            url = hr_data.build(database, count, fresh=args.fresh)
            print(f"{count:,} on {database}: ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            rows.append((count, database, measure(url, args.calls, args.profile)))
            if args.drop and database == "postgresql":
                hr_data.drop(database, count)

    print(header("RH: filter change (server time in ms, p50 / p95; all eight outputs in one response)"))
    print(f"{args.calls} random filters after the whole population; cold: the cache emptied before each.")
    print(hr_data.code_note(code, load) + "\n")
    columns = ["employees", "database", "cold cache", "cold: the worker thread's CPU", "warm cache"]
    columns += ["largest response (raw / gzip)"]
    columns += ["bench process RSS"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for count, database, result in rows:
        print(
            f"| {count:,} | {hr_data.LABELS[database]} | {summary(result['cold'])} | "
            f"{summary(result['cold_cpu'])} | "
            f"{summary(result['warm'])} | {result['size_kb']:.0f} KB / {result['gzip_kb']:.0f} KB | "
            f"{result['rss_mb']:.0f} MB |"
        )
    print(
        f"\nA fresh worker (a new process, empty cache, a user already logged in): import of the app, "
        f"create_app, its first RH request (the whole population: server time / client time / the "
        f"worker thread's CPU), the second, "
        f"then {args.calls} filter changes; its RSS once created, after them, and its peak.\n"
    )
    columns = ["employees", "database", "import", "create_app", "first RH request", "second"]
    columns += [f"{args.calls} filters p50 / p95", "RSS created → after (peak)"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for count, database, result in rows:
        w = result["worker"]
        print(
            f"| {count:,} | {hr_data.LABELS[database]} | {w['import_s']:.2f} s | {w['create_s']:.2f} s | "
            f"{w['first_ms']:.1f} / {w['first_wall_ms']:.1f} / {w['first_cpu_ms']:.1f} ms | "
            f"{w['second_ms']:.1f} ms | "
            f"{summary(w['later_ms'])} ms | {w['rss_ready_mb']:.0f} → {w['rss_mb']:.0f} MB "
            f"({w['peak_mb']:.0f}) |"
        )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
