"""Hardening, second pass (issue 13): bad input that used to answer 500, and files that were
served to anyone logged in. Each test failed before its fix."""

from __future__ import annotations

import re

import pytest

from dashhub.app import create_app
from dashhub.layouts.sales import IDS
from tests.conftest import PASSWORDS, login, make_settings
from tests.support.dash_requests import page_body, post_sales, sales_outputs

REGIONS = ["Est", "Nord", "Ouest", "Sud"]
PRODUCTS = ["Produit A", "Produit B", "Produit C", "Produit D"]


@pytest.mark.parametrize(("start", "end"), [("0001-01-01", "0001-01-05"), ("9999-12-25", "9999-12-31")])
def test_sales_at_the_ends_of_the_calendar_answer_without_a_server_error(client, start, end):
    response = post_sales(client, REGIONS, PRODUCTS, start, end)
    assert response.status_code == 200, response.status_code
    shown = sales_outputs(response)
    assert "—" in str(shown[IDS.KPI_GROWTH]), "no previous period before the first day: no growth"


@pytest.mark.parametrize("pathname", ["sales", "ml/monitoring", "", "?x=1"])
def test_a_router_pathname_without_its_slash_is_refused_not_failed(client, pathname):
    body = page_body("/sales")
    body["inputs"][0]["value"] = {"pathname": pathname, "search": ""}
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 400, response.status_code


@pytest.mark.parametrize("target", ["/sales\r\nSet-Cookie: evil=1", "/sales\nx", "/hr\x00", "/sales\x7f"])
def test_a_control_character_in_next_sends_home_after_login(anonymous, target):
    page = anonymous.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = anonymous.post(
        "/login",
        data={"username": "viewer", "password": PASSWORDS["viewer"], "csrf_token": token, "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "evil" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize(
    "path", ["/assets/__init__.py", "/assets/__pycache__/__init__.cpython-311.pyc", "/_reload-hash"]
)
def test_no_python_file_and_no_package_list_are_served(client, path):
    response = client.get(path)
    assert response.status_code == 404, (path, response.status_code)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_login_limit_counts_failed_attempts_not_logins(tmp_path, demo_url):
    app = create_app(make_settings(tmp_path, demo_url, DASHHUB_AUTH__LOGIN_RATE_LIMIT="3 per minute"))
    try:
        for _ in range(6):  # twice the limit, all right: all let in
            assert login(app.server.test_client(), "viewer").status_code == 302
        for _ in range(3):
            assert login(app.server.test_client(), "viewer", "wrong-password-123").status_code == 401
        assert login(app.server.test_client(), "viewer").status_code == 429, "three failures: wait"
    finally:
        app.server.extensions["dashhub"].engine.dispose()


def test_the_page_configuration_names_no_versions(client):
    page = client.get("/sales", headers={"Accept": "text/html"}).get_data(as_text=True)
    config = page.split('id="_dash-config"', 1)[1].split("</script>", 1)[0]
    assert '"url_base_pathname"' in config, "the configuration is there"
    for key in ("python_version", "dash_version", "plotly_version"):
        assert key not in config, key


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_login_limit_holds_across_workers(tmp_path, demo_url):
    """Two workers of one host (two apps on one data folder): failures on either count together."""
    settings = make_settings(tmp_path, demo_url, DASHHUB_AUTH__LOGIN_RATE_LIMIT="4 per minute")
    workers = [create_app(settings), create_app(settings)]
    try:
        codes = [
            login(workers[n % 2].server.test_client(), f"nobody-{n}", "wrong-password-123").status_code
            for n in range(6)
        ]
        assert codes == [401, 401, 401, 401, 429, 429], codes
    finally:
        for app in workers:
            app.server.extensions["dashhub"].engine.dispose()


def test_the_csp_lets_forms_and_connections_go_to_the_app_only(client):
    policy = client.get("/sales", headers={"Accept": "text/html"}).headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["form-action"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe-eval" not in policy
