"""RH without a server: shaping against pandas on the demo rows, the lasso, the cross-filter state
machine, the input checks, the URL codec, the texts and the figures."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from dashhub.callbacks.hr import (
    _grid_request,
    filter_from_inputs,
    kpi_texts,
    next_selection,
    selection_from_store,
    selection_text,
    table_row,
)
from dashhub.demo import demo_employees
from dashhub.domain.hr import HrFilter, Selection, filter_from_query, query_for
from dashhub.domain.query import parse_search
from dashhub.figures.hr import (
    performance_by_department,
    performance_salary,
    salary_histogram,
    satisfaction_heatmap,
)
from dashhub.layouts.hr import IDS
from dashhub.services.employees import Columns, _inside, options_of, shape_hr
from dashhub.validation import BadInput

ALL = ("Finance", "HR", "IT", "Marketing", "Sales")
AGE_BINS = [-np.inf, 25, 30, 35, 45, 55, np.inf]
EXP_BINS = [-np.inf, 5, 10, 20, 30, np.inf]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return demo_employees()


@pytest.fixture(scope="module")
def cols(frame) -> Columns:
    return Columns(frame)


@pytest.fixture(scope="module")
def options(cols):
    return options_of(cols)


def test_the_demo_reproduces_the_seed_picture(frame):
    """The seed's screen: about 2,000 employees, 96,525 € mean salary, 74.2/100, 7.0/10."""
    assert len(frame) == 2000
    assert abs(frame["salary"].mean() / 96525 - 1) <= 0.02
    assert abs(frame["performance"].mean() - 74.2) <= 1
    assert abs(frame["satisfaction"].mean() - 7.0) <= 0.2
    assert sorted(frame["department"].unique()) == list(ALL)


def selected(frame, flt: HrFilter) -> pd.DataFrame:
    rows = frame[
        frame["department"].isin(flt.departments)
        & frame["experience_years"].between(*flt.experience)
        & frame["age"].between(*flt.age)
    ]
    sel = flt.selection
    if sel.department:
        rows = rows[rows["department"] == sel.department]
    if sel.cell:
        age_band = pd.cut(rows["age"], AGE_BINS, right=False, labels=False)
        exp_band = pd.cut(rows["experience_years"], EXP_BINS, right=False, labels=False)
        rows = rows[(age_band == sel.cell[0]) & (exp_band == sel.cell[1])]
    if sel.box:
        x0, x1, y0, y1 = sel.box
        rows = rows[rows["performance"].between(x0, x1) & rows["salary"].between(y0, y1)]
    return rows


FILTERS = [
    pytest.param(HrFilter(ALL, (0, 44), (21, 65)), id="everyone"),
    pytest.param(HrFilter(("IT", "Sales"), (5, 20), (21, 65)), id="two-departments"),
    pytest.param(HrFilter(ALL, (0, 44), (30, 45), Selection(department="Finance")), id="bar-click"),
    pytest.param(HrFilter(ALL, (0, 44), (21, 65), Selection(cell=(2, 3))), id="heatmap-cell"),
    pytest.param(HrFilter(ALL, (0, 44), (21, 65), Selection(box=(60, 80, 80000, 120000))), id="box"),
    pytest.param(HrFilter(("HR",), (40, 44), (21, 30)), id="nobody"),
]


@pytest.mark.parametrize("flt", FILTERS)
def test_shaping_counts_means_intervals_and_cells_match_pandas(frame, cols, flt):
    data = shape_hr(cols, flt)
    rows = selected(frame, flt)
    assert data.count == len(rows)
    if rows.empty:
        assert data.mean_salary is None and data.by_department == []
        return
    assert data.mean_salary == pytest.approx(rows["salary"].mean())
    assert data.mean_performance == pytest.approx(rows["performance"].mean())
    assert data.mean_satisfaction == pytest.approx(rows["satisfaction"].mean())
    assert {d: sum(c) for d, c in data.salary_counts.items()} == rows.groupby("department").size().to_dict()
    # the bars keep every department (the clicked one highlighted), the heatmap every cell
    bar_rows = selected(frame, replace(flt, selection=replace(flt.selection, department=None)))
    heat_rows = selected(frame, replace(flt, selection=replace(flt.selection, cell=None)))
    assert sorted(row[0] for row in data.by_department) == sorted(bar_rows["department"].unique())
    for name, mean, half, n in data.by_department:
        group = bar_rows.loc[bar_rows["department"] == name, "performance"]
        assert (mean, n) == (pytest.approx(group.mean()), len(group))
        if n > 1:
            expected = stats.t.ppf(0.975, n - 1) * group.std(ddof=1) / math.sqrt(n)
            assert half == pytest.approx(expected)
    age_band = pd.cut(heat_rows["age"], AGE_BINS, right=False, labels=False)
    exp_band = pd.cut(heat_rows["experience_years"], EXP_BINS, right=False, labels=False)
    cells = heat_rows.groupby([age_band, exp_band])["satisfaction"].agg(["mean", "size"])
    for (a, e), (mean, size) in cells.iterrows():
        assert data.heatmap[int(a)][int(e)] == pytest.approx(mean, abs=0.006)
        assert data.heatmap_counts[int(a)][int(e)] == size
    assert sum(map(sum, data.heatmap_counts)) == len(heat_rows)


