"""The pages under Dash's dev tools (server.debug: true, development only): the front end checks
the whole callback graph (two writers of one output, cycles) and shows every error it meets."""

from __future__ import annotations

import sys

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORDS
from tests.e2e.conftest import _free_port, _start, _wait_for, init_demo, log_in, server_env, toggle_region
from tests.e2e.test_navigation_browser import until


@pytest.fixture(scope="module")
def debug_server(tmp_path_factory):
    """`dashhub serve` with server.debug on (the development environment), on the embedded default."""
    data = tmp_path_factory.mktemp("debug")
    env = server_env(data, DASHHUB_ENVIRONMENT="development", DASHHUB_SERVER__DEBUG="true")
    init_demo(env)
    port = _free_port()
    server = _start([sys.executable, "-m", "dashhub", "serve", "--port", str(port)], env, data / "serve.log")
    base = f"http://127.0.0.1:{port}"
    _wait_for(base + "/health")
    yield base
    server.terminate()
    server.wait(timeout=20)


def no_front_end_error(page) -> None:
    """Dev tools are on, and they counted no error (a bad callback graph is one)."""
    expect(page.locator(".dash-debug-menu__outer")).to_have_count(1)
    expect(page.locator(".test-devtools-error-count")).to_have_count(0)
    expect(page.locator(".dash-fe-error__title")).to_have_count(0)


def test_the_dashboards_run_clean_under_dev_tools(browser, debug_server):
    from tests.e2e.conftest import watched_page

    with watched_page(browser, debug_server, 1400) as page:
        log_in(page, debug_server, "admin", PASSWORDS["admin"])
        page.goto(debug_server + "/sales")
        expect(page.locator("#sales-kpi-total")).not_to_have_text("…")
        toggle_region(page, "Nord")
        expect(page.locator("#sales-regions .dash-dropdown-value-item")).to_have_count(3)
        until(lambda: page.evaluate("location.search") == "?region=Est&region=Ouest&region=Sud")
        page.go_back()
        expect(page.locator("#sales-regions .dash-dropdown-value-item")).to_have_count(4)
        no_front_end_error(page)

        page.locator("nav a.nav-link", has_text="RH").click()
        expect(page.locator("#hr-kpi-count")).not_to_have_text("…")
        page.locator("#hr-table .ag-row").first.wait_for()
        no_front_end_error(page)
        page.locator("nav a.navbar-brand").click()
        page.locator(".dashboard-card").first.wait_for()
        no_front_end_error(page)
