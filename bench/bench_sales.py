"""Ventes filter change: server time (cold and warm cache), response size, memory, by table size.

The callback is posted through the Flask test client exactly as the browser posts it, so the time
includes Dash's dispatch and JSON serialisation but not the network.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import delete

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import header, rss_mb, summary, timed_app
from dashhub.db import bump_version, make_engine, sales, sales_daily
from dashhub.demo import PRODUCTS, REGIONS, demo_sales, insert_transactions
from dashhub.migrations import upgrade
from dashhub.services.loading import insert_sales, refresh_sales_rollup
from tests.support.dash_requests import sales_body

FIGURES = ("sales-trend", "sales-animation", "sales-stacked")
RESULTS = Path(__file__).resolve().parent / "results"


def build_database(rows: str, database_url: str | None) -> str:
    """A database holding `rows` sales rows (demo, or N synthetic transactions), built once."""
    RESULTS.mkdir(exist_ok=True)
    url = database_url or f"sqlite:///{RESULTS / f'sales-{rows}.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        present = conn.execute(sales.select().limit(1)).first() is not None
    if present and database_url is None:
        return url
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(delete(sales_daily))
        conn.execute(delete(sales))
        if rows == "demo":
            insert_sales(conn, demo_sales())
        else:
            insert_transactions(conn, int(rows))
        refresh_sales_rollup(conn)
        bump_version(conn, "sales")
    print(f"built {rows} rows in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return url


def random_filter(rng: random.Random) -> tuple:
    regions = sorted(rng.sample(REGIONS, rng.randint(1, len(REGIONS))))
    products = sorted(rng.sample(PRODUCTS, rng.randint(1, len(PRODUCTS))))
    start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=rng.randint(0, 300))
    end = start + pd.Timedelta(days=rng.randint(60, 420))
    return (
        regions,
        products,
        start.date().isoformat(),
        min(end.date(), pd.Timestamp("2025-12-31").date()).isoformat(),
    )


def measure(url: str, calls: int) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        app, timer, client = timed_app(url, data_dir, "viewer")
        cache = app.server.extensions["dashhub"].cache
        rng = random.Random(7)
        filters = [random_filter(rng) for _ in range(calls)]
        client.post("/_dash-update-component", json=sales_body(*filters[0]))  # warm the code paths
        cold, warm, sizes, gz_sizes, figure_sizes = [], [], [], [], []
        for flt in filters:
            cache.clear()
            response = client.post("/_dash-update-component", json=sales_body(*flt))
            cold.append(timer.last_ms)
            assert response.status_code == 200, response.data[:200]
            body = response.get_data()
            sizes.append(len(body))
            gz_sizes.append(len(gzip.compress(body, 6)))
            payload = response.get_json()["response"]
            figure_sizes.append(
                sum(
                    len(json.dumps(payload[k]["figure"]))
                    for k in ("sales-trend", "sales-animation", "sales-stacked")
                )
            )
            client.post("/_dash-update-component", json=sales_body(*flt))
            warm.append(timer.last_ms)
        # the default view, everything selected, is the largest answer
        everything = (list(REGIONS), list(PRODUCTS), "2024-01-01", "2025-12-31")
        body = client.post("/_dash-update-component", json=sales_body(*everything)).get_data()
        return {
            "cold": cold,
            "warm": warm,
            "size_kb": max(sizes) / 1024,
            "gzip_kb": max(gz_sizes) / 1024,
            "figures_kb": max(figure_sizes) / 1024,
            "everything_kb": len(body) / 1024,
            "rss_mb": rss_mb(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", action="append", help="demo or a number of rows (repeatable)")
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file per size")
    args = parser.parse_args()
    print(header("Ventes: filter change (server time in ms, p50 / p95)"))
    columns = ["sales rows", "cold cache", "warm cache", "largest response (raw / gzip)"]
    columns += ["3 figures JSON", "process RSS"]
    print("| " + " | ".join(columns) + " |")
    print("| --- | --- | --- | --- | --- | --- |")
    for rows in args.rows or ["demo"]:
        url = build_database(rows, args.database_url)
        result = measure(url, args.calls)
        label = "demo (11,696)" if rows == "demo" else f"{int(rows):,}"
        print(
            f"| {label} | {summary(result['cold'])} | {summary(result['warm'])} | "
            f"{result['size_kb']:.0f} KB / {result['gzip_kb']:.0f} KB | {result['figures_kb']:.0f} KB | "
            f"{result['rss_mb']:.0f} MB |"
        )


if __name__ == "__main__":
    main()
