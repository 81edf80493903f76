"""Large exports as background jobs on the embedded default (a child process, diskcache)."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import psutil
import pytest

from dashhub.app import create_app
from dashhub.db import make_engine
from dashhub.domain.query import parse_search
from dashhub.domain.sales import filter_from_query
from dashhub.jobs import JobTicket
from tests.conftest import logged_in, make_settings, session_of
from tests.support.export_jobs import (
    ExportRun,
    begin,
    cancel,
    download_href,
    page_ticket,
    poll,
    rows_held,
    start_export,
    text_of,
    wait_for_progress,
)

NORD_DECEMBER = "?region=Nord&start=2025-12-01&end=2025-12-31"


def raw_sales(database_url: str) -> pd.DataFrame:
    engine = make_engine(database_url)
    frame = pd.read_sql("SELECT date, region, product, amount FROM sales", engine)
    engine.dispose()
    frame["date"] = pd.to_datetime(frame["date"]).dt.date.astype(str)
    return frame


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def database_of(app) -> str:
    return app.server.extensions["dashhub"].settings.database_url


def test_sales_export_job_writes_exactly_the_filtered_rows(app, client):
    run = begin(client, "sales", NORD_DECEMBER, page_ticket(client, "sales", NORD_DECEMBER))
    result = poll(client, run)

    raw = raw_sales(database_of(app))
    expected = raw[(raw.region == "Nord") & (raw.date >= "2025-12-01") & (raw.date <= "2025-12-31")]
    assert f"{len(expected)} lignes exportées" in text_of(result)
    assert " ko)" in text_of(result), "a small file is told in kilobytes"
    assert run.progress[-1]["sales-export-bar.value"] == 100
    assert run.progress[-1]["sales-export-count.children"] == f"{len(expected)} / {len(expected)} lignes"
    download = client.get(download_href(result))
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    # the file's name records the filters (every product: not listed)
    assert download.headers["Content-Disposition"].endswith("filename=ventes_2025-12-01_2025-12-31_Nord.csv")
    assert download.headers["Cache-Control"] == "no-store"
    rows = csv_rows(download)
    assert rows[0] == ["date", "region", "product", "amount"]
    wanted = sorted([d, r, p, f"{a:.2f}"] for d, r, p, a in expected.itertuples(index=False, name=None))
    assert sorted(rows[1:]) == wanted


def test_hr_export_job_follows_the_filters(app, hr_client):
    client = hr_client
    query = "?department=IT&department=Finance"
    result = poll(client, begin(client, "hr", query, page_ticket(client, "hr")))
    engine = make_engine(database_of(app))
    raw = pd.read_sql("SELECT employee_id, department FROM employees", engine)
    engine.dispose()
    expected = raw[raw.department.isin(["IT", "Finance"])]
    rows = csv_rows(client.get(download_href(result)))
    assert rows[0][:2] == ["employee_id", "department"]
    assert sorted(int(r[0]) for r in rows[1:]) == sorted(expected.employee_id.tolist())
    assert {r[1] for r in rows[1:]} == {"IT", "Finance"}


SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_a_viewer_cannot_start_the_hr_export(client):
    # the dispatch guard decides from the session before any job is queued
    assert start_export(client, "hr", "", "any-ticket").status_code == 403


@SQLITE_ONLY
def test_a_forged_or_foreign_ticket_is_refused_by_the_job(client, hr_client):
    forged = poll(client, begin(client, "sales", "", "forged.ticket.value"))
    assert "Cette page a expiré" in text_of(forged)
    hr_ticket = page_ticket(hr_client, "hr")
    # an HR page's ticket does not open the sales export (nor the other way round)
    foreign = poll(hr_client, begin(hr_client, "sales", "", hr_ticket))
    assert "Cette page a expiré" in text_of(foreign)


@SQLITE_ONLY
def test_only_the_user_who_asked_downloads_the_export(app, client, anonymous):
    result = poll(client, begin(client, "sales", NORD_DECEMBER, page_ticket(client, "sales")))
    href = download_href(result)
    assert client.get(href).status_code == 200
    assert session_of(app, "admin").get(href).status_code == 404
    assert anonymous.get(href).status_code == 401
    traversal = client.get("/export/files/..%2F..%2Fetc%2Fpasswd")
    assert "attachment" not in traversal.headers.get("Content-Disposition", "")
    assert "root:" not in traversal.get_data(as_text=True)
    assert client.get("/export/files/ABC").status_code == 404
    assert client.get("/export/files/" + "0" * 32).status_code == 404


@SQLITE_ONLY
def test_export_audit_names_the_user_and_the_rows(demo_app, settings):
    client = logged_in(demo_app)
    poll(client, begin(client, "sales", NORD_DECEMBER, page_ticket(client, "sales")))
    engine = make_engine(settings.database_url)
    events = pd.read_sql("SELECT event, username, detail FROM audit_events", engine)
    engine.dispose()
    exports = events[events.event == "export"]
    assert exports.username.tolist() == ["viewer"]
    detail = json.loads(exports.detail.iloc[0])
    assert detail["background"] is True
    assert detail["rows"] == 124


@SQLITE_ONLY
def test_an_empty_filter_says_there_is_nothing_to_export(client):
    result = poll(client, begin(client, "sales", "?region=-", page_ticket(client, "sales")))
    assert "Rien à exporter" in text_of(result)
    assert download_href(result) is None


@SQLITE_ONLY
def test_an_export_past_its_time_limit_stops_and_says_so(tmp_path, demo_url):
    settings = make_settings(tmp_path, demo_url, DASHHUB_JOBS__TIMEOUT_SECONDS="0.0001")
    client = logged_in(create_app(settings))
    result = poll(client, begin(client, "sales", "", page_ticket(client, "sales")))
    assert "a dépassé 0 s et a été arrêté" in text_of(result)
    assert download_href(result) is None
    assert not list((settings.jobs_dir / "exports").glob("*.csv*")), "no partial file is left"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_cancel_stops_the_running_export(demo_app, settings):
    """The job is held on its first read of the rows (a table lock), so it is surely still
    running when Cancel arrives: no race with a fast machine."""
    client = logged_in(demo_app)
    with rows_held(settings.database_url):
        run = begin(client, "sales", "", page_ticket(client, "sales"))
        wait_for_progress(client, run)
        assert run.progress[0]["sales-export-count.children"] == "0 / 11\u202f696 lignes", "the total at once"
        pid = int(run.handles["job"].split("~")[0])
        assert psutil.pid_exists(pid)
        assert cancel(client, run).status_code in (200, 204)
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert poll(client, run) is None, "a cancelled job gives no result"
    exports = demo_app.server.extensions["dashhub"].exports.directory
    assert not list(exports.glob("*.csv*")), "nothing was published, nothing partial is left"


@pytest.mark.parametrize(
    "query",
    ["", NORD_DECEMBER, "?region=Sud&region=Est&product=Produit+B", "?start=2025-02-10&end=2025-02-10"],
)
def test_the_progress_total_counts_exactly_the_rows_an_export_writes(app, query):
    sales = app.server.extensions["dashhub"].sales
    with app.server.test_request_context():
        flt = filter_from_query(parse_search(query), sales.options())
        counted = sales.count_rows(flt)
    raw = raw_sales(database_of(app))
    inside = raw[
        raw.region.isin(flt.regions)
        & raw["product"].isin(flt.products)
        & (raw.date >= flt.start.isoformat())
        & (raw.date <= flt.end.isoformat())
    ]
    assert counted == len(inside) > 0


@SQLITE_ONLY
def test_formula_cells_are_escaped_in_the_export(demo_app, settings, tmp_path):
    from click.testing import CliRunner

    from dashhub.cli import main

    path = tmp_path / "formula.csv"
    path.write_text('date,region,product,amount\n2025-12-24,Nord,"=HYPERLINK(""http://x"")",5\n')
    env = {"DASHHUB_DATABASE__URL": settings.database_url, "DASHHUB_PATHS__DATA_DIR": str(settings.data_dir)}
    assert CliRunner().invoke(main, ["load", "sales", str(path)], env=env).exit_code == 0
    client = logged_in(demo_app)
    query = "?start=2025-12-24&end=2025-12-24"
    rows = csv_rows(
        client.get(download_href(poll(client, begin(client, "sales", query, page_ticket(client, "sales")))))
    )
    formula = [row for row in rows if "HYPERLINK" in row[2]]
    assert [row[2] for row in formula] == ['\'=HYPERLINK("http://x")']


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_jobs_handles_work_only_for_its_user_and_its_dashboard(demo_app, settings):
    """An HR user's export handles (as an access log would have shown them) cancel nothing and
    read nothing for a viewer, nor from another dashboard's callback for the HR user herself."""
    hr, viewer = logged_in(demo_app, "hr"), logged_in(demo_app, "viewer")
    services = demo_app.server.extensions["dashhub"]
    # the ticket the HR page carries, signed without drawing the page: a worker that has read
    # the employees keeps them, and its job would not wait on the table lock below
    hr_user = next(u for u in (services.users.get(i) for i in range(1, 10)) if u and u.username == "hr")
    ticket = services.signer.sign(JobTicket(hr_user.id, "hr", "fr"))
    with rows_held(settings.database_url, "employees"):
        run = begin(hr, "hr", "", ticket)  # the job waits on the lock, before its first row
        pid = int(run.handles["job"].split("~")[0])
        # Dash's own cancel callback of RH: the permission check covers it
        assert cancel(viewer, run).status_code == 403
        # the viewer's own (sales) cancel button, with the HR job: not her job
        as_sales = ExportRun("sales", run.body, run.handles)
        cancel(viewer, as_sales)
        # the HR user's sales cancel button, with her HR job: not that dashboard's job
        cancel(hr, as_sales)
        assert psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    sales_body = begin(viewer, "sales", NORD_DECEMBER, page_ticket(viewer, "sales")).body
    stolen = ExportRun("sales", sales_body, run.handles)
    assert poll(viewer, stolen, seconds=3) is None, "a viewer reads no HR result"
    assert poll(hr, stolen, seconds=3) is None, "the sales callback reads no HR result"
    result = poll(hr, run)
    assert "lignes exportées" in text_of(result), "the result waited for its owner"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_exports_are_bounded_per_user_and_a_killed_job_leaves_nothing(tmp_path, demo_url):
    """One running export per user here: the second is refused with a message, another user
    still exports; a job killed on cancel leaves no claim and no partial file after clean-up."""
    import time

    settings = make_settings(tmp_path, demo_url, DASHHUB_JOBS__MAX_EXPORTS_PER_USER="1")
    app = create_app(settings)
    exports = app.server.extensions["dashhub"].exports
    viewer, analyst = logged_in(app, "viewer"), logged_in(app, "analyst")
    ticket = page_ticket(viewer, "sales")
    try:
        with rows_held(settings.database_url):
            first = begin(viewer, "sales", "", ticket)
            deadline = time.monotonic() + 20
            while not list(exports.directory.glob("*.claim")) and time.monotonic() < deadline:
                time.sleep(0.05)
            second = poll(viewer, begin(viewer, "sales", NORD_DECEMBER, ticket))
            assert "Vous avez déjà 1 export(s) en cours" in text_of(second)
            assert cancel(viewer, first).status_code in (200, 204)
        other = poll(analyst, begin(analyst, "sales", NORD_DECEMBER, page_ticket(analyst, "sales")))
        assert "lignes exportées" in text_of(other)
        exports.remove_abandoned()
        assert not list(exports.directory.glob("*.claim")) and not list(exports.directory.glob("*.part"))
        again = poll(viewer, begin(viewer, "sales", NORD_DECEMBER, ticket))
        assert "lignes exportées" in text_of(again), "the slot is free again"
    finally:
        app.server.extensions["dashhub"].engine.dispose()


@SQLITE_ONLY
def test_french_spreadsheet_csv_has_semicolons_decimal_commas_and_a_bom(app, client):
    """The « CSV pour tableur français » choice: what French Excel opens as is; same rows."""
    result = poll(client, begin(client, "sales", NORD_DECEMBER, page_ticket(client, "sales"), "excel-fr"))
    body = client.get(download_href(result)).get_data()
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["date", "region", "product", "amount"]
    raw = raw_sales(database_of(app))
    expected = raw[(raw.region == "Nord") & (raw.date >= "2025-12-01") & (raw.date <= "2025-12-31")]
    assert len(rows) - 1 == len(expected)
    amounts = [float(r[3].replace(",", ".")) for r in rows[1:]]
    assert sum(amounts) == pytest.approx(expected.amount.sum(), abs=0.01)
    assert any("," in r[3] for r in rows[1:]) and not any("." in r[3] for r in rows[1:])


@SQLITE_ONLY
def test_an_unknown_csv_format_is_refused(client):
    result = poll(client, begin(client, "sales", NORD_DECEMBER, page_ticket(client, "sales"), "xlsx; rm -rf"))
    assert "ne sont pas valides" in text_of(result) or "invalid" in text_of(result).lower()
