"""PostgreSQL stops under a logged-in browser: a clear banner, /ready 503, no worker crash, recovery."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import psutil
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    _free_port,
    _gunicorn,
    _start,
    _wait_for,
    add_user,
    failing_callbacks,
    init_demo,
    sales_page,
    server_env,
    toggle_region,
)
from tests.support import services


@pytest.fixture
def app_on_throwaway_postgres(tmp_path):
    """gunicorn (two workers) on a PostgreSQL server of the test's own, which it may stop."""
    postgres = services.ThrowawayPostgres()
    postgres.start()
    url, drop = services.create_database(postgres.url)
    env = server_env(tmp_path, DASHHUB_DATABASE__URL=url)
    init_demo(env)
    add_user(env, "viewer")
    port = _free_port()
    app = _start(_gunicorn(port), env, tmp_path / "gunicorn.log")
    base = f"http://127.0.0.1:{port}"
    _wait_for(base + "/health")
    yield base, postgres, app
    app.terminate()
    app.wait(timeout=20)
    postgres.start()
    drop()
    postgres.remove()


def _ready(base: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(base + "/ready", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_database_down_shows_a_banner_and_recovers(browser, app_on_throwaway_postgres):
    base, postgres, app = app_on_throwaway_postgres
    # the callbacks answer 503 while the database is down: the browser logs them, on purpose
    with sales_page(browser, base, "viewer", failing_callbacks(503)) as page:
        total = page.locator("#sales-kpi-total")
        workers = sorted(p.pid for p in psutil.Process(app.pid).children())
        banner = page.locator("#request-alert")

        postgres.stop()
        toggle_region(page, "Est")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("La base de données ne répond pas")
        # the regions now say « without Est », the charts still show Est: the banner says so
        expect(banner).to_contain_text("les graphiques montrent encore votre choix précédent")
        status, body = _ready(base)
        assert status == 503
        assert body["checks"]["database"] == "down"

        postgres.start()
        before = total.text_content()
        toggle_region(page, "Ouest")
        expect(banner).to_be_hidden()
        expect(total).not_to_have_text(before)
        assert _ready(base)[0] == 200
        assert sorted(p.pid for p in psutil.Process(app.pid).children()) == workers, "no worker crashed"
