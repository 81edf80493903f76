"""Ventes as a user sees it: real Chromium against gunicorn."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import trend_regions

PLOTS = ".js-plotly-plot .main-svg"


def _open_sales(page, search: str = ""):
    page.goto(page.base_url + "/sales" + search)
    # Locators and expect() only: the CSP forbids eval, which wait_for_function needs.
    for chart in ("#sales-trend", "#sales-animation", "#sales-stacked"):
        page.locator(f"{chart} .main-svg").first.wait_for(timeout=20_000)
    expect(page.locator("#sales-kpi-total")).not_to_have_text("…")


def test_home_offers_a_card_per_dashboard(page):
    page.goto(page.base_url + "/")
    card = page.locator(".dashboard-card", has_text="Ventes")
    card.wait_for()
    card.click()
    page.wait_for_url(re.compile(r"/sales$"))
    page.wait_for_selector(PLOTS)


def test_sales_draws_the_three_charts_with_peak_and_animation(page):
    _open_sales(page)
    assert page.locator("#sales-trend .annotation-text", has_text="Pic de Noël").count() == 2
    assert page.locator("#sales-animation .slider-container").count() == 1
    play = page.locator("#sales-animation .updatemenu-button", has_text="Lecture")
    play.click()
    page.wait_for_timeout(600)
    page.locator("#sales-animation .updatemenu-button", has_text="Pause").click()
    legend = page.locator("#sales-stacked .legendtext").all_text_contents()
    assert sorted(legend) == ["Est", "Nord", "Ouest", "Sud"]
    assert page.locator("#sales-kpi-region").text_content().startswith("Nord")


def test_url_filters_are_applied_and_changing_a_filter_updates_the_url(page):
    _open_sales(page, "?region=Sud&region=Est")
    assert sorted(trend_regions(page)) == ["Est", "Sud"]
    total_before = page.locator("#sales-kpi-total").text_content()
    # remove "Est" from the region dropdown the way a user does
    page.locator("#sales-regions").click()
    page.get_by_role("option", name="Est", exact=True).click()
    page.keyboard.press("Escape")
    expect(page.locator("#sales-kpi-total")).not_to_have_text(total_before)
    page.wait_for_url(re.compile(r"/sales\?region=Sud$"))
    assert trend_regions(page) == ["Sud"]
    assert "region=Sud" in page.locator("#sales-trend-html").get_attribute("href")


def test_csv_export_runs_in_the_background_and_downloads_the_filtered_rows(page, live_stack):
    _open_sales(page, "?region=Nord&start=2025-12-01&end=2025-12-31")
    page.locator("#sales-export-start").click()
    link = page.get_by_role("link", name="Télécharger le fichier CSV")
    expect(link).to_be_visible(timeout=30_000)
    expect(page.locator("#sales-export-result")).to_contain_text("124 lignes exportées")
    expect(page.locator("#sales-export-start")).to_be_enabled()
    with page.expect_download() as download_info:
        link.click()
    # a French user gets the French spreadsheet convention by default: ;, decimal commas, a BOM
    raw = Path(download_info.value.path()).read_bytes()
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8-sig").splitlines()
    assert text[0] == "date;region;product;amount"
    assert len(text) == 1 + 31 * 4
    assert all(";Nord;" in line and "," in line.rsplit(";", 1)[1] for line in text[1:])
    # the job's handles went through the callback route's query string: no log kept them
    gunicorn_log, nginx_log = (path.read_text(encoding="utf-8") for path in live_stack.access_logs)
    assert "_dash-update-component" in gunicorn_log and "_dash-update-component" in nginx_log
    for log in (gunicorn_log, nginx_log):
        assert "cacheKey" not in log and "endId" not in log


def test_charts_offer_nothing_that_sends_data_outside(page):
    """No « Share chart » (it uploads the figure to Plotly's cloud) nor « Edit in Chart Studio »
    in any chart's toolbar; the other tools are there."""
    _open_sales(page)
    page.locator("#sales-trend").hover()
    buttons = page.locator("#sales-trend .modebar-btn")
    expect(buttons.first).to_be_attached()
    titles = [b.get_attribute("data-title") or "" for b in buttons.all()]
    assert len(titles) >= 4, titles
    assert not [t for t in titles if "share" in t.lower() or "partager" in t.lower() or "studio" in t.lower()]


def test_language_switch_is_remembered(page):
    _open_sales(page)
    page.get_by_role("button", name="EN", exact=True).click()
    page.wait_for_selector("text=Sales – interactive charts")
    page.locator("#sales-stacked .main-svg").first.wait_for()
    page.goto(page.base_url + "/")
    page.wait_for_selector("text=Pick a dashboard to explore.")
    page.get_by_role("button", name="FR", exact=True).click()
    page.wait_for_selector("text=Choisissez un tableau de bord à explorer.")


@pytest.mark.parametrize("page", [375, 1920], indirect=True)
def test_sales_fits_small_and_large_screens(page):
    _open_sales(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    width = page.viewport_size["width"]
    page.screenshot(path=f"test-artifacts/sales-{width}.png", full_page=True)


def test_the_tab_and_the_navbar_name_the_page(page):
    _open_sales(page)
    expect(page).to_have_title("Ventes · dashhub")
    current = page.locator("#navbar-collapse a.nav-link[aria-current=page]")
    expect(current).to_have_count(1)
    expect(current).to_contain_text("Ventes")
    page.goto(page.base_url + "/")
    page.locator(".dashboard-card").first.wait_for()
    expect(page).to_have_title("dashhub")
    expect(page.locator("#navbar-collapse a.nav-link[aria-current=page]")).to_have_count(0)