def test_a_clicked_bar_stands_out_and_the_others_stay_dimmed(cols):
    data = shape_hr(cols, HrFilter(ALL, (0, 44), (21, 65), Selection(department="Finance")))
    bars = performance_by_department(data, "fr")["data"][0]
    assert sorted(bars["x"]) == sorted(ALL)
    opacity = dict(zip(bars["x"], bars["marker"]["opacity"], strict=True))
    assert opacity.pop("Finance") == 1.0
    assert all(o < 1 for o in opacity.values())
    assert data.count == sum(1 for code in cols.department if cols.department_names[code] == "Finance")


def test_a_department_keeps_its_colour_whatever_the_filter(cols):
    alone = performance_by_department(shape_hr(cols, HrFilter(("IT",), (0, 44), (21, 65))), "fr")
    everyone = performance_by_department(shape_hr(cols, HrFilter(ALL, (0, 44), (21, 65))), "fr")
    colour = dict(zip(everyone["data"][0]["x"], everyone["data"][0]["marker"]["color"], strict=True))
    assert alone["data"][0]["marker"]["color"] == [colour["IT"]]


def test_department_bars_start_at_zero(cols):
    figure = performance_by_department(shape_hr(cols, HrFilter(ALL, (0, 44), (21, 65))), "fr")
    assert figure["layout"]["yaxis"]["range"][0] == 0


def test_heatmap_cells_under_the_minimum_count_are_left_blank_and_said(frame, cols):
    data = shape_hr(cols, HrFilter(ALL, (0, 44), (21, 65)), min_cell_count=30)
    small = [
        (a, e) for a, row in enumerate(data.heatmap_counts) for e, count in enumerate(row) if 0 < count < 30
    ]
    assert small, "the demo has small cells"
    assert all(data.heatmap[a][e] is None for a, e in small)
    big = [(a, e) for a, row in enumerate(data.heatmap_counts) for e, c in enumerate(row) if c >= 30]
    assert all(data.heatmap[a][e] is not None for a, e in big)
    note = satisfaction_heatmap(data, "fr")["layout"]["annotations"][0]["text"]
    assert note == f"cases de moins de 30 employés, laissées vides\u00a0: {len(small)}"
    scale = satisfaction_heatmap(data, "fr")["data"][0]["colorscale"]
    assert "#d73027" not in str(scale) and "#1a9850" not in str(scale), "no red-green scale"


@pytest.mark.parametrize("flt", FILTERS)
def test_every_figure_is_valid_plotly_and_totals_the_population(cols, flt):
    data = shape_hr(cols, flt)
    for build in (salary_histogram, performance_salary, performance_by_department, satisfaction_heatmap):
        figure = build(data, "fr")
        go.Figure(figure)
        if data.count == 0:
            assert figure["data"] == []
            assert "Aucun employé" in figure["layout"]["annotations"][0]["text"]
    if data.count:
        histogram = salary_histogram(data, "en")
        assert sum(sum(t["y"]) for t in histogram["data"]) == data.count
        points = [t for t in performance_salary(data, "en")["data"] if t.get("mode") == "markers"]
        assert sum(len(t["x"]) for t in points) == data.count


def naive_inside(x: np.ndarray, y: np.ndarray, polygon) -> np.ndarray:
    """Even-odd ray casting, point by point: the reference for the vectorised version."""
    out = np.zeros(len(x), dtype=bool)
    n = len(polygon)
    for k in range(len(x)):
        inside = False
        for i in range(n):
            (x1, y1), (x2, y2) = polygon[i], polygon[(i + 1) % n]
            if (y1 > y[k]) != (y2 > y[k]) and x[k] < x1 + (x2 - x1) * (y[k] - y1) / (y2 - y1):
                inside = not inside
        out[k] = inside
    return out


