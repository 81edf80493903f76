"""Monitoring ML as an analyst sees it, through nginx, on PostgreSQL: the demo's story (latency
incident, drift on the size features), real traffic sent by `dashhub simulate-traffic` arriving
on the page, a drift injected by the simulator found, and the page on a phone."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import time

from playwright.sync_api import expect

from dashhub.config import load_settings
from dashhub.db import make_engine
from dashhub.domain.monitoring import window_for
from dashhub.services.models import ModelRegistry
from dashhub.services.monitoring import MonitoringService
from dashhub.services.rollups import refresh
from dashhub.services.traffic import deploy
from tests.e2e.conftest import horizontal_overflow, live_query, watched_page
from tests.e2e.test_api_deployment import token_for
from tests.support.api import IRIS

SPILLED_CHARTS = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .filter(p => p.querySelector('.main-svg').getBoundingClientRect().height
               > p.parentElement.getBoundingClientRect().height + 1)
  .map(p => (p.closest('[id]') || {}).id)"""
FIGURE_DATA = "id => document.querySelector('#' + id + ' .js-plotly-plot').data"


def opened(page, query: str = "") -> None:
    page.goto(page.base_url + "/ml/monitoring" + query)
    expect(page.locator("#mon-summary-table")).to_be_visible(timeout=30_000)
    expect(page.locator("#mon-latency .js-plotly-plot")).to_be_attached()


def test_the_demo_story_is_on_the_page(analyst_page):
    page = analyst_page
    opened(page, "?period=7d")
    latency = page.evaluate(FIGURE_DATA, "mon-latency")
    mean = next(trace for trace in latency if trace["name"] in ("Mean", "Moyenne"))
    assert max(v for v in mean["y"] if v is not None) > 100, "the latency incident shows above the line"
    incidents = page.locator("#mon-alerts-table tr[data-indicator='latency']")
    expect(incidents).to_have_count(1)
    # the drift of the last day and a half, flagged on the size features and named in the summary
    opened(page, "?period=24h")
    expect(page.locator("#mon-drift-tests tr[data-feature='mean radius']")).to_have_attribute(
        "data-drifted", "yes"
    )
    expect(page.locator("#mon-drift-tests tr[data-feature='mean smoothness']")).to_have_attribute(
        "data-drifted", "no"
    )
    expect(page.locator("#mon-summary-table tr[data-indicator='drift']")).not_to_have_attribute(
        "data-status", "ok"
    )
    expect(page.locator("#mon-alert-bar")).to_have_class(re.compile(r"alert-(warning|danger)"))
    expect(page.locator(".drift-pair[data-feature]").first).to_be_visible()


def test_traffic_sent_by_the_simulator_reaches_the_page(analyst_page, live_stack):
    page = analyst_page
    opened(page)
    since = dt.datetime.now(dt.UTC)
    sent = simulate_traffic(
        live_stack,
        "--model",
        "cancer",
        "--rate",
        "10",
        "--duration",
        "6",
        "--feedback-share",
        "0.5",
        "--error-rate",
        "0.1",
    )
    assert "Sent 60 calls" in sent.stdout
    logged = live_query(
        live_stack,
        "SELECT count(*) FROM predictions WHERE model_name = 'cancer' AND at >= :since",
        since=since,
    )
    assert logged == 60, "every call is in the log, answered or refused"
    # The page's 24 h start on a 10-minute boundary (its points are 10 minutes), at the moment it
    # answers: what it counts lies between the log's last 24 hours counted after it answered and
    # its last 24 hours and 10 minutes counted before the click. (The 60 new calls are in both;
    # the count shown before the click, without them, is below the lower bound.)
    window = "SELECT count(*) FROM predictions WHERE model_name = 'cancer' AND at >= now() - interval '{}'"
    high = live_query(live_stack, window.format("24 hours 10 minutes"))
    page.get_by_role("button", name=re.compile("Rafraîchir|Refresh")).click()
    note = page.locator("#mon-kpi-volume .kpi-note")
    deadline = time.monotonic() + 20
    while True:
        shown = note.inner_text()
        counted = re.match(r"^(\d[\d\u202f\u00a0 ,]*\d|\d) ", shown)
        low = live_query(live_stack, window.format("24 hours"))
        assert high - low < 100, "a handful of calls at the window's edge"
        if counted and low <= int(re.sub(r"\D", "", counted.group(1))) <= high:
            break
        assert time.monotonic() < deadline, f"the volume says {shown!r}, not between {low} and {high}"
        time.sleep(0.2)


def simulate_traffic(live_stack, *arguments: str) -> subprocess.CompletedProcess:
    """`dashhub simulate-traffic` against the live stack with an analyst's new token; it must succeed."""
    token = token_for(live_stack.env, "analyst")
    sent = subprocess.run(
        [
            sys.executable,
            "-m",
            "dashhub",
            "simulate-traffic",
            "--url",
            live_stack.base,
            "--token",
            token,
            *arguments,
        ],
        env=live_stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stderr
    return sent


def test_a_drift_injected_by_the_simulator_is_found(live_stack):
    engine = make_engine(live_stack.database_url)
    registry = ModelRegistry(engine)
    model = deploy(registry, "iris-sim", IRIS, "analyst")
    since = dt.datetime.now(dt.UTC)
    simulate_traffic(live_stack, "--model", "iris-sim", "--rate", "15", "--duration", "9", "--drift", "0.5")
    refresh(engine)
    settings = load_settings(path=None, environ=live_stack.env).monitoring
    report = MonitoringService(engine, registry, settings).drift(
        model, window_for(since, dt.datetime.now(dt.UTC))
    )
    engine.dispose()
    assert report.enough_data
    assert {f.feature for f in report.features if f.drifted} == {f["name"] for f in model.features}
    assert report.dataset_drift


def test_the_monitoring_page_fits_a_phone(browser, live_server, analyst_session):
    with watched_page(browser, live_server, 375, analyst_session) as page:
        opened(page)
        overflow, culprits = horizontal_overflow(page)
        assert overflow <= 0, culprits
        expect(page.locator(".drift-pair .js-plotly-plot").first).to_be_attached()
        spilled = page.evaluate(SPILLED_CHARTS)
        assert spilled == [], "charts taller than their cards (legend and axes cut off)"
