"""axe-core on every page, logged in as the users who open them: no critical or serious violation.

axe-core runs inside the page (axe-playwright-python injects it through the browser's debugging
protocol, which the page's Content-Security-Policy does not govern).
"""

from __future__ import annotations

import re

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


CHARTS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
  id: gd.closest('.dash-graph').id,
  role: gd.getAttribute('role'),
  tabindex: gd.getAttribute('tabindex'),
  label: gd.getAttribute('aria-label') || '',
  title: (gd.querySelector('.gtitle') || {}).textContent || '',
  stops: [...gd.querySelectorAll('.modebar button')].filter(b => b.tabIndex >= 0).length,
  buttons: gd.querySelectorAll('.modebar button').length,
}))"""


def test_each_chart_is_a_named_figure_with_one_toolbar_stop(hr_page):
    """Screen readers get each chart's title and key figures; the keyboard meets one stop per
    toolbar (arrows move within it), not eight."""
    hr_page.goto(hr_page.base_url + "/hr")
    _settle(hr_page, "#hr-heatmap .main-svg")
    charts = hr_page.evaluate(CHARTS)
    assert len(charts) == 4
    for chart in charts:
        assert chart["role"] == "figure" and chart["tabindex"] == "0", chart["id"]
        assert chart["title"] and chart["label"].startswith(chart["title"]), chart
        assert chart["buttons"] > 1 and chart["stops"] == 1, chart
    bars = next(c for c in charts if c["id"] == "hr-departments")
    departments = hr_page.evaluate(
        "() => document.querySelector('#hr-departments .js-plotly-plot').data[0].x"
    )
    assert all(department in bars["label"] for department in departments), bars["label"]
    heatmap = next(c for c in charts if c["id"] == "hr-heatmap")
    assert "valeurs de " in heatmap["label"]
    # within a toolbar, the arrows move; Tab leaves it
    toolbar = hr_page.locator("#hr-salary .modebar")
    first = toolbar.locator("button").first
    first.focus()
    expect(toolbar).to_have_attribute("role", "toolbar")
    hr_page.keyboard.press("ArrowRight")
    second = toolbar.locator("button").nth(1)
    expect(second).to_be_focused()
    assert second.evaluate("(b) => b.tabIndex") == 0 and first.evaluate("(b) => b.tabIndex") == -1


def test_plotly_and_the_date_picker_speak_french(hr_page):
    hr_page.goto(hr_page.base_url + "/sales")
    _settle(hr_page, "#sales-trend .main-svg")
    titles = hr_page.locator("#sales-trend .modebar button").evaluate_all(
        "(buttons) => buttons.map(b => b.getAttribute('data-title'))"
    )
    assert "Télécharger le graphique en PNG" in titles and "Réinitialiser les axes" in titles, titles
    expect(hr_page.locator("#sales-regions")).to_contain_text("Toutes les régions (4)")
    start = hr_page.locator("input#sales-dates")
    expect(start).to_have_attribute("aria-label", "Date de début")
    start.click()
    expect(hr_page.locator("[role=dialog]").first).to_contain_text("janvier 2024")
    expect(hr_page.get_by_role("button", name="Mois précédent")).to_have_count(1)
    hr_page.keyboard.press("Escape")


def test_an_empty_table_says_so_without_page_0_of_0(hr_page):
    hr_page.goto(hr_page.base_url + "/hr?department=-")
    _settle(hr_page, "#hr-heatmap .main-svg")
    grid = hr_page.locator("#hr-table")
    expect(grid).to_have_class(re.compile("grid-empty"))
    expect(grid).to_contain_text("Aucun employé ne correspond à ces filtres")
    expect(grid.locator(".ag-paging-panel")).to_be_hidden()


def test_every_region_is_in_view_when_the_list_opens(hr_page):
    hr_page.goto(hr_page.base_url + "/sales")
    _settle(hr_page, "#sales-trend .main-svg")
    hr_page.locator("#sales-regions").click()
    options = hr_page.locator("[role=option]")
    expect(options).to_have_count(4)
    for i in range(4):
        expect(options.nth(i)).to_be_in_viewport(ratio=1)
    hr_page.keyboard.press("Escape")
