"""First and repeat visit of the home page through nginx, in headless Chromium (loopback).

A user with an empty browser cache logs in; the first visit is timed from the login form's submit
to every dashboard card and the footer on screen (the redirect, the page, Dash's bundles, the
layout and the page callback), with requests and bytes on the wire (Resource Timing's
transferSize). Then the same browser opens `/` again: what came from its cache, what crossed the
wire.
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
from bench.load_test import start_topology
from tests.conftest import PASSWORDS
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support.wire import Loaded, loaded


def first_visit(context, base: str) -> tuple[float, list[Loaded]]:
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", "hr")
    page.fill("input[name=password]", PASSWORDS["hr"])
    started = time.perf_counter()
    page.click("main button[type=submit]")
    return _until_home_is_drawn(page, started)


def repeat_visit(context, base: str) -> tuple[float, list[Loaded]]:
    page = context.new_page()
    started = time.perf_counter()
    page.goto(base + "/")
    return _until_home_is_drawn(page, started)


def _until_home_is_drawn(page, started: float) -> tuple[float, list[Loaded]]:
    page.locator(".dashboard-card").last.wait_for()
    page.locator("footer").first.wait_for()
    elapsed = time.perf_counter() - started
    page.wait_for_load_state("networkidle")
    resources = loaded(page)
    page.close()
    return elapsed, resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    firsts, repeats = [], []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        base, processes = start_topology(Path(tmp))
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(args.runs):
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                firsts.append(first_visit(context, base))
                repeats.append(repeat_visit(context, base))
                context.close()
        finally:
            browser.close()
            for p in processes:
                p.terminate()
            for p in processes:
                p.wait(timeout=20)
    print(header("First and repeat visit of the home page through nginx (headless Chromium, loopback)"))
    print(
        "| visit | time to all content (median / worst) | requests | from browser cache | bytes on the wire |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, runs in (("first (empty cache)", firsts), ("repeat", repeats)):
        times = [t * 1000 for t, _ in runs]
        resources = runs[-1][1]
        cached = sum(1 for r in resources if r.from_cache)
        wire = sum(r.transfer for r in resources)
        print(
            f"| {name} | {statistics.median(times):.0f} / {max(times):.0f} ms | {len(resources)} | "
            f"{cached} | {wire / 1024:.0f} KB |"
        )


if __name__ == "__main__":
    main()
