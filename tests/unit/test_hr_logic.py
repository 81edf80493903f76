"""RH without a server: shaping against pandas on the demo rows, the cells (merge, storage, bins),
the lasso, the cross-filter state machine, the input checks, the URL codec, the texts and the figures."""

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
from dashhub.db import employee_cells
from dashhub.demo import demo_employees
from dashhub.domain.hr import HrFilter, HrOptions, Selection, filter_from_query, query_for
from dashhub.domain.query import parse_search
from dashhub.figures.hr import (
    performance_by_department,
    performance_salary,
    salary_histogram,
    satisfaction_heatmap,
)
from dashhub.layouts.hr import IDS
from dashhub.services.employee_cells import (
    KEYS,
    MAX_SALARY_BINS,
    MAXIMA,
    MEASURES,
    MINIMA,
    SALARY_STEP,
    SUMS,
    Cells,
    salary_edges,
)
from dashhub.services.employees import _inside, shape_hr
from dashhub.services.polygons import MAX_RECTANGLES, inner_rectangles
from dashhub.validation import BadInput

ALL = ("Finance", "HR", "IT", "Marketing", "Sales")
AGE_BINS = [-np.inf, 25, 30, 35, 45, 55, np.inf]
EXP_BINS = [-np.inf, 5, 10, 20, 30, np.inf]
TRIANGLE = ((50.05, 50000.5), (90.05, 50000.5), (90.05, 150000.5))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return demo_employees()


@pytest.fixture(scope="module")
def cells(frame) -> Cells:
    return Cells.from_rows(frame)


@pytest.fixture(scope="module")
def options(frame) -> HrOptions:
    return options_of_rows(frame)


def options_of_rows(frame: pd.DataFrame) -> HrOptions:
    """What EmployeesService.options reads from the cells, computed from the rows."""
    return HrOptions(
        tuple(sorted(frame["department"].unique())),
        (0.0, float(np.floor(frame["experience_years"].max()))),
        (float(frame["age"].min()), float(frame["age"].max())),
        (float(frame["salary"].min()), float(frame["salary"].max())),
        len(frame),
    )


def points_of(rows: pd.DataFrame) -> dict[str, dict[str, list]]:
    """The scatter's points of rows, as the service gives them (one trace per department)."""
    return {
        str(name): {
            "x": group["performance"].round(1).tolist(),
            "y": group["salary"].round(0).tolist(),
            "customdata": [
                [int(r.employee_id), int(r.age), round(r.experience_years, 1), round(r.satisfaction, 1)]
                for r in group.itertuples()
            ],
        }
        for name, group in rows.sort_values("employee_id").groupby("department", sort=True)
    }


def test_the_demo_reproduces_the_seed_picture(frame):
    """The seed's screen: about 2,000 employees, 96,525 € mean salary, 74.2/100, 7.0/10."""
    assert len(frame) == 2000
    assert abs(frame["salary"].mean() / 96525 - 1) <= 0.02
    assert abs(frame["performance"].mean() - 74.2) <= 1
    assert abs(frame["satisfaction"].mean() - 7.0) <= 0.2
    assert sorted(frame["department"].unique()) == list(ALL)
    assert np.floor(frame["experience_years"].max()) == 43, "the filters below use (0, 43)"


