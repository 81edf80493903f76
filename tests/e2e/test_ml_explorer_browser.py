"""The Explorateur ML as an analyst uses it, through nginx, with jobs on the Celery worker."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from dashhub.domain.ml import SEED_SCREEN, query_for
from tests.e2e.conftest import horizontal_overflow

KPIS = ("#ml-kpi-accuracy", "#ml-kpi-cv", "#ml-kpi-train", "#ml-kpi-test", "#ml-kpi-features")


def until(check, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def kpis(page) -> list[str]:
    for kpi in KPIS:
        expect(page.locator(kpi)).not_to_have_text("…", timeout=30_000)
    return [page.locator(kpi).text_content() for kpi in KPIS]


def choose(page, dropdown: str, option: str) -> None:
    page.locator(dropdown).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_dataset_model_and_a_parameter_update_the_results_and_the_address_shares_them(analyst_page, browser):
    page = analyst_page
    page.goto(page.base_url + "/ml/explorer")
    first = kpis(page)
    assert first[4] == "4"  # Iris by default
    choose(page, "#ml-dataset", "Wine (vins)")
    expect(page.locator("#ml-kpi-features")).to_have_text("13")
    wine = kpis(page)
    page.get_by_label("linear", exact=True).check()  # SVM kernel: a hyper-parameter
    until(lambda: "kernel=linear" in page.evaluate("location.search"))
    expect(page.locator("#ml-kpi-accuracy")).not_to_have_text("…")
    linear = kpis(page)
    assert linear != wine or linear[0] != first[0]
    address = page.evaluate("location.href")
    assert re.search(r"dataset=wine&model=svm&C=1&kernel=linear&test_size=20", address)

    other = page.context.new_page()  # the same address in a new page: the same numbers
    other.goto(address)
    assert kpis(other) == linear
    other.close()

    page.go_back()  # Back: the rbf kernel and its numbers again
    until(lambda: "kernel=rbf" in page.evaluate("location.search"))
    expect(page.get_by_label("rbf", exact=True)).to_be_checked()
    assert kpis(page) == wine


def test_the_course_screen_is_one_click_away(analyst_page):
    page = analyst_page
    page.goto(page.base_url + "/ml/explorer")
    kpis(page)
    page.get_by_role("link", name="Écran du cours").click()
    until(lambda: page.evaluate("location.search") == query_for(SEED_SCREEN))
    expect(page.locator("#ml-kpi-accuracy")).to_have_text("0,947")
    assert kpis(page)[2:] == ["455", "114", "30"]
    expect(page.locator("#ml-report")).to_contain_text("0,961")  # macro precision, as in the seed


def test_a_long_training_shows_its_progress_and_can_be_cancelled(analyst_page):
    page = analyst_page
    page.goto(
        page.base_url + "/ml/explorer?dataset=breast_cancer&model=gradient_boosting&n_estimators=500"
        "&max_depth=10&cv=10&seed=11"
    )
    expect(page.locator("#ml-progress")).to_be_visible(timeout=20_000)
    expect(page.locator("#ml-kpi-accuracy")).to_have_text("…")
    expect(page.locator("#ml-bar")).to_contain_text(" / ", timeout=30_000)  # steps done / all
    page.locator("#ml-cancel").click()
    expect(page.locator("#ml-progress")).to_be_hidden()
    expect(page.locator("#ml-status")).to_contain_text("Entraînement annulé")


def test_a_deployed_version_is_listed_as_served(analyst_page):
    page = analyst_page
    page.goto(page.base_url + "/ml/explorer" + query_for(SEED_SCREEN))
    kpis(page)
    page.get_by_role("tab", name="Déploiement et versions").click()
    page.locator("#ml-deploy-name").fill("e2e-cancer")
    page.locator("#ml-deploy").click()
    expect(page.locator("#ml-deploy-result")).to_contain_text("e2e-cancer version", timeout=30_000)
    row = page.locator("#ml-versions .ag-row", has_text="e2e-cancer")
    expect(row.first).to_contain_text("servie")
    expect(row.first).to_contain_text("0,947")


@pytest.mark.parametrize("analyst_page", [375], indirect=True)
def test_the_explorer_fits_a_phone(analyst_page):
    page = analyst_page
    page.goto(page.base_url + "/ml/explorer" + query_for(SEED_SCREEN))
    kpis(page)
    overflow, sticking_out = horizontal_overflow(page)
    assert overflow <= 1, sticking_out
    page.screenshot(path="test-artifacts/ml-explorer-375.png", full_page=True)
