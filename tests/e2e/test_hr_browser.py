"""RH as an HR user sees it: filters and chart selections update all eight outputs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashhub.i18n import fmt_money, fmt_number
from tests.e2e.conftest import live_query

CHARTS = ("#hr-salary", "#hr-scatter", "#hr-departments", "#hr-heatmap")
KPIS = ("#hr-kpi-count", "#hr-kpi-salary", "#hr-kpi-performance", "#hr-kpi-satisfaction")


def _open_hr(page, search: str = ""):
    page.goto(page.base_url + "/hr" + search)
    for chart in CHARTS:
        page.locator(f"{chart} .main-svg").first.wait_for(timeout=20_000)
    expect(page.locator("#hr-kpi-count")).not_to_have_text("…")


def _snapshot(page) -> dict[str, str]:
    """Text of each KPI and the inner SVG of each chart: what the user sees change."""
    seen = {kpi: page.locator(kpi).text_content() for kpi in KPIS}
    for chart in CHARTS:
        seen[chart] = page.locator(f"{chart} .main-svg").first.inner_html()
    return seen


def test_the_kpis_show_what_the_database_holds(hr_page, live_stack):
    _open_hr(hr_page)
    count = live_query(live_stack, "SELECT count(*) FROM employees")
    salary = live_query(live_stack, "SELECT avg(salary) FROM employees")
    performance = live_query(live_stack, "SELECT avg(performance) FROM employees")
    satisfaction = live_query(live_stack, "SELECT avg(satisfaction) FROM employees")
    expect(hr_page.locator("#hr-kpi-count")).to_have_text(fmt_number(count, 0, "fr"))
    expect(hr_page.locator("#hr-kpi-salary")).to_have_text(fmt_money(float(salary), "fr"))
    expect(hr_page.locator("#hr-kpi-performance")).to_have_text(
        f"{fmt_number(float(performance), 1, 'fr')}/100"
    )
    expect(hr_page.locator("#hr-kpi-satisfaction")).to_have_text(
        f"{fmt_number(float(satisfaction), 1, 'fr')}/10"
    )
    assert hr_page.locator("#hr-table .ag-row").count() > 0
    # the grid writes its own numbers: in French too
    expect(hr_page.locator("#hr-table .ag-paging-row-summary-panel")).to_contain_text(
        f"sur {fmt_number(count, 0, 'fr')}"
    )


def test_changing_a_filter_updates_all_eight_outputs(hr_page):
    page = hr_page
    _open_hr(page)
    before = _snapshot(page)
    page.locator("#hr-department-filter").click()
    page.get_by_role("button", name="Tout désélectionner").click()
    page.get_by_role("option", name="Sales", exact=True).click()
    page.keyboard.press("Escape")
    expect(page.locator("#hr-kpi-count")).not_to_have_text(before["#hr-kpi-count"])
    page.wait_for_url(re.compile(r"/hr\?department=Sales$"))
    page.wait_for_timeout(300)
    after = _snapshot(page)
    unchanged = [name for name in before if before[name] == after[name]]
    assert unchanged == []


def test_clicking_a_department_bar_narrows_everything_and_reset_clears_it(hr_page):
    page = hr_page
    _open_hr(page)
    total = page.locator("#hr-kpi-count").text_content()
    page.locator("#hr-table .ag-row").first.wait_for()  # the table has settled below the charts
    # plotly listens on its drag layer: click there, over the lower part of the first bar
    page.locator("#hr-departments .nsewdrag").first.click(position={"x": 40, "y": 220})
    expect(page.locator("#hr-kpi-count")).not_to_have_text(total)
    expect(page.locator("#hr-selection-text")).to_contain_text("département")
    page.locator("#hr-clear-selection").click()
    expect(page.locator("#hr-kpi-count")).to_have_text(total)


def test_a_viewer_is_refused_the_hr_page(page):
    page.goto(page.base_url + "/hr")
    page.wait_for_selector("text=Accès refusé")
    assert page.locator("#hr-salary").count() == 0


@pytest.mark.parametrize("hr_page", [375], indirect=True)
def test_hr_fits_a_phone(hr_page):
    _open_hr(hr_page)
    assert hr_page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    hr_page.screenshot(path="test-artifacts/hr-375.png", full_page=True)
