"""Callback bodies for the RH dashboard."""

from __future__ import annotations

from typing import Any

from dashhub.layouts.hr import IDS
from dashhub.shell import PAGE_ROUTE
from tests.support.dash_requests import callback_body

ALL_DEPARTMENTS = ["Finance", "HR", "IT", "Marketing", "Sales"]  # (the demo's)

HR_OUTPUTS = [
    (IDS.KPI_COUNT, "children"),
    (IDS.KPI_SALARY, "children"),
    (IDS.KPI_PERFORMANCE, "children"),
    (IDS.KPI_SATISFACTION, "children"),
    (IDS.SALARY, "figure"),
    (IDS.SCATTER, "figure"),
    (IDS.DEPARTMENT_BARS, "figure"),
    (IDS.HEATMAP, "figure"),
    (IDS.SALARY_HTML, "href"),
    (IDS.SCATTER_HTML, "href"),
    (IDS.DEPARTMENT_BARS_HTML, "href"),
    (IDS.HEATMAP_HTML, "href"),
    (IDS.SALARY, "config"),
    (IDS.SCATTER, "config"),
    (IDS.DEPARTMENT_BARS, "config"),
    (IDS.HEATMAP, "config"),
    (IDS.SELECTION_TEXT, "children"),
    (IDS.CLEAR_SELECTION, "disabled"),
    (IDS.QUERY, "data"),
    (IDS.VIEW, "data"),
]


def hr_body(departments: Any, experience: Any, age: Any, selection: Any = None) -> dict:
    return callback_body(
        HR_OUTPUTS,
        [
            (IDS.DEPARTMENTS, "value", departments),
            (IDS.EXPERIENCE, "value", experience),
            (IDS.AGE, "value", age),
            (IDS.SELECTION, "data", selection or {}),
        ],
        [(PAGE_ROUTE, "data", None)],
    )


def post_hr(client, departments, experience, age, selection=None):
    return client.post("/_dash-update-component", json=hr_body(departments, experience, age, selection))


def table_body(request: Any, departments, experience, age, selection=None) -> dict:
    return callback_body(
        [(IDS.TABLE, "getRowsResponse"), (IDS.TABLE_COUNT, "data")],
        [(IDS.TABLE, "getRowsRequest", request)],
        [
            (IDS.DEPARTMENTS, "value", departments),
            (IDS.EXPERIENCE, "value", experience),
            (IDS.AGE, "value", age),
            (IDS.SELECTION, "data", selection or {}),
        ],
    )


def selection_body(
    trigger: str,
    value: Any,
    current: dict | None = None,
    filters: tuple[Any, Any, Any] = (ALL_DEPARTMENTS, [0, 43], [21, 65]),
) -> dict:
    """The cross-filter callback (the demo's whole population unless filters says otherwise)."""
    inputs = {
        IDS.DEPARTMENT_BARS: ("clickData", None),
        IDS.HEATMAP: ("clickData", None),
        IDS.SCATTER: ("selectedData", None),
        IDS.CLEAR_SELECTION: ("n_clicks", None),
    }
    departments, experience, age = filters
    body = callback_body(
        [(IDS.SELECTION, "data"), (IDS.SELECTION_REFUSED, "children")],
        [(cid, prop, value if cid == trigger else default) for cid, (prop, default) in inputs.items()],
        [
            (IDS.SELECTION, "data", current or {}),
            (IDS.DEPARTMENTS, "value", departments),
            (IDS.EXPERIENCE, "value", experience),
            (IDS.AGE, "value", age),
        ],
    )
    body["changedPropIds"] = [f"{trigger}.{inputs[trigger][0]}"]
    return body
