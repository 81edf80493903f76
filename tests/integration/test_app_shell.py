"""The shell: routes, pages drawn from the registry, language switch, cache backends and failures.

Nothing here depends on the database backend: it runs on SQLite only.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys

import pytest

from dashhub.app import create_app
from dashhub.i18n import fmt_money
from dashhub.registry import DASHBOARDS
from dashhub.shell import PAGE_CONTENT
from tests.conftest import TEST_SECRET, add_users, logged_in, login, make_settings, switch_locale
from tests.support import services
from tests.support.dash_requests import page_body, post_sales, sales_outputs

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

EVERYTHING = (["Est", "Nord", "Ouest", "Sud"], ["Produit A", "Produit B", "Produit C", "Produit D"])


def rendered(client, path: str, search: str = "") -> str:
    """The page drawn for an address, as JSON text."""
    response = client.post("/_dash-update-component", json=page_body(path, search))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return json.dumps(response.get_json()["response"][PAGE_CONTENT]["children"], ensure_ascii=False)


def test_health_answers_without_touching_anything(anonymous):
    response = anonymous.get("/health")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "OK"


def test_home_lists_the_dashboards_of_the_users_role_and_unknown_paths_say_not_found(client, hr_client):
    as_viewer = rendered(client, "/")
    assert "/sales" in as_viewer and "Ventes" in as_viewer
    assert "/hr" not in as_viewer
    as_hr = rendered(hr_client, "/")
    for dashboard in DASHBOARDS:
        if "hr" in dashboard.roles:
            assert dashboard.path in as_hr
    assert "Page introuvable" in rendered(client, "/nope")
    assert "Accès refusé" in rendered(client, "/hr")


def test_a_malformed_route_is_refused_cleanly(client):
    body = page_body("/")
    for forged in ({"pathname": 42}, "/sales", {"pathname": "/" * 5000, "search": ""}, {"search": []}):
        body["inputs"][0]["value"] = forged
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 400, forged
        assert "Traceback" not in response.get_data(as_text=True)


def test_language_switch_sets_a_cookie_and_returns_to_the_page(demo_app):
    client = logged_in(demo_app)
    response = switch_locale(client, "en", "http://localhost/sales?region=Nord")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sales?region=Nord"
    assert "dashhub_locale=en" in response.headers["Set-Cookie"]
    assert "Sales – interactive charts" in rendered(client, "/sales")
    out = sales_outputs(post_sales(client, *EVERYTHING, "2024-01-01", "2025-12-31"))
    assert out["sales-trend"]["layout"]["title"]["text"] == "Sales by region over time"
    assert out["sales-kpi-total"].startswith("€")


def test_the_language_follows_the_user_to_another_browser(demo_app):
    client = logged_in(demo_app)
    assert switch_locale(client, "en").status_code == 302
    other_browser = demo_app.server.test_client()
    response = login(other_browser, "viewer")
    assert "dashhub_locale=en" in response.headers["Set-Cookie"]
    assert "Sales – interactive charts" in rendered(other_browser, "/sales")
    # another user keeps the default, and an anonymous switch is remembered by the browser only
    assert "dashhub_locale" not in login(demo_app.server.test_client(), "admin").headers.get("Set-Cookie", "")
    assert switch_locale(demo_app.server.test_client(), "en").status_code == 302


def test_language_switch_never_redirects_off_site(client):
    response = switch_locale(client, "en", "https://evil.example/phish")
    assert response.headers["Location"] == "/"
    unknown = switch_locale(client, "xx")
    assert "dashhub_locale" not in unknown.headers.get("Set-Cookie", "")


def test_a_link_or_a_forged_form_cannot_change_the_language(client):
    """The switch is a POST with the page's CSRF token: a link on another site (GET) or a form
    posted from it (no token) changes nothing."""
    link = client.get("/locale/en")  # (Dash's page for an unknown address)
    assert "dashhub_locale" not in link.headers.get("Set-Cookie", "")
    forged = client.post("/locale", data={"code": "en"}, headers={"Referer": "https://evil.example/"})
    assert forged.status_code == 400
    assert "dashhub_locale" not in forged.headers.get("Set-Cookie", "")
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert '"locale-csrf"' in layout, "the navbar's switch carries a CSRF token"


FILL_CACHE = """
import sys
from dashhub.app import create_app
from dashhub.i18n import fmt_money
from dashhub.config import load_settings
from dashhub.domain.sales import filter_from_query
app = create_app(load_settings(path=None))
services = app.server.extensions["dashhub"]
with app.server.test_request_context():
    flt = filter_from_query({"start": ["2024-02-01"], "end": ["2024-02-29"]}, services.sales.options())
    print(services.sales.dashboard(flt).kpis.total)
