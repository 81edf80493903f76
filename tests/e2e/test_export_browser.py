"""A long export in the browser on the embedded default (jobs in-process): progress, then cancel."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from dashhub.db import make_engine
from dashhub.i18n import fmt_number
from tests.conftest import add_transactions
from tests.e2e.conftest import _free_port, _gunicorn, _start, _wait_for, init_demo, open_sales, server_env


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    """gunicorn on SQLite and the file cache (the embedded default), 2 million more sales rows: an
    export of everything runs for several seconds even on a fast machine, long enough to cancel."""
    data = tmp_path_factory.mktemp("embedded")
    env = server_env(data)
    init_demo(env)
    database_url = f"sqlite:///{data / 'dashhub.db'}"
    add_transactions(database_url, 2_000_000)
    engine = make_engine(database_url)
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
    context, page = open_sales(browser, embedded_server, "admin")
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
