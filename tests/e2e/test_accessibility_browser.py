"""axe-core on every page, logged in as the users who open them: no critical or serious violation.

axe-core runs inside the page (axe-playwright-python injects it through the browser's debugging
protocol, which the page's Content-Security-Policy does not govern).
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

BLOCKING = ("critical", "serious")


def _violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['impact']} {v['id']}: {v['nodes'][0]['target']} — {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def _settle(page, selector: str) -> None:
    page.locator(selector).first.wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # (the markup repairs run on the next animation frame)


def test_the_login_page(anonymous_page):
    anonymous_page.goto(anonymous_page.base_url + "/login")
    _settle(anonymous_page, "#username")
    assert _violations(anonymous_page) == []


@pytest.mark.parametrize(
    ("path", "ready"),
    [("/", ".dashboard-card"), ("/sales", "#sales-trend .main-svg"), ("/hr", "#hr-heatmap .main-svg")],
)
def test_home_sales_and_hr(hr_page, path, ready):
    hr_page.goto(hr_page.base_url + path)
    _settle(hr_page, ready)
    assert _violations(hr_page) == []


@pytest.mark.parametrize(
    ("path", "ready"), [("/ml/explorer", "#ml-report table, .js-plotly-plot"), ("/ml/monitoring", "h1")]
)
def test_the_ml_pages(analyst_page, path, ready):
    analyst_page.goto(analyst_page.base_url + path)
    _settle(analyst_page, ready)
    assert _violations(analyst_page) == []


def test_a_skip_link_leads_past_the_navbar(hr_page):
    hr_page.goto(hr_page.base_url + "/sales")
    _settle(hr_page, "#sales-trend .main-svg")
    hr_page.keyboard.press("Tab")
    skip = hr_page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    hr_page.keyboard.press("Enter")
    expect(hr_page.locator("#page-content")).to_be_focused()
    expect(hr_page.locator("html")).to_have_attribute("lang", "fr")


def test_the_filters_are_reached_and_opened_with_the_keyboard(hr_page):
    hr_page.goto(hr_page.base_url + "/sales")
    _settle(hr_page, "#sales-trend .main-svg")
    regions = hr_page.locator("#sales-regions")
    for _ in range(15):
        hr_page.keyboard.press("Tab")
        if regions.evaluate("(node) => node.contains(document.activeElement)"):
            break
    assert regions.evaluate("(node) => node.contains(document.activeElement)"), "Tab reaches the regions"
    hr_page.keyboard.press("ArrowDown")
    expect(hr_page.locator("[role=option]")).to_have_count(4)
