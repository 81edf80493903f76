"""The shell's pure parts and the job plumbing, without a server: routes, view state, chart
toolbars, who may open what, signed job tickets, export files on disk, stopping a job."""

from __future__ import annotations

import os
import signal
import time
from types import SimpleNamespace

import pytest
from dash.exceptions import PreventUpdate

from dashhub.app import route_of
from dashhub.auth.web import Access
from dashhub.config import load_settings
from dashhub.jobs import JobStopped, JobTicket, TicketSigner, stop_on_sigterm
from dashhub.layouts.common import graph_config, view_state, view_state_id
from dashhub.registry import DASHBOARDS, allowed_roles, by_key, find
from dashhub.services.export_files import ExportFiles
from dashhub.validation import BadInput, choices, iso_date


def test_a_route_is_read_exactly_and_anything_else_is_refused():
    assert route_of({"pathname": "/sales", "search": "?region=Nord", "at": 1}) == ("/sales", "?region=Nord")
    assert route_of({"pathname": "/", "search": None}) == ("/", "")
    with pytest.raises(PreventUpdate):
        route_of(None)
    for forged in ("/sales", {"pathname": 1}, {"pathname": "/", "search": ["x"]}, {"pathname": "/" * 3000}):
        with pytest.raises(BadInput):
            route_of(forged)


def test_the_view_state_says_whether_a_change_is_the_users():
    assert view_state("?region=Nord", None) == {"search": "?region=Nord", "replace": True}
    assert view_state("?region=Nord", "sales-regions") == {"search": "?region=Nord", "replace": False}
    stamped = {"search": "", "replace": False, "at": 17.5}
    assert view_state("", "x", 17.5) == stamped and view_state("", "x", "17") == {
        "search": "",
        "replace": False,
    }
    assert view_state_id("hr") == {"type": "view-state", "dashboard": "hr"}


def test_charts_never_offer_to_upload_their_data_and_only_the_scatter_selects():
    plain, selectable = graph_config("x", "fr"), graph_config("x", "fr", selectable=True)
    for config in (plain, selectable):
        assert config["showSendToCloud"] is False
        assert config["showEditInChartStudio"] is False
        assert config["displaylogo"] is False
    assert {"lasso2d", "select2d"} <= set(plain["modeBarButtonsToRemove"])
    assert selectable["modeBarButtonsToRemove"] == []
    assert graph_config("x", "fr")["locale"] == "fr"


def test_the_registry_finds_each_dashboard_by_path_and_key():
    for dashboard in DASHBOARDS:
        assert find(dashboard.path) is dashboard
        assert find(dashboard.path + "/") is dashboard
        assert by_key(dashboard.key) is dashboard
    assert find("/nowhere") is None


def _user(role: str | None):
    return SimpleNamespace(is_authenticated=role is not None, role=role)


def test_permissions_come_from_the_registry_unless_configured():
    access = Access(load_settings(path=None, environ={}))
    sales, hr = by_key("sales"), by_key("hr")
    assert access.can_open(_user("viewer"), sales) and not access.can_open(_user("viewer"), hr)
    assert access.can_open(_user("hr"), hr)
    assert not access.can_open(_user(None), sales), "anonymous opens nothing"
    configured = load_settings(path=None, environ={"DASHHUB_AUTH__PERMISSIONS": '{"sales": ["admin"]}'})
    assert allowed_roles(sales, configured.auth.permissions) == {"admin"}
    assert [d.key for d in Access(configured).visible(_user("viewer"))] == ["explore"]


def test_job_tickets_are_signed_and_expire():
    signer = TicketSigner("a-secret-long-enough-for-the-test-0123456789")
    ticket = JobTicket(7, "sales", "fr")
    token = signer.sign(ticket)
    assert signer.verify(token) == ticket
    assert TicketSigner("another-secret-of-the-same-length-0123456789").verify(token) is None
    assert signer.verify(token[:-2] + "xx") is None
    assert signer.verify(None) is None and signer.verify("x" * 600) is None
    time.sleep(1.1)
    assert signer.verify(token, max_age=0) is None


def test_finished_exports_expire_and_abandoned_partial_files_go_after_the_job_time_limit(tmp_path):
    files = ExportFiles(tmp_path, keep_hours=1, job_seconds=60)
    export_id = files.new_id()
    files.partial_path(export_id).write_text("a,b\n")
    done = files.publish(export_id, owner=3, dashboard="sales", filename="ventes.csv", rows=1)
    assert files.find(export_id) == done
    running = files.partial_path(files.new_id())
    running.write_text("x")
    abandoned = files.partial_path(files.new_id())
    abandoned.write_text("x")
    old = time.time() - 200  # older than 60 s of job + 120 s of margin
    os.utime(abandoned, (old, old))
    assert files.remove_expired() == 1
    assert running.exists() and not abandoned.exists() and done.path.exists()
    very_old = time.time() - 2 * 3600
    os.utime(done.path, (very_old, very_old))
    assert files.find(export_id) is None
    assert files.remove_expired() == 1
    assert files.find("../../etc/passwd") is None


def test_a_cancel_signal_stops_the_job_so_that_it_cleans_up():
    cleaned = []
    with pytest.raises(JobStopped), stop_on_sigterm():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            cleaned.append(True)
    assert cleaned == [True]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "the previous handler is back"


@pytest.mark.parametrize(
    ("value", "ok"),
    [(None, ()), (["a", "b", "a"], ("a", "b")), ("a", None), ([1], None), (["z"], None), (["a"] * 201, None)],
)
def test_choices_accept_only_a_short_list_of_known_strings(value, ok):
    if ok is None:
        with pytest.raises(BadInput):
            choices(value, ["a", "b"], "field")
    else:
        assert choices(value, ["a", "b"], "field") == ok


def test_dates_are_iso_and_bounded_in_length():
    assert str(iso_date("2025-12-24T10:00:00", "d")) == "2025-12-24"
    for bad in ("24/12/2025", "2025-02-30", None, 20251224, "9" * 40):
        with pytest.raises(BadInput):
            iso_date(bad, "d")
