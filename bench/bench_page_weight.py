"""Weight and time of a first and a repeat visit of Ventes and RH on the embedded default (one
gunicorn with two workers, SQLite, no nginx: what `bash scripts/run.sh` serves), in headless
Chromium on loopback.

First visit: a browser with an empty cache, already logged in, opens the dashboard; timed from
the navigation to every chart drawn, with requests and bytes on the wire (Resource Timing's
transferSize, headers included). Repeat visit: the same browser opens it again. Prints markdown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import header
from tests.conftest import PASSWORDS, TEST_SECRET
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    _free_port,
    _gunicorn,
    _start,
    _wait_for,
    add_user,
    init_demo,
)
from tests.support.wire import loaded

CHARTS = {"/sales": 3, "/hr": 4}


def visit(page, url: str, charts: int) -> tuple[float, int, int]:
    """(seconds to every chart drawn, requests, bytes on the wire)."""
    started = time.perf_counter()
    page.goto(url)
    page.locator(".js-plotly-plot .main-svg").nth(2 * charts - 1).wait_for(timeout=60_000)
    elapsed = time.perf_counter() - started
    page.wait_for_load_state("networkidle")
    resources = loaded(page)
    return elapsed, len(resources), sum(r.transfer for r in resources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "DASHHUB_PATHS__DATA_DIR": tmp,
            "DASHHUB_SECRET_KEY": TEST_SECRET,
            "DASHHUB_ADMIN_PASSWORD": PASSWORDS["admin"],
            "DASHHUB_AUTH__LOGIN_RATE_LIMIT": "1000 per minute",
            "GUNICORN_ACCESS_LOG": "/dev/null",
            "DASHHUB_SCHEDULER": "off",
        }
        import os

        env = {**os.environ, **env}
        init_demo(env)
        add_user(env, "hr")
        port = _free_port()
        server = _start(_gunicorn(port), env, Path(tmp) / "gunicorn.log")
        base = f"http://127.0.0.1:{port}"
        rows = []
        try:
            _wait_for(base + "/health")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for path, charts in CHARTS.items():
                    first, repeat = [], []
                    for _ in range(args.runs):
                        context = browser.new_context(viewport={"width": 1440, "height": 900})
                        page = context.new_page()
                        page.goto(base + "/login")
                        page.fill("#username", "hr")
                        page.fill("#password", PASSWORDS["hr"])
                        page.click("main button[type=submit]")
                        page.wait_for_url(base + "/")
                        page.close()
                        page = context.new_page()
                        first.append(visit(page, base + path, charts))
                        page.close()
                        page = context.new_page()
                        repeat.append(visit(page, base + path, charts))
                        context.close()
                    rows.append((path, first, repeat))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(header("First and repeat visit on the embedded default (gunicorn, SQLite, no nginx)"))
    print("| page | first visit: charts drawn | requests | transferred | repeat: drawn | transferred |")
    print("| --- | --- | --- | --- | --- | --- |")
    for path, first, repeat in rows:
        print(
            f"| `{path}` | {statistics.median(f[0] for f in first):.2f} s | {first[0][1]} | "
            f"{statistics.median(f[2] for f in first) / 1e6:.2f} MB | "
            f"{statistics.median(r[0] for r in repeat):.2f} s | "
            f"{statistics.median(r[2] for r in repeat) / 1e3:.0f} KB |"
        )


if __name__ == "__main__":
    main()
