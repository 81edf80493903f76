"""A long export in the browser on the embedded default (jobs in-process): progress, then cancel."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from dashhub.db import bump_version, make_engine
from dashhub.demo import insert_transactions
from dashhub.i18n import fmt_number
from dashhub.services.loading import refresh_sales_rollup
from tests.conftest import PASSWORDS, TEST_SECRET
from tests.e2e.conftest import _free_port, _gunicorn, _start, _wait_for, log_in


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    """gunicorn on SQLite and the file cache (the embedded default), 2 million more sales rows: an
    export of everything runs for several seconds even on a fast machine, long enough to cancel."""
    data = tmp_path_factory.mktemp("embedded")
    env = {
        **os.environ,
        "DASHHUB_PATHS__DATA_DIR": str(data),
        "DASHHUB_ENVIRONMENT": "production",
        "DASHHUB_SECRET_KEY": TEST_SECRET,
        "DASHHUB_ADMIN_PASSWORD": PASSWORDS["admin"],
        "GUNICORN_ACCESS_LOG": os.devnull,
    }
    env.pop("DASHHUB_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "dashhub", "init", "--demo"], env=env, check=True, capture_output=True
    )
    engine = make_engine(f"sqlite:///{data / 'dashhub.db'}")
    with engine.begin() as conn:
        insert_transactions(conn, 2_000_000)
        refresh_sales_rollup(conn)
        bump_version(conn, "sales")
    port = _free_port()
    app = _start(_gunicorn(port), env, data / "gunicorn.log")
    base = f"http://127.0.0.1:{port}"
    _wait_for(base + "/health")
    yield base, engine
    app.terminate()
    app.wait(timeout=20)
    engine.dispose()


def test_a_long_export_shows_progress_and_can_be_cancelled(browser, embedded_server):
    embedded_server, engine = embedded_server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    log_in(page, embedded_server, "admin", PASSWORDS["admin"])
    page.goto(embedded_server + "/sales")
    expect(page.locator("#sales-kpi-total")).not_to_have_text("…")
    start, cancel = page.locator("#sales-export-start"), page.locator("#sales-export-cancel")
    expect(cancel).to_be_disabled()

    start.click()
    expect(page.locator("#sales-export-progress")).to_be_visible()
    expect(start).to_be_disabled()
    expect(page.locator("#sales-export-count")).to_contain_text(" lignes", timeout=15_000)
    cancel.click()
    expect(page.locator("#sales-export-result")).to_contain_text("Export annulé.")
    expect(page.locator("#sales-export-progress")).to_be_hidden()
    expect(start).to_be_enabled()
    expect(cancel).to_be_disabled()

    # and run to the end on one region: a download link, as many rows as the table holds there
    page.goto(embedded_server + "/sales?region=Nord")
    expect(page.locator("#sales-kpi-total")).not_to_have_text("…")
    start.click()
    link = page.get_by_role("link", name="Télécharger le fichier CSV")
    expect(link).to_be_visible(timeout=60_000)
    with engine.connect() as conn:
        expected = conn.execute(text("SELECT count(*) FROM sales WHERE region = 'Nord'")).scalar_one()
    expect(page.locator("#sales-export-result")).to_contain_text(fmt_number(expected, locale="fr"))
    expect(page.locator("#sales-export-result")).to_contain_text("lignes exportées")
    context.close()
