"""Background CSV export of a whole table: sales at 10 M rows, employees at 1 M.

The export is started and polled through the Flask test client exactly as the browser's renderer
does it, on the embedded default (a child process writes the file). Reports the time until the
download link, rows per second, file size, how often progress arrived, and the peak memory of the
job's process.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_hr, bench_sales
from bench.common import header, timed_app
from tests.support.export_jobs import PATH, begin, page_ticket, text_of


def run_export(database_url: str, dashboard: str, user: str) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        app, _timer, client = timed_app(database_url, data_dir, user)
        started = time.perf_counter()
        run = begin(client, dashboard, "", page_ticket(client, dashboard))
        pid = int(run.handles["job"].split("~")[0])
        peak_mb, first_progress, updates = 0.0, None, 0
        while True:
            with contextlib.suppress(psutil.NoSuchProcess):
                peak_mb = max(peak_mb, psutil.Process(pid).memory_info().rss / 2**20)
            payload = client.post(PATH, json=run.body, query_string=run.handles).get_json() or {}
            if payload.get("progress"):
                updates += 1
                first_progress = first_progress or time.perf_counter() - started
            if "response" in payload:
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        result = payload["response"][f"{dashboard}-export-result"]["children"]
        exports = app.server.extensions["dashhub"].exports.directory
        files = list(exports.glob("*.csv"))
        rows = sum(1 for _ in files[0].open()) - 1 if files else 0
        return {
            "rows": rows,
            "seconds": elapsed,
            "size_mb": files[0].stat().st_size / 1e6 if files else 0,
            "first_progress": first_progress or elapsed,
            "updates": updates,
            "peak_mb": peak_mb,
            "text": text_of(result),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales-rows", default="10000000")
    parser.add_argument("--employees", type=int, default=1_000_000)
    args = parser.parse_args()
    results = {
        f"sales, {int(args.sales_rows):,} rows": run_export(
            bench_sales.build_database(args.sales_rows, None), "sales", "viewer"
        ),
        f"employees, {args.employees:,} rows": run_export(
            bench_hr.build_database(args.employees), "hr", "hr"
        ),
    }
    print(header("Background CSV export of a whole table (embedded default: job in a child process)"))
    print("| table | rows written | until the download link | rows/s | file | first progress | "
          "progress updates | job process peak RSS |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        print(
            f"| {name} | {r['rows']:,} | {r['seconds']:.1f} s | {r['rows'] / r['seconds']:,.0f} | "
            f"{r['size_mb']:.0f} MB | {r['first_progress']:.1f} s | {r['updates']} | {r['peak_mb']:.0f} MB |"
        )


if __name__ == "__main__":
    main()
