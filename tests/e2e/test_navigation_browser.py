"""The URL is the state: every history move, navbar click and pasted address shows exactly what
the address says (the controls and the numbers), and the page's own tidying adds no history."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from dashhub.i18n import fmt_money, fmt_number
from tests.e2e.conftest import live_query, toggle_region

REGIONS = ["Est", "Nord", "Ouest", "Sud"]
DEPARTMENTS = ["Finance", "HR", "IT", "Marketing", "Sales"]


def until(check, seconds: float = 15.0) -> None:
    """Wait until check() holds (the CSP forbids the eval that wait_for_function needs)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def search_of(page) -> str:
    return page.evaluate("location.search")


def sales_total(live_stack, regions: list[str]) -> str:
    placeholders = ", ".join(f":r{i}" for i in range(len(regions)))
    total = live_query(
        live_stack,
        f"SELECT sum(amount) FROM sales WHERE region IN ({placeholders})",
        **{f"r{i}": r for i, r in enumerate(regions)},
    )
    return fmt_money(float(total), "fr")


def shows_sales(page, live_stack, search: str, regions: list[str]) -> None:
    """The address, the region control and the total all say the same thing."""
    until(lambda: search_of(page) == search)
    chips = page.locator("#sales-regions .dash-dropdown-value-item")
    expect(chips).to_have_text(regions)
    expect(page.locator("#sales-kpi-total")).to_have_text(sales_total(live_stack, regions))


def test_back_forward_and_the_navbar_show_what_the_sales_address_says(page, live_stack):
    page.goto(page.base_url + "/sales")
    shows_sales(page, live_stack, "", REGIONS)
    start = page.evaluate("history.length")

    toggle_region(page, "Nord")
    shows_sales(page, live_stack, "?region=Est&region=Ouest&region=Sud", ["Est", "Ouest", "Sud"])
    toggle_region(page, "Est")
    shows_sales(page, live_stack, "?region=Ouest&region=Sud", ["Ouest", "Sud"])
    assert page.evaluate("history.length") == start + 2, "one entry per change"

    page.go_back()
    shows_sales(page, live_stack, "?region=Est&region=Ouest&region=Sud", ["Est", "Ouest", "Sud"])
    page.go_back()
    shows_sales(page, live_stack, "", REGIONS)
    page.go_forward()
    shows_sales(page, live_stack, "?region=Est&region=Ouest&region=Sud", ["Est", "Ouest", "Sud"])

    page.locator("nav a.nav-link", has_text="Ventes").click()
    shows_sales(page, live_stack, "", REGIONS)
    page.go_back()
    shows_sales(page, live_stack, "?region=Est&region=Ouest&region=Sud", ["Est", "Ouest", "Sud"])


def test_a_pasted_address_is_tidied_in_place(page, live_stack):
    page.goto(page.base_url + "/")
    page.locator(".dashboard-card").first.wait_for()
    page.goto(page.base_url + "/sales?region=Sud&region=Sud&region=Atlantis&colour=red")
    shows_sales(page, live_stack, "?region=Sud", ["Sud"])
    page.go_back()  # straight back to where the user was: the tidying added no entry
    until(lambda: page.evaluate("location.pathname") == "/")
    page.locator(".dashboard-card").first.wait_for()


def test_back_and_forward_on_hr_follow_the_department_filter(hr_page, live_stack):
    page = hr_page
    page.goto(page.base_url + "/hr")
    count = page.locator("#hr-kpi-count")
    everyone = fmt_number(live_query(live_stack, "SELECT count(*) FROM employees"), 0, "fr")
    in_sales = fmt_number(
        live_query(live_stack, "SELECT count(*) FROM employees WHERE department = 'Sales'"), 0, "fr"
    )
    expect(count).to_have_text(everyone)

    chips = page.locator("#hr-department-filter .dash-dropdown-value-item")
    page.locator("#hr-department-filter").click()
    page.get_by_role("button", name="Tout désélectionner").click()
    until(lambda: search_of(page) == "?department=-")  # nobody: a state of its own
    expect(count).to_have_text("0")
    page.get_by_role("option", name="Sales", exact=True).click()
    page.keyboard.press("Escape")
    until(lambda: search_of(page) == "?department=Sales")
    expect(count).to_have_text(in_sales)

    page.go_back()
    until(lambda: search_of(page) == "?department=-")
    expect(chips).to_have_count(0)
    expect(count).to_have_text("0")
    page.go_back()
    until(lambda: search_of(page) == "")
    expect(chips).to_have_text(DEPARTMENTS)
    expect(count).to_have_text(everyone)
    page.go_forward()
    page.go_forward()
    until(lambda: search_of(page) == "?department=Sales")
    expect(chips).to_have_text(["Sales"])
    expect(count).to_have_text(in_sales)


@pytest.mark.parametrize("hr_page", [1400], indirect=True)
def test_the_scatter_offers_box_and_lasso_even_after_zooming(hr_page, live_stack):
    page = hr_page
    page.goto(page.base_url + "/hr")
    count = page.locator("#hr-kpi-count")
    expect(count).not_to_have_text("…")
    everyone = count.text_content()
    modebar = page.locator("#hr-scatter .modebar")
    page.locator("#hr-scatter").hover()
    assert modebar.locator('[data-val="lasso"]').count() == 1
    modebar.locator('[data-val="zoom"]').click()  # the user zooms...
    page.locator("#hr-scatter").hover()
    modebar.locator('[data-val="select"]').click()  # ...and can select again
    drag = page.locator("#hr-scatter .nsewdrag").first
    box = drag.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.8, steps=8)
    page.mouse.up()
    expect(page.locator("#hr-selection-text")).to_contain_text("performance")
    expect(count).not_to_have_text(everyone)
