"""The monitoring page's callback as the browser posts it, and independent computations on the raw
prediction log (pandas on rows read with plain SQL) to compare its numbers with."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text

from dashhub.db import make_engine
from dashhub.layouts.common import view_state_id
from dashhub.layouts.ml_monitoring import DASHBOARD, IDS
from dashhub.shell import PAGE_ROUTE
from tests.support.dash_requests import callback_body, stringify_id

OUTPUTS = [
    (IDS.ALERT, "children"),
    (IDS.WATCHED, "children"),
    (IDS.KPI_ACCURACY, "children"),
    (IDS.KPI_LATENCY, "children"),
    (IDS.KPI_VOLUME, "children"),
    (IDS.KPI_ERRORS, "children"),
    (IDS.ACCURACY, "figure"),
    (IDS.LATENCY, "figure"),
    (IDS.VOLUME, "figure"),
    (IDS.ERRORS, "figure"),
    (IDS.MEMORY, "figure"),
    (IDS.CPU, "figure"),
    (IDS.FEATURES, "options"),
    (IDS.DRIFT_VERDICT, "children"),
    (IDS.DRIFT_CHARTS, "children"),
    (IDS.DRIFT_TABLE, "children"),
    (IDS.SUMMARY, "children"),
    (IDS.ALERTS, "children"),
    (IDS.STATUS, "children"),
    (view_state_id(DASHBOARD), "data"),
]


def monitoring_body(
    model: Any, period: Any = "24h", start=None, end=None, features=None, refresh=None
) -> dict:
    """The body of the page's callback; with refresh (a click count), as the Refresh button sends it."""
    body = callback_body(
        OUTPUTS,
        [
            (IDS.MODEL, "value", model),
            (IDS.PERIOD, "value", period),
            (IDS.DATES, "start_date", start),
            (IDS.DATES, "end_date", end),
            (IDS.FEATURES, "value", features),
            (IDS.REFRESH, "n_clicks", refresh),
            (IDS.TICK, "data", None),
        ],
        [(PAGE_ROUTE, "data", None)],
    )
    if refresh is not None:
        body["changedPropIds"] = [f"{IDS.REFRESH}.n_clicks"]
    return body


def post_monitoring(client, model, period="24h", **kwargs):
    return client.post("/_dash-update-component", json=monitoring_body(model, period, **kwargs))


def outputs(response) -> dict[str, Any]:
    payload = response.get_json()["response"]
    return {stringify_id(i): payload[stringify_id(i)][p] for i, p in OUTPUTS}


def raw_log(database_url: str, model: str, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """The log's rows of model in [start, end), with their feedback, read with plain SQL."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT p.at, p.status, p.latency_ms, f.correct FROM predictions p "
                    "LEFT JOIN feedback f ON f.prediction_id = p.id "
                    "WHERE p.model_name = :model AND p.at >= :start AND p.at < :end"
                ),
                {"model": model, "start": start, "end": end},
            ).all()
    finally:
        engine.dispose()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["at", "status", "latency_ms", "correct"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def exact_percentile(latencies: np.ndarray, q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q % of the values at or below it."""
    ordered = np.sort(latencies)
    rank = max(1, int(np.ceil(q / 100 * len(ordered))))
    return float(ordered[rank - 1])