@settings(max_examples=40, deadline=None)
@given(
    vertices=st.lists(
        st.tuples(st.floats(0, 100, allow_nan=False), st.floats(0, 100, allow_nan=False)),
        min_size=3,
        max_size=40,
    ),
    seed=st.integers(0, 1000),
)
def test_the_lasso_agrees_with_point_by_point_ray_casting(vertices, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-5, 105, 400).round(1), rng.uniform(-5, 105, 400).round(1)
    candidates = rng.random(400) < 0.8
    expected = naive_inside(x, y, vertices) & candidates
    assert (_inside(x, y, vertices, candidates) == expected).all()
    kept_order = np.argsort(y, kind="stable")  # as the columns keep it
    assert (_inside(x, y, vertices, candidates, kept_order) == expected).all()


def test_a_lasso_of_two_thousand_vertices_on_a_million_points_matches_its_shape():
    """The case a user draws: a long, wobbly loop over every employee (speed: bench/bench_hr.py)."""
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 100, 1_000_000), rng.uniform(0, 100, 1_000_000)
    t = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
    radius = 40 + 5 * np.sin(7 * t)
    polygon = list(zip(50 + radius * np.cos(t), 50 + radius * np.sin(t), strict=True))
    inside = _inside(x, y, polygon, np.ones(len(x), dtype=bool), np.argsort(y))
    # independent: the polar form of the same curve, exact away from its edges
    angle = np.arctan2(y - 50, x - 50) % (2 * np.pi)
    distance = np.hypot(x - 50, y - 50)
    boundary = 40 + 5 * np.sin(7 * angle)
    clear = np.abs(distance - boundary) > 0.5  # the polygon's chords stay within 0.5 of the curve
    assert (inside[clear] == (distance < boundary)[clear]).all()
    assert clear.sum() > 950_000


def test_clicks_and_selections_build_the_cross_filter():
    chosen = next_selection(IDS.DEPARTMENT_BARS, {}, {"points": [{"x": "IT"}]}, None, None)
    assert chosen == {"department": "IT"}
    assert next_selection(IDS.DEPARTMENT_BARS, chosen, {"points": [{"x": "IT"}]}, None, None) == {}, "toggles"
    chosen = next_selection(IDS.HEATMAP, chosen, None, {"points": [{"x": "20–30", "y": "30–35"}]}, None)
    assert chosen == {"department": "IT", "cell": [2, 3]}
    boxed = next_selection(IDS.SCATTER, chosen, None, None, {"range": {"x": [80, 60], "y": [8e4, 12e4]}})
    assert boxed["box"] == [60, 80, 80000, 120000]
    lasso = {"lassoPoints": {"x": [1, 2, 3], "y": [4, 5, 6]}}
    lassoed = next_selection(IDS.SCATTER, boxed, None, None, lasso)
    assert "box" not in lassoed and lassoed["lasso"] == [[1, 4], [2, 5], [3, 6]]
    assert next_selection(IDS.CLEAR_SELECTION, lassoed, None, None, None) == {}


def test_a_redraw_that_clears_plotlys_selection_keeps_ours():
    from dash.exceptions import PreventUpdate

    with pytest.raises(PreventUpdate):
        next_selection(IDS.SCATTER, {"box": [1, 2, 3, 4]}, None, None, None)


@pytest.mark.parametrize(
    ("trigger", "bars", "heat", "scatter"),
    [
        (IDS.DEPARTMENT_BARS, {"points": []}, None, None),
        (IDS.HEATMAP, None, {"points": [{"x": "99–100", "y": "30–35"}]}, None),
        (IDS.SCATTER, None, None, {"range": {"x": [1], "y": [1, 2]}}),
        (IDS.SCATTER, None, None, {"lassoPoints": {"x": [1, 2], "y": [1]}}),
    ],
)
def test_forged_clicks_are_refused(trigger, bars, heat, scatter):
    with pytest.raises(BadInput):
        next_selection(trigger, {}, bars, heat, scatter)


@pytest.mark.parametrize(
    ("departments", "experience", "age", "selection"),
    [
        (["Legal"], [0, 44], [21, 65], {}),
        (list(ALL), [0, 1e9], [21, 65], {}),
        (list(ALL), "0-44", [21, 65], {}),
        (list(ALL), [0, 44], [21], {}),
        (list(ALL), [0, float("nan")], [21, 65], {}),
        (list(ALL), [True, 44], [21, 65], {}),
        (list(ALL), [0, 44], [21, 65], {"department": "Legal"}),
        (list(ALL), [0, 44], [21, 65], {"cell": [9, 9]}),
        (list(ALL), [0, 44], [21, 65], {"cell": [True, 1]}),
        (list(ALL), [0, 44], [21, 65], {"box": [0, 1, "x", 2]}),
        (list(ALL), [0, 44], [21, 65], {"lasso": [[0, 0]] * 5000}),
        (list(ALL), [0, 44], [21, 65], {"lasso": [[0, 0], [1, 1], [2]]}),
        (list(ALL), [0, 44], [21, 65], {"sql": "DROP TABLE employees"}),
        (list(ALL), [0, 44], [21, 65], ["department"]),
    ],
)
def test_crafted_filter_values_are_refused(options, departments, experience, age, selection):
    with pytest.raises(BadInput):
        filter_from_inputs(departments, experience, age, selection, options)


