"""A long export in the browser with jobs in-process (the embedded default's job manager):
progress, cancel, then an export that runs to the end."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashhub.i18n import fmt_number
from tests.e2e.conftest import (
    LiveStack,
    _free_port,
    _gunicorn,
    _start,
    _wait_for,
    init_demo,
    live_query,
    sales_page,
    server_env,
)
from tests.support import services
from tests.support.export_jobs import rows_held


@pytest.fixture(scope="module")
def in_process_jobs(tmp_path_factory):
    """gunicorn with jobs in a child process and the file cache, as on one machine, but on a
    PostgreSQL database of its own: the test holds the export on its first read of the rows (a
    table lock) so that Cancel surely meets a running job."""
    data = tmp_path_factory.mktemp("in-process-jobs")
    database_url, drop = services.create_database(services.postgres_admin_url())
    env = server_env(data, DASHHUB_DATABASE__URL=database_url)
    init_demo(env)
    port = _free_port()
    app = _start(_gunicorn(port), env, data / "gunicorn.log")
    base = f"http://127.0.0.1:{port}"
    _wait_for(base + "/health")
    yield LiveStack(base, database_url)
    app.terminate()
    app.wait(timeout=20)
    drop()


def test_a_long_export_shows_progress_and_can_be_cancelled(browser, in_process_jobs):
    stack = in_process_jobs
    with sales_page(browser, stack.base, "admin") as page:
        start, cancel = page.locator("#sales-export-start"), page.locator("#sales-export-cancel")
        expect(cancel).to_be_disabled()

        everything = live_query(stack, "SELECT count(*) FROM sales")
        with rows_held(stack.database_url):
            start.click()
            expect(page.locator("#sales-export-progress")).to_be_visible()
            expect(start).to_be_disabled()
            count = page.locator("#sales-export-count")
            expect(count).to_have_text(f"0 / {fmt_number(everything, locale='fr')} lignes")
            cancel.click()
            expect(page.locator("#sales-export-result")).to_contain_text("Export annulé.")
        expect(page.locator("#sales-export-progress")).to_be_hidden()
        expect(start).to_be_enabled()
        expect(cancel).to_be_disabled()

        # and run to the end on one region: a download link, as many rows as the table holds there
        page.goto(stack.base + "/sales?region=Nord")
        expect(page.locator("#sales-kpi-total")).not_to_have_text("…")
        start.click()
        link = page.get_by_role("link", name="Télécharger le fichier CSV")
        expect(link).to_be_visible(timeout=60_000)
        expected = live_query(stack, "SELECT count(*) FROM sales WHERE region = 'Nord'")
        result = page.locator("#sales-export-result")
        expect(result).to_contain_text(f"{fmt_number(expected, locale='fr')} lignes exportées")