def selected(frame, flt: HrFilter) -> pd.DataFrame:
    rows = frame[
        frame["department"].isin(flt.departments)
        & np.floor(frame["experience_years"]).between(*flt.experience)  # (completed years)
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
    if sel.lasso:
        rows = rows[naive_inside(rows["performance"].to_numpy(), rows["salary"].to_numpy(), sel.lasso)]
    return rows


def cells_of(frame, cells: Cells, flt: HrFilter) -> Cells:
    """The cells the service reads for flt: the stored cells of its departments, ages and completed
    years; with a box or lasso, the cells of the rows within it (not the clicked bar or cell)."""
    sel = flt.selection
    if sel.box is None and sel.lasso is None:
        f = cells.frame
        keep = (
            f["department"].isin(flt.departments)
            & f["age"].between(*flt.age)
            & f["experience_year"].between(*flt.experience)
        )
        return cells.where(keep.to_numpy(bool))
    around = replace(flt, selection=Selection(box=sel.box, lasso=sel.lasso))
    return Cells.from_rows(selected(frame, around))


def shape(frame, cells, options, flt: HrFilter, min_cell_count: int = 1):
    """shape_hr as the service calls it, on the demo rows."""
    return shape_hr(
        cells_of(frame, cells, flt),
        flt,
        options,
        min_cell_count,
        points=lambda: points_of(selected(frame, flt)),
    )


FILTERS = [
    pytest.param(HrFilter(ALL, (0, 43), (21, 65)), id="everyone"),
    pytest.param(HrFilter(("IT", "Sales"), (5, 20), (21, 65)), id="two-departments"),
    pytest.param(HrFilter(ALL, (0, 43), (30, 45), Selection(department="Finance")), id="bar-click"),
    pytest.param(HrFilter(ALL, (0, 43), (21, 65), Selection(cell=(2, 3))), id="heatmap-cell"),
    pytest.param(HrFilter(ALL, (0, 43), (21, 65), Selection(box=(60, 80, 80000, 120000))), id="box"),
    pytest.param(HrFilter(ALL, (0, 43), (21, 65), Selection("IT", lasso=TRIANGLE)), id="lasso-and-bar"),
    pytest.param(HrFilter(("HR",), (40, 44), (21, 30)), id="nobody"),
]


@pytest.mark.parametrize("flt", FILTERS)
def test_shaping_counts_means_intervals_and_cells_match_pandas(frame, cells, options, flt):
    data = shape(frame, cells, options, flt)
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
    grouped = heat_rows.groupby([age_band, exp_band])["satisfaction"].agg(["mean", "size"])
    for (a, e), (mean, size) in grouped.iterrows():
        assert data.heatmap[int(a)][int(e)] == pytest.approx(mean, abs=0.006)
        assert data.heatmap_counts[int(a)][int(e)] == size
    assert sum(map(sum, data.heatmap_counts)) == len(heat_rows)


def test_a_clicked_bar_stands_out_and_the_others_stay_dimmed(frame, cells, options):
    data = shape(frame, cells, options, HrFilter(ALL, (0, 43), (21, 65), Selection(department="Finance")))
    bars = performance_by_department(data, "fr")["data"][0]
    assert sorted(bars["x"]) == sorted(ALL)
    opacity = dict(zip(bars["x"], bars["marker"]["opacity"], strict=True))
    assert opacity.pop("Finance") == 1.0
    assert all(o < 1 for o in opacity.values())
    assert data.count == int((frame["department"] == "Finance").sum())


def test_a_department_keeps_its_colour_whatever_the_filter(frame, cells, options):
    alone = performance_by_department(
        shape(frame, cells, options, HrFilter(("IT",), (0, 43), (21, 65))), "fr"
    )
    everyone = performance_by_department(shape(frame, cells, options, HrFilter(ALL, (0, 43), (21, 65))), "fr")
    colour = dict(zip(everyone["data"][0]["x"], everyone["data"][0]["marker"]["color"], strict=True))
    assert alone["data"][0]["marker"]["color"] == [colour["IT"]]


def test_department_bars_start_at_zero(frame, cells, options):
    figure = performance_by_department(shape(frame, cells, options, HrFilter(ALL, (0, 43), (21, 65))), "fr")
    assert figure["layout"]["yaxis"]["range"][0] == 0


def test_heatmap_cells_under_the_minimum_count_are_left_blank_and_said(frame, cells, options):
    data = shape(frame, cells, options, HrFilter(ALL, (0, 43), (21, 65)), min_cell_count=30)
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
def test_every_figure_is_valid_plotly_and_totals_the_population(frame, cells, options, flt):
    data = shape(frame, cells, options, flt)
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


# --- the cells ---


def assert_same_cells(got: Cells, expected: Cells, rel: float = 1e-9) -> None:
    """Same cells: keys, counts, minima, maxima and sparse bin counts exact, sums within rel."""
    g, e = got.frame.reset_index(drop=True), expected.frame.reset_index(drop=True)
    assert len(g) == len(e)
    for name in (*KEYS, "n", *MINIMA, *MAXIMA):
        assert g[name].tolist() == e[name].tolist(), name
    for name in SUMS:
        assert g[name].to_numpy(float) == pytest.approx(e[name].to_numpy(float), rel=rel), name
    assert np.array_equal(got.salary, expected.salary)
    assert np.array_equal(got.density, expected.density)


def test_the_cells_of_two_halves_merged_are_the_cells_of_the_whole(frame):
    whole = Cells.from_rows(frame)
    assert int(whole.frame["n"].sum()) == len(frame)
    assert int(whole.salary[:, 2].sum()) == int(whole.density[:, 3].sum()) == len(frame)
    mask = np.random.default_rng(3).random(len(frame)) < 0.5
    merged = Cells.merged([Cells.from_rows(frame[mask]), Cells.from_rows(frame[~mask])])
    assert_same_cells(merged, whole)
    in_order = Cells.merged([Cells.from_rows(frame.iloc[:700]), Cells.from_rows(frame.iloc[700:])])
    assert_same_cells(in_order, whole)
    assert_same_cells(Cells.merged([Cells.empty(), whole, Cells.from_rows(frame.iloc[:0])]), whole)


def test_the_cells_come_back_from_their_table_rows_exactly(frame):
    whole = Cells.from_rows(frame)
    rows = whole.table_rows()
    assert all(isinstance(r["salary_bins"], bytes) and isinstance(r["density"], bytes) for r in rows)
    names = [*KEYS, *MEASURES, "salary_bins", "density"]  # (read_cells's order)
    assert all(set(r) == {c.name for c in employee_cells.columns} | {"salary_bins", "density"} for r in rows)
    back = Cells.from_table([tuple(r[name] for name in names) for r in rows])  # (as read_cells reads them)
    assert_same_cells(back, whole, rel=0)
    for name in SUMS:
        assert back.frame[name].tolist() == whole.frame[name].tolist()
    assert [r["salary_bins"] for r in back.table_rows()] == [r["salary_bins"] for r in rows]
    assert [r["density"] for r in back.table_rows()] == [r["density"] for r in rows]
    assert len(Cells.from_table([])) == 0


@settings(max_examples=200, deadline=None)
@given(
    low=st.floats(0, 100_000_000, allow_nan=False),
    span=st.floats(0, 100_000_000, allow_nan=False),
)
def test_salary_bins_are_whole_multiples_of_the_step_and_cover_the_range(low, span):
    high = min(low + span, 100_000_000)
    edges = salary_edges((low, high))
    assert np.all(edges % SALARY_STEP == 0)
    width = edges[1] - edges[0]
    assert width % SALARY_STEP == 0 and np.allclose(np.diff(edges), width)
    assert 1 <= len(edges) - 1 <= MAX_SALARY_BINS
    assert edges[0] <= low and high < edges[-1]


def test_extreme_salaries_fall_in_the_histogram_and_it_totals_the_count(frame):
    extreme = frame.copy()
    extreme.loc[0, "salary"] = 0.0
    extreme.loc[1, "salary"] = 100_000_000.0
    extreme.loc[2, "salary"] = 99_999_999.5
    options = options_of_rows(extreme)
    edges = np.asarray(salary_edges(options.salary))
    assert np.all(edges % SALARY_STEP == 0) and len(edges) - 1 <= MAX_SALARY_BINS
    flt = options.everything()
    data = shape_hr(Cells.from_rows(extreme), flt, options, points=lambda: {})
    assert data.salary_edges == edges.tolist()
    assert sum(map(sum, data.salary_counts.values())) == data.count == len(extreme)
    for name, group in extreme.groupby("department"):
        expected = np.bincount(
            np.searchsorted(edges, group["salary"], side="right") - 1, minlength=len(edges) - 1
        )
        assert data.salary_counts[name] == expected.tolist(), name


def test_a_filter_on_whole_years_keeps_5_9_and_leaves_out_6_0():
    years = [0.0, 0.4, 4.99, 5.0, 5.9, 5.99999, 6.0, 6.1, 10.0]
    rows = pd.DataFrame(
        {
            "employee_id": range(1, len(years) + 1),
            "department": "IT",
            "age": 40,
            "experience_years": years,
            "salary": 50_000.0,
            "performance": 70.0,
            "satisfaction": 7.0,
        }
    )
    cells = Cells.from_rows(rows)
    counts = dict(zip(cells.frame["experience_year"], cells.frame["n"], strict=True))
    assert counts == {0: 2, 4: 1, 5: 3, 6: 2, 10: 1}, "completed years: 5.99999 is year 5, 6.0 year 6"
    options = options_of_rows(rows)
    assert options.experience == (0.0, 10.0)
    for bounds, expected in [((0, 5), 6), ((5, 5), 3), ((6, 6), 2), ((0, 10), 9), ((7, 9), 0)]:
        flt = HrFilter(("IT",), bounds, (40, 40))
        data = shape_hr(cells_of(rows, cells, flt), flt, options, points=lambda: {})
        assert data.count == len(selected(rows, flt)) == expected, bounds


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
        (["Legal"], [0, 43], [21, 65], {}),
        (list(ALL), [0, 1e9], [21, 65], {}),
        (list(ALL), "0-44", [21, 65], {}),
        (list(ALL), [0, 43], [21], {}),
        (list(ALL), [0, float("nan")], [21, 65], {}),
        (list(ALL), [True, 44], [21, 65], {}),
        (list(ALL), [0, 43], [21, 65], {"department": "Legal"}),
        (list(ALL), [0, 43], [21, 65], {"cell": [9, 9]}),
        (list(ALL), [0, 43], [21, 65], {"cell": [True, 1]}),
        (list(ALL), [0, 43], [21, 65], {"box": [0, 1, "x", 2]}),
        (list(ALL), [0, 43], [21, 65], {"lasso": [[0, 0]] * 5000}),
        (list(ALL), [0, 43], [21, 65], {"lasso": [[0, 0], [1, 1], [2]]}),
        (list(ALL), [0, 43], [21, 65], {"sql": "DROP TABLE employees"}),
        (list(ALL), [0, 43], [21, 65], ["department"]),
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


def test_kpis_and_table_cells_follow_the_language(frame, cells, options):
    data = shape(frame, cells, options, HrFilter(ALL, (0, 43), (21, 65)))
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


def test_hr_tooltips_use_the_locales_punctuation_and_decimals(frame, cells, options):
    data = shape(frame, cells, options, HrFilter(ALL, (0, 43), (21, 65)))
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


@settings(max_examples=60, deadline=None)
@given(
    vertices=st.lists(
        st.tuples(st.floats(0, 100, allow_nan=False), st.floats(0, 200_000, allow_nan=False)),
        min_size=3,
        max_size=60,
    ),
    seed=st.integers(0, 1000),
)
def test_the_rectangles_a_lasso_holds_whole_hold_only_points_inside_it(vertices, seed):
    """What the database counts without the exact test must be inside the lasso, to the last point
    (corners and edges of the rectangles included), and there are never too many rectangles."""
    rectangles = inner_rectangles(vertices, 2.5, 5000)
    assert len(rectangles) <= MAX_RECTANGLES
    rng = np.random.default_rng(seed)
    for x0, x1, y0, y1 in rectangles:
        x = np.concatenate([rng.uniform(x0, x1, 300), [x0, x0, np.nextafter(x1, x0)]])
        y = np.concatenate([rng.uniform(y0, y1, 300), [y0, np.nextafter(y1, y0), y0]])
        assert naive_inside(x, y, vertices).all()


def test_a_smooth_lasso_is_counted_mostly_by_rectangles_and_a_ragged_one_stays_cheap():
    t = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
    loop = list(zip(74 + 25 * np.cos(t), 100_000 + 30_000 * np.sin(t), strict=True))
    rectangles = inner_rectangles(loop, 2.5, 5000)
    area = sum((x1 - x0) * (y1 - y0) for x0, x1, y0, y1 in rectangles)
    assert 0.7 * math.pi * 25 * 30_000 < area < math.pi * 25 * 30_000
    comb = [(20 + k * 2.5 + d, 1_300_000) for k in range(31) for d in (0, 1.2)] + [
        (100, 30_000),
        (20, 30_000),
    ]
    assert len(inner_rectangles(comb, 2.5, 5000)) <= MAX_RECTANGLES