def test_a_valid_selection_is_read_exactly(options):
    selection = selection_from_store(
        {"department": "IT", "cell": [1, 2], "box": [1, 2, 3, 4], "lasso": [[0, 0], [1, 0], [0, 1]]}, options
    )
    assert selection == Selection("IT", (1, 2), (1.0, 2.0, 3.0, 4.0), ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)))
    assert selection_from_store(None, options) == Selection()


@pytest.mark.parametrize(
    "request_",
    [
        None,
        {"startRow": -1, "endRow": 10},
        {"startRow": 0, "endRow": 100_000},
        {"startRow": "0", "endRow": 10},
        {"startRow": 0, "endRow": 10, "sortModel": [{"colId": "password", "sort": "asc"}]},
        {"startRow": 0, "endRow": 10, "sortModel": [{"colId": "salary", "sort": "sideways"}]},
    ],
)
def test_forged_table_requests_are_refused(request_):
    with pytest.raises(BadInput):
        _grid_request(request_)


def test_a_table_request_keeps_at_most_three_sort_keys():
    sort = [{"colId": c, "sort": "desc"} for c in ("salary", "age", "performance", "department")]
    assert _grid_request({"startRow": 20, "endRow": 40, "sortModel": sort}) == (
        20,
        40,
        [("salary", True), ("age", True), ("performance", True)],
    )


def test_the_url_carries_the_filters_and_forgives_what_it_cannot_read(options):
    narrowed = HrFilter(("IT",), (5.0, 20.0), options.age)
    search = query_for(narrowed, options)
    assert search == "?department=IT&experience=5-20"
    assert filter_from_query(parse_search(search), options) == narrowed
    assert query_for(options.everything(), options) == ""
    forgiven = filter_from_query(
        parse_search("?department=IT&department=Legal&experience=nan-5&age=-1000-1000"), options
    )
    assert forgiven == HrFilter(("IT",), options.experience, options.age)


def test_kpis_and_table_cells_follow_the_language(cols):
    data = shape_hr(cols, HrFilter(ALL, (0, 44), (21, 65)))
    count, salary, performance, _satisfaction = kpi_texts(data, "fr")
    assert count == "2\u202f000"
    assert salary.endswith("\u00a0€") and performance.endswith("/100") and "," in performance
    assert kpi_texts(data, "en")[0] == "2,000"
    row = table_row(
        {"employee_id": 1, "department": "IT", "age": 30, "experience_years": 5.25, "salary": 61234.0,
         "performance": 80.0, "satisfaction": 7.0},
        "fr",
    )  # fmt: skip
    assert (row["experience_years"], row["salary"]) == ("5,2", "61\u202f234\u00a0€")


def test_the_selection_is_described_in_words():
    assert "Astuce" in selection_text(Selection(), "fr")
    text = selection_text(Selection(department="IT", cell=(2, 3), box=(60, 80, 80000, 120000)), "fr")
    assert "département IT" in text and "30–35" in text and "20–30" in text and "80\u202f000" in text


def test_hr_tooltips_use_the_locales_punctuation_and_decimals(cols):
    data = shape_hr(cols, HrFilter(ALL, (0, 44), (21, 65)))
    scatter = performance_salary(data, "fr")
    point = next(t for t in scatter["data"] if t.get("mode") == "markers")
    assert "Salaire\u00a0: %{y:,.0f}\u00a0€" in point["hovertemplate"]
    # experience through Plotly's own formatting (its separators: « 17,4 »), not Python's « 17.4 »
    assert "%{customdata[2]:.1f}" in point["hovertemplate"]
    bars = performance_by_department(data, "fr")["data"][0]
    assert all("," in c[1] and "." not in c[1] for c in bars["customdata"]), bars["customdata"][:2]
    english = performance_by_department(data, "en")["data"][0]
    assert all("." in c[1] for c in english["customdata"])
    assert performance_salary(data, "fr")["layout"]["yaxis"]["tickformat"] == ",.0f"
