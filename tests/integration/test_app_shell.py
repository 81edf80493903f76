"""The shell: routes, registry wiring, language switch, cache backends and their failures."""

from __future__ import annotations

import json
import logging

import pytest

from dashhub.app import create_app
from dashhub.registry import DASHBOARDS
from tests.conftest import add_users, load_demo, logged_in, login, make_settings
from tests.support import services
from tests.support.dash_requests import page_body, post_sales, sales_outputs

EVERYTHING = (["Est", "Nord", "Ouest", "Sud"], ["Produit A", "Produit B", "Produit C", "Produit D"])


def test_health_answers_without_touching_anything(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "OK"


def test_every_dashboard_of_the_registry_has_its_callbacks_wired(client):
    dependencies = client.get("/_dash-dependencies").get_json()
    outputs = " ".join(d["output"] for d in dependencies)
    for dashboard in DASHBOARDS:
        assert f"{dashboard.key}-" in outputs
    assert "page-content.children" in outputs


def test_home_lists_the_dashboards_of_the_users_role_and_unknown_paths_say_not_found(demo_app, client):
    def home(c) -> str:
        return json.dumps(
            c.post("/_dash-update-component", json=page_body("/")).get_json(), ensure_ascii=False
        )

    as_viewer = home(client)
    assert "/sales" in as_viewer and "Ventes" in as_viewer
    assert "/hr" not in as_viewer
    as_hr = home(logged_in(demo_app, "hr"))
    for dashboard in DASHBOARDS:
        assert dashboard.path in as_hr
    missing = json.dumps(
        client.post("/_dash-update-component", json=page_body("/nope")).get_json(), ensure_ascii=False
    )
    assert "Page introuvable" in missing


def test_language_switch_sets_a_cookie_and_returns_to_the_page(client):
    response = client.get("/locale/en", headers={"Referer": "http://localhost/sales?region=Nord"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/sales?region=Nord"
    assert "dashhub_locale=en" in response.headers["Set-Cookie"]
    page = json.dumps(
        client.post("/_dash-update-component", json=page_body("/sales")).get_json(), ensure_ascii=False
    )
    assert "Sales – interactive charts" in page
    out = sales_outputs(post_sales(client, *EVERYTHING, "2024-01-01", "2025-12-31"))
    assert out["sales-trend"]["layout"]["title"]["text"] == "Sales by region over time"
    assert out["sales-kpi-total"].startswith("€")


def test_the_language_follows_the_user_to_another_browser(demo_app, client):
    add_users(demo_app.server.extensions["dashhub"].settings)
    assert client.get("/locale/en").status_code == 302
    other_browser = demo_app.server.test_client()
    response = login(other_browser, "viewer")
    assert "dashhub_locale=en" in response.headers["Set-Cookie"]
    page = json.dumps(
        other_browser.post("/_dash-update-component", json=page_body("/sales")).get_json(), ensure_ascii=False
    )
    assert "Sales – interactive charts" in page
    # another user keeps the default, and an anonymous switch is remembered by the browser only
    assert "dashhub_locale" not in login(demo_app.server.test_client(), "admin").headers.get("Set-Cookie", "")
    assert demo_app.server.test_client().get("/locale/en").status_code == 302


def test_language_switch_never_redirects_off_site(client):
    response = client.get("/locale/en", headers={"Referer": "https://evil.example/phish"})
    assert response.headers["Location"] == "/"
    unknown = client.get("/locale/xx")
    assert "dashhub_locale" not in unknown.headers.get("Set-Cookie", "")


def test_filesystem_cache_is_shared_by_two_app_processes(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url)
    load_demo(settings.database_url)
    first, second = create_app(settings), create_app(settings)
    flt_args = (*EVERYTHING, "2024-02-01", "2024-02-29")
    assert post_sales(logged_in(first), *flt_args).status_code == 200
    from dashhub.callbacks.sales import filter_from_inputs

    services_b = second.server.extensions["dashhub"]
    with second.server.app_context():
        flt = filter_from_inputs(*flt_args, services_b.sales.options())
        calls = []
        original = services_b.sales._dashboard
        services_b.sales._dashboard = lambda f: calls.append(f) or original(f)
        services_b.sales.dashboard(flt)
    assert calls == []  # served from the entry the first app wrote


def test_redis_cache_serves_the_dashboard(tmp_path, database_url, redis_url):
    import redis

    prefix = f"dashhub-test-{tmp_path.name}:"
    settings = make_settings(
        tmp_path,
        database_url,
        DASHHUB_CACHE__TYPE="redis",
        DASHHUB_CACHE__REDIS_URL=redis_url,
        DASHHUB_CACHE__KEY_PREFIX=prefix,
    )
    load_demo(settings.database_url)
    client = logged_in(create_app(settings))
    out = sales_outputs(post_sales(client, *EVERYTHING, "2024-01-01", "2025-12-31"))
    assert out["sales-trend"]["data"]
    connection = redis.Redis.from_url(redis_url)
    keys = connection.keys(prefix + "*")
    assert keys, "the dashboard data was not written to Redis"
    connection.delete(*connection.keys(f"*{prefix}*"))  # the rate limiter's keys too


def test_a_cache_that_is_down_degrades_to_computing(tmp_path, database_url, caplog):
    settings = make_settings(
        tmp_path,
        database_url,
        DASHHUB_CACHE__TYPE="redis",
        DASHHUB_CACHE__REDIS_URL=f"redis://127.0.0.1:{services.closed_port()}/0",
    )
    load_demo(settings.database_url)
    client = logged_in(create_app(settings))
    with caplog.at_level(logging.WARNING, logger="dashhub"):
        response = post_sales(client, *EVERYTHING, "2024-01-01", "2025-12-31")
    assert response.status_code == 200
    assert sales_outputs(response)["sales-trend"]["data"]
    assert any("computing without the cache" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_empty_database_shows_how_to_load_data(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url)
    client = logged_in(create_app(settings))
    page = json.dumps(
        client.post("/_dash-update-component", json=page_body("/sales")).get_json(), ensure_ascii=False
    )
    assert "dashhub load sales" in page


def test_ready_reports_each_dependency(anonymous):
    response = anonymous.get("/ready")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "worker": "ok"},
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ready_is_503_when_the_cache_is_down(tmp_path, database_url):
    settings = make_settings(
        tmp_path,
        database_url,
        DASHHUB_CACHE__TYPE="redis",
        DASHHUB_CACHE__REDIS_URL=f"redis://127.0.0.1:{services.closed_port()}/0",
    )
    response = create_app(settings).server.test_client().get("/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "cache": "down", "worker": "ok"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ready_is_503_when_no_celery_worker_answers(tmp_path, database_url):
    settings = make_settings(
        tmp_path,
        database_url,
        DASHHUB_JOBS__BACKEND="celery",
        DASHHUB_JOBS__BROKER_URL=f"redis://127.0.0.1:{services.closed_port()}/0",
    )
    response = create_app(settings).server.test_client().get("/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "cache": "ok", "worker": "down"}