"""


def test_filesystem_cache_is_shared_by_two_app_processes(settings):
    """Another process computes and stores; this one is served from the shared file cache."""
    env = {
        **os.environ,
        "DASHHUB_PATHS__DATA_DIR": str(settings.data_dir),
        "DASHHUB_DATABASE__URL": settings.database_url,
        "DASHHUB_SECRET_KEY": TEST_SECRET,
    }
    other = subprocess.run([sys.executable, "-c", FILL_CACHE], env=env, capture_output=True, text=True)
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() and other.stdout.strip() != "0.0"

    app = create_app(settings)
    services_here = app.server.extensions["dashhub"]
    calls = []
    original = services_here.sales._dashboard
    services_here.sales._dashboard = lambda flt: calls.append(flt) or original(flt)
    client = logged_in(app)
    out = sales_outputs(post_sales(client, *EVERYTHING, "2024-02-01", "2024-02-29"))
    assert calls == [], "served from the entry the other process wrote"
    assert out["sales-kpi-total"] == fmt_money(float(other.stdout.strip()), "fr")


def test_redis_cache_serves_the_dashboard(tmp_path, demo_url, redis_url):
    import redis

    prefix = f"dashhub-test-{tmp_path.name}:"
    settings = make_settings(
        tmp_path,
        demo_url,
        DASHHUB_CACHE__TYPE="redis",
        DASHHUB_CACHE__REDIS_URL=redis_url,
        DASHHUB_CACHE__KEY_PREFIX=prefix,
    )
    client = logged_in(create_app(settings))
    out = sales_outputs(post_sales(client, *EVERYTHING, "2024-01-01", "2025-12-31"))
    assert out["sales-trend"]["data"]
    connection = redis.Redis.from_url(redis_url)
    keys = connection.keys(prefix + "*")
    assert keys, "the dashboard data was not written to Redis"
    connection.delete(*connection.keys(f"*{prefix}*"))  # the rate limiter's keys too


def test_a_cache_that_is_down_degrades_to_computing(tmp_path, demo_url, caplog):
    settings = make_settings(
        tmp_path,
        demo_url,
        DASHHUB_CACHE__TYPE="redis",
        DASHHUB_CACHE__REDIS_URL=f"redis://127.0.0.1:{services.closed_port()}/0",
    )
    client = logged_in(create_app(settings))
    with caplog.at_level(logging.WARNING, logger="dashhub"):
        response = post_sales(client, *EVERYTHING, "2024-01-01", "2025-12-31")
    assert response.status_code == 200
    assert sales_outputs(response)["sales-trend"]["data"]
    assert any("computing without the cache" in r.getMessage() for r in caplog.records)


def test_an_empty_database_shows_how_to_load_data(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url)
    add_users(settings)  # upgrades the schema: users only, no data
    client = logged_in(create_app(settings))
    assert "dashhub load sales" in rendered(client, "/sales")


def test_ready_reports_each_dependency(anonymous):
    response = anonymous.get("/ready")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "worker": "ok"},
    }


def test_ready_is_503_when_the_cache_is_down(tmp_path, demo_url):
    settings = make_settings(
        tmp_path,
        demo_url,
        DASHHUB_CACHE__TYPE="redis",
        DASHHUB_CACHE__REDIS_URL=f"redis://127.0.0.1:{services.closed_port()}/0",
    )
    response = create_app(settings).server.test_client().get("/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "cache": "down", "worker": "ok"}


def test_ready_is_503_when_no_celery_worker_answers(tmp_path, demo_url):
    settings = make_settings(
        tmp_path,
        demo_url,
        DASHHUB_JOBS__BACKEND="celery",
        DASHHUB_JOBS__BROKER_URL=f"redis://127.0.0.1:{services.closed_port()}/0",
    )
    response = create_app(settings).server.test_client().get("/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "cache": "ok", "worker": "down"}


def test_browsers_get_compressed_bundles_and_long_lived_assets(client):
    """Compressed on the embedded default too (no nginx): scripts, styles, callbacks; not HTML
    (BREACH) nor the programs' API."""
    import re

    import brotli

    page = client.get("/sales", headers={"Accept": "text/html", "Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in page.headers
    html = page.get_data(as_text=True)
    bundle = next(src for src in re.findall(r'src="([^"]+)"', html) if "dash_renderer" in src)
    script = client.get(bundle, headers={"Accept-Encoding": "gzip, br"})
    assert script.headers["Content-Encoding"] == "br"
    assert "max-age=31536000" in script.headers["Cache-Control"]
    css = next(href for href in re.findall(r'href="([^"]+\.css\?m=[^"]+)"', html))
    style = client.get(css, headers={"Accept-Encoding": "gzip, deflate"})  # (plain HTTP: no br)
    assert style.headers["Content-Encoding"] == "deflate"
    assert style.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    plotly = client.get(
        "/_dash-component-suites/plotly/package_data/plotly.min.js", headers={"Accept-Encoding": "br"}
    )
    assert plotly.headers["Cache-Control"] == "no-cache" and plotly.headers["ETag"]
    # the partial bundle (scatter, bar, heatmap…), not plotly.py's full one
    body = (
        plotly.get_data()
        if plotly.headers.get("Content-Encoding") != "br"
        else brotli.decompress(plotly.get_data())
    )
    assert body.startswith(b"/**\n* plotly.js (cartesian - minified)") and len(body) < 2_000_000
    again = client.get(
        plotly.request.path, headers={"Accept-Encoding": "br", "If-None-Match": plotly.headers["ETag"]}
    )
    assert again.status_code == 304
    api = client.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in api.headers


def _switch_theme(client, theme: str, token_source: str = "/login"):
    page = client.get(token_source).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/theme", data={"theme": theme, "csrf_token": token})


def _html_tag(client, path: str) -> str:
    page = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    return re.search(r"<html[^>]*>", page).group(0)


def test_the_theme_follows_the_system_until_chosen_then_the_user(demo_app):
    client = logged_in(demo_app)
    assert _html_tag(client, "/sales") == '<html lang="fr" data-theme="auto">'  # theme.js decides
    response = _switch_theme(client, "dark")
    assert response.status_code == 302 and "dashhub_theme=dark" in response.headers["Set-Cookie"]
    assert 'data-bs-theme="dark"' in _html_tag(client, "/sales")
    assert 'data-bs-theme="dark"' in _html_tag(client, "/login")  # (the login page too)
    switch_locale(client, "en")  # another setting keeps this one
    other_browser = demo_app.server.test_client()
    cookies = login(other_browser, "viewer").headers.getlist("Set-Cookie")
    assert any("dashhub_theme=dark" in c for c in cookies) and any("dashhub_locale=en" in c for c in cookies)
    assert _switch_theme(client, "auto").status_code == 302
    assert 'data-theme="auto"' in _html_tag(client, "/sales")


def test_a_forged_or_unknown_theme_changes_nothing(client):
    assert "dashhub_theme" not in _switch_theme(client, "<script>").headers.get("Set-Cookie", "")
    forged = client.post("/theme", data={"theme": "dark"})
    assert forged.status_code == 400 and "dashhub_theme" not in forged.headers.get("Set-Cookie", "")
    client.set_cookie("dashhub_theme", '"><script>alert(1)</script>')
    assert _html_tag(client, "/login") == '<html lang="fr" data-theme="auto">'


def test_ventes_and_rh_say_how_to_read_them(demo_app):
    viewer = logged_in(demo_app)
    sales = rendered(viewer, "/sales")
    assert "Comment lire ce tableau de bord" in sales and "12 derniers mois" in sales
    hr = rendered(logged_in(demo_app, "hr"), "/hr")
    assert "Effacer la sélection" in hr and "intervalle de confiance à 95 %" in hr
