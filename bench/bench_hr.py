"""RH filter change: server time (cold and warm cache), response size, memory, by employee count.

"Cold" empties the query cache (shared and per-process) before each call; the table's columns,
read once per process and data version, stay in memory: their first read is timed separately.
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import delete

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import header, rss_mb, summary, timed_app
from dashhub.db import bump_version, employees, make_engine
from dashhub.demo import DEPARTMENTS, demo_employees
from dashhub.migrations import upgrade
from dashhub.services.loading import insert_employees
from tests.support.hr_requests import hr_body

RESULTS = Path(__file__).resolve().parent / "results"


def build_database(count: int) -> str:
    RESULTS.mkdir(exist_ok=True)
    url = f"sqlite:///{RESULTS / f'employees-{count}.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        if conn.execute(employees.select().limit(1)).first() is not None:
            return url
    started = time.perf_counter()
    frame = demo_employees(count)
    with engine.begin() as conn:
        conn.execute(delete(employees))
        insert_employees(conn, frame)
        bump_version(conn, "employees")
    print(f"built {count} employees in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return url


def random_filter(rng: random.Random) -> tuple:
    departments = sorted(rng.sample(DEPARTMENTS, rng.randint(2, len(DEPARTMENTS))))
    exp_low = rng.randint(0, 10)
    age_low = rng.randint(21, 35)
    return departments, [exp_low, rng.randint(exp_low + 10, 44)], [age_low, rng.randint(age_low + 10, 65)], {}


def measure(url: str, calls: int) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        app, timer, client = timed_app(url, data_dir, "hr")
        services = app.server.extensions["dashhub"]
        cache = services.cache
        started = time.perf_counter()
        with app.server.app_context():
            services.employees.columns()  # the first read of the table into this process
        first_read = time.perf_counter() - started
        options = services.employees.options()
        rng = random.Random(3)
        filters = [random_filter(rng) for _ in range(calls)]
        cold, warm, sizes, gz = [], [], [], []
        everything = (list(options.departments), list(options.experience), list(options.age), {})
        for flt in [everything, *filters]:
            cache.clear()
            response = client.post("/_dash-update-component", json=hr_body(*flt))
            cold.append(timer.last_ms)
            assert response.status_code == 200, response.get_data()[:300]
            body = response.get_data()
            sizes.append(len(body))
            gz.append(len(gzip.compress(body, 6)))
            client.post("/_dash-update-component", json=hr_body(*flt))
            warm.append(timer.last_ms)
        return {
            "cold": cold,
            "warm": warm,
            "size_kb": max(sizes) / 1024,
            "gzip_kb": max(gz) / 1024,
            "first_read_s": first_read,
            "rss_mb": rss_mb(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, action="append", help="repeatable; default 2000")
    parser.add_argument("--calls", type=int, default=60)
    args = parser.parse_args()
    print(header("RH: filter change (server time in ms, p50 / p95; all eight outputs in one response)"))
    columns = ["employees", "cold cache", "warm cache", "largest response (raw / gzip)"]
    columns += ["first read of the table", "process RSS"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for count in args.employees or [2000]:
        result = measure(build_database(count), args.calls)
        print(
            f"| {count:,} | {summary(result['cold'])} | {summary(result['warm'])} | "
            f"{result['size_kb']:.0f} KB / {result['gzip_kb']:.0f} KB | {result['first_read_s']:.2f} s | "
            f"{result['rss_mb']:.0f} MB |"
        )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
