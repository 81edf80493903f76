"""Drive a background export the way Dash's renderer does: start, poll, cancel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg

from dashhub.layouts.common import ExportIds
from tests.support.dash_requests import callback_body, find_prop, page_body

PATH = "/_dash-update-component"
QUERY_STATE = {"sales": ("sales-query", "data"), "hr": ("hr-query", "data")}


@dataclass
class ExportRun:
    dashboard: str
    body: dict
    handles: dict
    progress: list = field(default_factory=list)


def page_ticket(client, dashboard: str, search: str = "") -> str | None:
    """The export ticket the server signed into the dashboard's page for this session."""
    page = client.post(PATH, json=page_body(f"/{dashboard}", search)).get_json()
    return find_prop(page, ExportIds(dashboard).ticket, "data")


def export_body(dashboard: str, query: str, ticket, dialect: str = "standard") -> dict:
    ids = ExportIds(dashboard)
    component, prop = QUERY_STATE[dashboard]
    return callback_body(
        [(ids.result, "children")],
        [(ids.start, "n_clicks", 1)],
        [(component, prop, query), (ids.ticket, "data", ticket), (ids.dialect, "value", dialect)],
    )


def start_export(client, dashboard: str, query: str, ticket):
    """The response to the start request (200 with signed handles, or a refusal)."""
    return client.post(PATH, json=export_body(dashboard, query, ticket))


def begin(client, dashboard: str, query: str, ticket, dialect: str = "standard") -> ExportRun:
    body = export_body(dashboard, query, ticket, dialect)
    response = client.post(PATH, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    handles = response.get_json()
    assert {"cacheKey", "job"} <= set(handles)
    return ExportRun(dashboard, body, {"cacheKey": handles["cacheKey"], "job": handles["job"]})


def poll(client, run: ExportRun, seconds: float = 60):
    """Poll like the renderer until the job answers; returns the result children (or None when the
    job ended without output, e.g. cancelled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = client.post(PATH, json=run.body, query_string=run.handles)
        if response.status_code == 204:
            return None
        assert response.status_code == 200, response.get_data(as_text=True)
        payload = response.get_json()
        if payload.get("progress"):
            run.progress.append(payload["progress"])
        if "response" in payload:
            return payload["response"][ExportIds(run.dashboard).result]["children"]
        time.sleep(0.2)
    raise AssertionError(f"the export did not finish within {seconds} s")


def wait_for_progress(client, run: ExportRun, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = client.post(PATH, json=run.body, query_string=run.handles)
        payload = response.get_json() or {}
        if payload.get("progress"):
            run.progress.append(payload["progress"])
            return
        assert "response" not in payload, "the job finished before it could be cancelled"
        time.sleep(0.1)
    raise AssertionError("no progress reported")


def cancel(client, run: ExportRun):
    """The cancel button's request, with the job to cancel (as the renderer sends it)."""
    ids = ExportIds(run.dashboard)
    body = callback_body([(ids.cancel, "id")], [(ids.cancel, "n_clicks", 1)])
    return client.post(PATH, json=body, query_string={"cancelJob": run.handles["job"]})


def text_of(children) -> str:
    """All the text in a rendered component tree."""
    if isinstance(children, str):
        return children
    if isinstance(children, list):
        return " ".join(text_of(c) for c in children)
    if isinstance(children, dict):
        return text_of(children.get("props", {}).get("children"))
    return ""


def download_href(tree) -> str | None:
    """The first link in a rendered component tree."""
    if isinstance(tree, dict):
        props = tree.get("props", {})
        if "href" in props:
            return props["href"]
        return download_href(props.get("children"))
    if isinstance(tree, list):
        for item in tree:
            found = download_href(item)
            if found:
                return found
    return None


@contextmanager
def rows_held(database_url: str, table: str = "sales") -> Iterator[None]:
    """Hold an exclusive lock on table (PostgreSQL) so that an export blocks on its first read of
    the rows: it has reported its total, and cannot finish before the test cancels or kills it."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.rollback()
