"""The dark theme: the system's when the user chose « auto », charts and table included."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS

LIGHT_TEXT = "rgb(222, 226, 230)"  # (#dee2e6)


def _computed(page, selector: str, prop: str) -> str:
    return page.locator(selector).first.evaluate(f"(node) => getComputedStyle(node).{prop}")


def test_auto_follows_the_system_and_charts_turn_dark(hr_page):
    page = hr_page
    page.emulate_media(color_scheme="dark")
    page.goto(page.base_url + "/hr")
    page.locator("#hr-heatmap .main-svg").first.wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    root = page.locator("html")
    expect(root).to_have_attribute("data-theme", "auto")
    expect(root).to_have_attribute("data-bs-theme", "dark")
    assert _computed(page, "body", "backgroundColor") == "rgb(22, 24, 27)"
    assert _computed(page, "#hr-salary .gtitle", "fill") == LIGHT_TEXT
    assert _computed(page, "#hr-salary .xtick text", "fill") == LIGHT_TEXT
    assert _computed(page, "#hr-table .ag-root-wrapper", "backgroundColor") == "rgb(33, 37, 41)"
    (ARTIFACTS / "screens").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "screens" / "hr-dark.png"), full_page=True)
    serious = [
        f"{v['id']}: {node['target']}"
        for v in Axe().run(page).response["violations"]
        for node in v["nodes"]
        if v["impact"] in ("critical", "serious")
    ]
    assert serious == []
    # the system turns light: the page follows without a reload
    page.emulate_media(color_scheme="light")
    expect(root).to_have_attribute("data-bs-theme", "light")


def test_a_chosen_theme_wins_over_the_system(hr_page):
    page = hr_page
    page.emulate_media(color_scheme="dark")
    page.goto(page.base_url + "/sales")
    page.locator("#sales-trend .main-svg").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Thème clair").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")
    expect(page.get_by_role("button", name="Thème clair")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Thème du système").click()  # (back to auto for the other tests)
    page.wait_for_load_state("networkidle")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
