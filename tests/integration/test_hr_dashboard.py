"""RH through the Flask test client on a real database: every number against pandas on raw rows."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dashhub.domain.hr import HrFilter, Selection
from dashhub.i18n import fmt_money, fmt_number
from tests.conftest import raw_table
from tests.support.dash_requests import find_prop, page_body, sales_outputs, view_search
from tests.support.hr_requests import post_hr, selection_body, table_body

ALL = ["Finance", "HR", "IT", "Marketing", "Sales"]
AGE_BINS = [-np.inf, 25, 30, 35, 45, 55, np.inf]
EXP_BINS = [-np.inf, 5, 10, 20, 30, np.inf]

FILTERS = [
    pytest.param(ALL, [0, 43], [21, 65], {}, id="everyone"),
    pytest.param(["IT", "Sales"], [5, 20], [21, 65], {}, id="two-departments-mid-career"),
    pytest.param(ALL, [0, 43], [30, 45], {"department": "Finance"}, id="age-window-and-bar-click"),
    pytest.param(ALL, [0, 43], [21, 65], {"cell": [2, 3]}, id="heatmap-cell"),
    pytest.param(ALL, [0, 43], [21, 65], {"box": [60, 80, 80000, 120000]}, id="scatter-box"),
    pytest.param(["HR"], [40, 43], [21, 30], {}, id="nobody"),
]


def raw(app) -> pd.DataFrame:
    return raw_table(app.server.extensions["dashhub"].settings.database_url, "employees")


def select(frame, departments, experience, age, selection) -> pd.DataFrame:
    rows = frame[
        frame["department"].isin(departments)
        & np.floor(frame["experience_years"]).between(*experience)  # (completed years)
        & frame["age"].between(*age)
    ]
    if "department" in selection:
        rows = rows[rows["department"] == selection["department"]]
    if "cell" in selection:
        age_band = pd.cut(rows["age"], AGE_BINS, right=False, labels=False)
        exp_band = pd.cut(rows["experience_years"], EXP_BINS, right=False, labels=False)
        rows = rows[(age_band == selection["cell"][0]) & (exp_band == selection["cell"][1])]
    if "box" in selection:
        x0, x1, y0, y1 = selection["box"]
        rows = rows[rows["performance"].between(x0, x1) & rows["salary"].between(y0, y1)]
    return rows


@pytest.mark.parametrize(("departments", "experience", "age", "selection"), FILTERS)
def test_every_kpi_bar_ci_and_cell_matches_the_raw_rows(
    app, hr_client, departments, experience, age, selection
):
    response = post_hr(hr_client, departments, experience, age, selection)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    out = sales_outputs(response)
    rows = select(raw(app), departments, experience, age, selection)

    if rows.empty:
        assert out["hr-kpi-count"] == "0"
        assert out["hr-kpi-salary"] == "—"
        for chart in ("hr-salary", "hr-scatter", "hr-departments", "hr-heatmap"):
            assert out[chart]["data"] == []
            assert "Aucun employé" in out[chart]["layout"]["annotations"][0]["text"]
        return

    assert out["hr-kpi-count"] == fmt_number(len(rows), 0, "fr")
    assert out["hr-kpi-salary"] == fmt_money(rows["salary"].mean(), "fr")
    assert out["hr-kpi-performance"] == f"{fmt_number(rows['performance'].mean(), 1, 'fr')}/100"
    assert out["hr-kpi-satisfaction"] == f"{fmt_number(rows['satisfaction'].mean(), 1, 'fr')}/10"

    # histogram: every employee counted once, per department
    histogram = out["hr-salary"]["data"]
    assert {t["name"]: sum(t["y"]) for t in histogram} == rows.groupby("department").size().to_dict()

    # bars: mean performance per department with a t-based 95 % interval, best first; a clicked
    # department is highlighted among the others (computed without that click)
    bars = out["hr-departments"]["data"][0]
    expected = []
    others = {k: v for k, v in (selection or {}).items() if k != "department"}
    bar_rows = select(raw(app), departments, experience, age, others)
    for name, group in bar_rows.groupby("department"):
        n = len(group)
        half = stats.t.ppf(0.975, n - 1) * group["performance"].std(ddof=1) / math.sqrt(n) if n > 1 else 0
        expected.append((name, group["performance"].mean(), half, n))
    expected.sort(key=lambda row: row[1], reverse=True)
    assert bars["x"] == [row[0] for row in expected]
    assert bars["y"] == pytest.approx([row[1] for row in expected], abs=0.006)
    assert bars["error_y"]["array"] == pytest.approx([row[2] for row in expected], abs=0.006)
    assert [c[0] for c in bars["customdata"]] == [row[3] for row in expected]

    # heatmap: mean satisfaction per cell (every cell of the filter, a clicked one outlined), empty
    # cells empty (not zero), cells of fewer than hr.min_cell_count (5) employees blank, counts on hover
    heat = out["hr-heatmap"]["data"][0]
    no_cell = {k: v for k, v in (selection or {}).items() if k != "cell"}
    heat_rows = select(raw(app), departments, experience, age, no_cell)
    age_band = pd.cut(heat_rows["age"], AGE_BINS, right=False, labels=False)
    exp_band = pd.cut(heat_rows["experience_years"], EXP_BINS, right=False, labels=False)
    grouped = heat_rows.groupby([age_band, exp_band])["satisfaction"].agg(["mean", "size"])
    for a in range(6):
        for e in range(5):
            if (a, e) in grouped.index:
                size = grouped.loc[(a, e), "size"]
                if size >= 5:
                    assert heat["z"][a][e] == pytest.approx(grouped.loc[(a, e), "mean"], abs=0.006)
                else:
                    assert heat["z"][a][e] is None
                assert heat["customdata"][a][e] == size
            else:
                assert heat["z"][a][e] is None
                assert heat["customdata"][a][e] == 0

    # scatter: one point per employee (demo size), coloured by department
    points = [t for t in out["hr-scatter"]["data"] if t["mode"] == "markers"]
    assert sum(len(t["x"]) for t in points) == len(rows)


def test_a_lasso_keeps_the_employees_inside_it(app, hr_client):
    square = [[60.05, 80000.5], [80.05, 80000.5], [80.05, 120000.5], [60.05, 120000.5]]
    out = sales_outputs(post_hr(hr_client, ALL, [0, 43], [21, 65], {"lasso": square}))
    rows = select(raw(app), ALL, [0, 43], [21, 65], {"box": [60.05, 80.05, 80000.5, 120000.5]})
    assert out["hr-kpi-count"] == fmt_number(len(rows), 0, "fr")
    triangle = [[50.05, 50000.5], [90.05, 50000.5], [90.05, 150000.5]]
    out = sales_outputs(post_hr(hr_client, ALL, [0, 43], [21, 65], {"lasso": triangle}))
    frame = raw(app)
    x, y = frame["performance"], frame["salary"]
    inside = (x > 50.05) & (x < 90.05) & (y > 50000.5) & (y - 50000.5 < (x - 50.05) * (100000 / 40))
    assert out["hr-kpi-count"] == fmt_number(int(inside.sum()), 0, "fr")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_filters_round_trip_through_the_url(hr_client):
    out = sales_outputs(post_hr(hr_client, ["IT"], [5, 20], [21, 65]))
    search = view_search(out, "hr")
    assert search == "?department=IT&experience=5-20"
    page = json.dumps(hr_client.post("/_dash-update-component", json=page_body("/hr", search)).get_json())
    assert '"value": ["IT"]' in page
    assert '"value": [5.0, 20.0]' in page


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_chart_clicks_build_the_cross_filter(hr_client):
    def select_(trigger, value, current=None):
        response = hr_client.post("/_dash-update-component", json=selection_body(trigger, value, current))
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["response"]["hr-selection"]["data"]

    chosen = select_("hr-departments", {"points": [{"x": "IT"}]})
    assert chosen == {"department": "IT"}
    chosen = select_("hr-heatmap", {"points": [{"x": "20–30", "y": "30–35"}]}, chosen)
    assert chosen == {"department": "IT", "cell": [2, 3]}
    chosen = select_("hr-scatter", {"range": {"x": [80, 60], "y": [80000, 120000]}}, chosen)
    assert chosen["box"] == [60, 80, 80000, 120000]
    assert select_("hr-clear-selection", 1, chosen) == {}


def test_a_box_or_lasso_too_big_to_read_row_by_row_is_refused_in_words(app, hr_client, monkeypatch):
    """Each employee in a box's or lasso's bounding box is read (and tested): past MAX_SELECTED the
    page keeps the previous selection and says why; a forged store or address gets a 400."""
    monkeypatch.setattr("dashhub.callbacks.hr.MAX_SELECTED", 300)
    frame = raw(app)
    employees = app.server.extensions["dashhub"].employees
    big = {"range": {"x": [40, 100], "y": [40000, 160000]}}
    body = selection_body("hr-scatter", big, {"department": "IT"})
    response = hr_client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    answer = response.get_json()["response"]
    assert "hr-selection" not in answer  # (unchanged)
    assert "sélectionner un par un" in answer["hr-selection-refused"]["children"]
    assert post_hr(hr_client, ALL, [0, 43], [21, 65], {"box": [40, 100, 40000, 160000]}).status_code == 400

    small = {"range": {"x": [90, 100], "y": [40000, 60000]}}
    response = hr_client.post("/_dash-update-component", json=selection_body("hr-scatter", small))
    assert response.get_json()["response"]["hr-selection"]["data"] == {"box": [90, 100, 40000, 60000]}
    assert response.get_json()["response"]["hr-selection-refused"]["children"] == ""

    # the bound never undercounts: it sums whole performance × salary bins around the box
    rng = np.random.default_rng(5)
    for _ in range(25):
        x0, y0 = rng.uniform(20, 100), rng.uniform(30000, 160000)
        box = (x0, x0 + rng.uniform(0, 30), y0, y0 + rng.uniform(0, 60000))
        flt = HrFilter(tuple(ALL), (0, 43), (21, 65), Selection(box=box))
        inside = frame["performance"].between(box[0], box[1]) & frame["salary"].between(box[2], box[3])
        assert employees.selection_bound(flt) >= int(inside.sum())

    # between the bounds the database counts the box's employees, and stops past the limit
    monkeypatch.setattr("dashhub.services.employees.MAX_SELECTED", 5)
    box = (70.1, 72.4, 90000.5, 104999.0)  # inside one performance bin: no bin is covered whole
    inside = frame["performance"].between(box[0], box[1]) & frame["salary"].between(box[2], box[3])
    assert int(inside.sum()) > 6
    flt = HrFilter(tuple(ALL), (0, 43), (21, 65), Selection(box=box))
    assert employees.selection_bound(flt) == 6  # (the limit and one)
    monkeypatch.setattr("dashhub.services.employees.MAX_SELECTED", 20)
    narrower = HrFilter(tuple(ALL), (0, 43), (30, 40), Selection(box=box))
    rows = frame[inside & frame["age"].between(30, 40)]
    assert employees.selection_bound(narrower) == min(len(rows), 21)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_chart_selection_goes_in_the_address_and_comes_back_from_it(hr_client):
    selection = {"department": "IT", "cell": [2, 3]}
    out = sales_outputs(post_hr(hr_client, ALL, [0, 43], [30, 45], selection))
    search = view_search(out, "hr")
    assert search.startswith("?age=30-45&sel=")
    page = hr_client.post("/_dash-update-component", json=page_body("/hr", search)).get_json()
    assert find_prop(page, "hr-selection", "data") == selection, "a pasted address reopens the selection"
    broken = hr_client.post("/_dash-update-component", json=page_body("/hr", "?age=30-45&sel=%7Bnot-json"))
    assert broken.status_code == 200
    assert find_prop(broken.get_json(), "hr-selection", "data") == {}, "a broken selection is dropped"
    lasso = [[50 + i / 100, 50_000 + i * 37.5] for i in range(1000)] + [[90, 50_000]]
    long = view_search(sales_outputs(post_hr(hr_client, ALL, [0, 43], [21, 65], {"lasso": lasso})), "hr")
    assert "lasso" not in long and len(long) < 4000, "too long for an address: left out"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_viewer_cannot_open_hr_nor_call_its_callbacks(client):
    refused = post_hr(client, ALL, [0, 43], [21, 65])
    assert refused.status_code == 403
    assert "salary" not in refused.get_data(as_text=True).lower()
    assert client.get("/export/hr/salary.html").status_code == 403
    table = client.post(
        "/_dash-update-component", json=table_body({"startRow": 0, "endRow": 20}, ALL, [0, 43], [21, 65])
    )
    assert table.status_code == 403


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_crafted_filter_value_is_refused_cleanly(hr_client):
    """The 400 plumbing; every kind of crafted value is covered by the unit tests of the checks."""
    response = post_hr(hr_client, ALL, [0, 43], [21, 65], {"sql": "DROP TABLE employees"})
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)


def test_table_pages_are_sorted_on_the_server(app, hr_client):
    request = {"startRow": 20, "endRow": 40, "sortModel": [{"colId": "salary", "sort": "desc"}]}
    response = hr_client.post("/_dash-update-component", json=table_body(request, ["IT"], [0, 43], [21, 65]))
    assert response.status_code == 200
    payload = response.get_json()["response"]["hr-table"]["getRowsResponse"]
    rows = raw(app)
    it = rows[rows["department"] == "IT"].sort_values("salary", ascending=False, kind="stable")
    assert payload["rowCount"] == len(it)
    assert response.get_json()["response"]["hr-table-count"]["data"] == len(it)  # (the page's « no rows »)
    assert [r["employee_id"] for r in payload["rowData"]] == it["employee_id"].iloc[20:40].tolist()
    assert payload["rowData"][0]["salary"] == fmt_money(it["salary"].iloc[20], "fr")
    too_big = {"startRow": 0, "endRow": 100_000}
    refused = hr_client.post("/_dash-update-component", json=table_body(too_big, ALL, [0, 43], [21, 65]))
    assert refused.status_code == 400
