"""A 1,000,000-row (~100 MB) CSV sent to « Vos données » from headless Chromium, through nginx and
gunicorn (loopback), as a user does it: the file picked, « Envoyer » clicked, timed until the page
says « Enregistré » (sent, parsed, typed, stored as Parquet, listed). Meanwhile the resident memory
of every gunicorn worker, and of the import process a worker starts, is sampled every 50 ms, and
the progress bar's values are recorded (the user sees it move).

    .venv/bin/python bench/bench_upload_browser.py [--rows 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_datasets import write_file
from bench.common import header, rss_mb
from bench.load_test import start_topology
from tests.conftest import PASSWORDS, TEST_SECRET
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, add_user

PROGRESS = (
    "() => Number(document.querySelector('#explore-progress .progress-bar')"
    "?.getAttribute('aria-valuenow') || 0)"
)


def children(pid: int) -> list[int]:
    """The processes pid started, from any of its threads."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


class PeakRss:
    """The largest resident memory of any gunicorn worker, and of any process a worker started
    (the import process), while running."""

    def __init__(self, masters: list) -> None:
        self.masters, self.worker, self.child = masters, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            for worker in [pid for master in self.masters for pid in children(master.pid)]:
                with contextlib.suppress(OSError):  # (a process gone meanwhile)
                    self.worker = max(self.worker, rss_mb(worker))
                for child in children(worker):
                    with contextlib.suppress(OSError):
                        self.child = max(self.child, rss_mb(child))
            self._stop.wait(0.05)

    def stop(self) -> tuple[float, float]:
        self._stop.set()
        self._thread.join()
        return self.worker, self.child


def upload_once(browser, base: str, csv_path: Path, masters: list) -> tuple[float, tuple, list[int]]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", PASSWORDS["analyst"])
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/")
    page.goto(base + "/explore")
    page.locator("#explore-send").wait_for()
    page.wait_for_timeout(1000)  # (the page's callbacks settle: not part of the upload)
    page.set_input_files("#explore-file", str(csv_path))
    rss = PeakRss(masters)
    seen: list[int] = []
    started = time.perf_counter()
    page.click("#explore-send")
    status = page.locator("#explore-status")
    while "Enregistré" not in (status.text_content() or ""):
        if time.perf_counter() - started > 180:
            raise RuntimeError(f"no answer after 180 s: {status.text_content()!r}")
        value = page.evaluate(PROGRESS)
        if not seen or seen[-1] != value:
            seen.append(value)
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    peak = rss.stop()
    context.close()
    return elapsed, peak, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times, peaks, child_peaks = [], [], []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        csv_path = Path(tmp) / "ventes-1m.csv"
        write_file(csv_path, args.rows)
        size = csv_path.stat().st_size
        app_dir = Path(tmp) / "app"
        app_dir.mkdir()
        base, processes = start_topology(app_dir)
        env = {**os.environ, "DASHHUB_PATHS__DATA_DIR": str(app_dir), "DASHHUB_SECRET_KEY": TEST_SECRET}
        add_user(env, "analyst")
        masters = [p for p in processes if "gunicorn" in " ".join(map(str, p.args))]
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(args.runs):
                elapsed, (peak, child), seen = upload_once(browser, base, csv_path, masters)
                times.append(elapsed)
                peaks.append(peak)
                child_peaks.append(child)
                said = f"run: {elapsed:.1f} s, worker {peak:.0f} MB, import {child:.0f} MB, progress {seen}"
                print(said, file=sys.stderr)
        finally:
            browser.close()
            for p in processes:
                p.terminate()
            for p in processes:
                p.wait(timeout=20)
    print(header("« Vos données »: a CSV sent from Chromium through nginx, until « Enregistré »"))
    print("| file | runs | sent → stored (median / worst) | RSS peak: worker / import process | goal |")
    print("| --- | --- | --- | --- | --- |")
    print(
        f"| {args.rows:,} rows, {size / 1e6:.0f} MB | {len(times)} | {statistics.median(times):.1f} / "
        f"{max(times):.1f} s | {max(peaks):.0f} / {max(child_peaks):.0f} MB | ≤ 15 s, ≤ 500 MB |"
    )


if __name__ == "__main__":
    main()
