"""Logging in as a user does, with the Content-Security-Policy enforced."""

from __future__ import annotations

from tests.conftest import PASSWORDS
from tests.e2e.conftest import log_in, trend_regions


def test_a_visitor_is_sent_to_the_login_page_and_back(anonymous_page):
    page = anonymous_page
    # the wrong password below is answered with 401, which Chromium reports in the console
    page.expected_errors += ["HTTP 401 on POST", "status of 401 (UNAUTHORIZED)"]
    page.goto(page.base_url + "/sales?region=Nord")
    page.wait_for_url("**/login?next=*")
    page.fill("#username", "viewer")
    page.fill("#password", "wrong password!")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Nom d’utilisateur ou mot de passe incorrect.")
    page.fill("#username", "viewer")
    page.fill("#password", PASSWORDS["viewer"])
    page.click("main button[type=submit]")
    page.wait_for_url("**/sales?region=Nord")
    page.wait_for_selector("#sales-trend .main-svg")
    assert trend_regions(page) == ["Nord"]


def test_logout_returns_to_the_login_page(anonymous_page):
    page = anonymous_page
    log_in(page, page.base_url, "admin", PASSWORDS["admin"])
    page.wait_for_selector(".dashboard-card")
    page.get_by_role("button", name="Déconnexion").click()
    page.wait_for_url("**/login")
    page.goto(page.base_url + "/")
    page.wait_for_url("**/login?next=*")
