"""RH numbers from the maintained `employee_cells` against pandas on the raw rows, on both databases.

(a) Many filters (a seeded random draw of departments, whole ranges of years and ages, bar, cell,
box and lasso selections, empty results included): every KPI, histogram bin, bar, interval,
heatmap cell, trend line, point and density bin of EmployeesService.dashboard against an
independent computation on the rows read with plain SQL; the table pages, counts and exports.
(b) The cells stay right through `dashhub load employees --replace`, an appended load and its undo.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats
from sqlalchemy import create_engine, select

from dashhub.cli import main
from dashhub.db import bump_version, employee_cell_counts, make_engine
from dashhub.demo import demo_employees
from dashhub.domain.hr import HrData, HrFilter, HrOptions, Selection
from dashhub.migrations import upgrade
from dashhub.services import employee_cells as cells_module
from dashhub.services import employees as employees_module
from dashhub.services.employee_cells import KEYS, MAXIMA, MINIMA, SUMS, Cells, read_cells
from dashhub.services.employees import MAX_POINTS, salary_edges
from dashhub.services.loading import insert_employees
from tests.conftest import make_settings, raw_table
from tests.support import services as test_services

ALL = ("Finance", "HR", "IT", "Marketing", "Sales")
AGE_BINS = [-np.inf, 25, 30, 35, 45, 55, np.inf]
EXP_BINS = [-np.inf, 5, 10, 20, 30, np.inf]
COLUMNS = ("employee_id", "department", "age", "experience_years", "salary", "performance", "satisfaction")
PERFORMANCE_STEP = 2.5  # (the density view's bins, as documented in employee_cells)


# --- the populations ---


@dataclass
class Population:
    """An app's RH service and what pandas knows of its employees."""

    service: employees_module.EmployeesService
    raw: pd.DataFrame
    min_cell_count: int


def population_of(app, url: str | None = None) -> Population:
    extensions = app.server.extensions["dashhub"]
    url = url or extensions.settings.database_url
    return Population(
        extensions.employees, raw_table(url, "employees"), extensions.settings.hr.min_cell_count
    )


_DEMO: dict[str, Population] = {}


@pytest.fixture
def demo(app) -> Population:
    """The shared demo app (2,000 employees: the scatter draws points), its raw rows read once."""
    url = app.server.extensions["dashhub"].settings.database_url
    if url not in _DEMO:
        _DEMO[url] = population_of(app)
    return _DEMO[url]


class BigPopulations:
    """A database of 12,000 demo employees per backend (the scatter becomes a density view)."""

    def __init__(self, root: Path, postgres_admin_url: Callable[[], str]) -> None:
        self._root = root
        self._postgres_admin_url = postgres_admin_url
        self._made: dict[str, tuple[object, Population]] = {}
        self._drops: list[Callable[[], None]] = []

    def get(self, backend: str) -> Population:
        if backend not in self._made:
            from dashhub.app import create_app

            folder = self._root / backend
            folder.mkdir()
            if backend == "sqlite":
                url = f"sqlite:///{folder / 'big.db'}"
            else:
                url, drop = test_services.create_database(self._postgres_admin_url())
                self._drops.append(drop)
            engine = make_engine(url)
            upgrade(engine)
            with engine.begin() as conn:
                insert_employees(conn, demo_employees(12_000, seed=11))
                cells_module.rebuild(conn)
                bump_version(conn, "employees")
            engine.dispose()
            app = create_app(make_settings(folder, url))
            self._made[backend] = (app, population_of(app, url))
        return self._made[backend][1]

    def close(self) -> None:
        for app, _ in self._made.values():
            app.server.extensions["dashhub"].engine.dispose()
        for drop in self._drops:
            drop()


@pytest.fixture(scope="module")
def big_populations(tmp_path_factory, request):
    populations = BigPopulations(
        tmp_path_factory.mktemp("big-hr"), lambda: request.getfixturevalue("postgres_admin_url")
    )
    yield populations
    populations.close()


@pytest.fixture
def big(backend, big_populations, monkeypatch) -> Population:
    # boxes and lassos read their rows a chunk at a time: small chunks, so that the cells and the
    # pages of several chunks are put together
    monkeypatch.setattr(employees_module, "CHUNK", 997)
    return big_populations.get(backend)


# --- pandas: the reference ---


def options_of_rows(raw: pd.DataFrame) -> HrOptions:
    return HrOptions(
        tuple(sorted(raw["department"].unique())),
        (0.0, float(np.floor(raw["experience_years"].max()))),
        (float(raw["age"].min()), float(raw["age"].max())),
        (float(raw["salary"].min()), float(raw["salary"].max())),
        len(raw),
    )


def inside_polygon(x: np.ndarray, y: np.ndarray, polygon) -> np.ndarray:
    """Even-odd ray casting over every point, one edge at a time."""
    out = np.zeros(len(x), dtype=bool)
    for (x1, y1), (x2, y2) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        if y1 == y2:
            continue
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x1 + (x2 - x1) * (y - y1) / (y2 - y1)
        out ^= crosses & (x < at)
    return out


def select_rows(raw: pd.DataFrame, flt: HrFilter, department: bool = True, cell: bool = True) -> pd.DataFrame:
    """The employees of flt (its clicked bar and heatmap cell only if asked)."""
    rows = raw[
        raw["department"].isin(flt.departments)
        & np.floor(raw["experience_years"]).between(*flt.experience)  # (completed years)
        & raw["age"].between(*flt.age)
    ]
    sel = flt.selection
    if sel.box is not None:
        x0, x1, y0, y1 = sel.box
        rows = rows[rows["performance"].between(x0, x1) & rows["salary"].between(y0, y1)]
    if sel.lasso is not None:
        rows = rows[inside_polygon(rows["performance"].to_numpy(), rows["salary"].to_numpy(), sel.lasso)]
    if department and sel.department is not None:
        rows = rows[rows["department"] == sel.department]
    if cell and sel.cell is not None:
        age_band = pd.cut(rows["age"], AGE_BINS, right=False, labels=False)
        exp_band = pd.cut(rows["experience_years"], EXP_BINS, right=False, labels=False)
        rows = rows[(age_band == sel.cell[0]) & (exp_band == sel.cell[1])]
    return rows


def shown_bins(salary: pd.Series, edges: np.ndarray) -> np.ndarray:
    """The histogram bin of each salary (bins closed on the left)."""
    return np.clip(np.searchsorted(edges, salary.to_numpy(float), side="right") - 1, 0, len(edges) - 2)


def check_dashboard(data: HrData, raw: pd.DataFrame, flt: HrFilter, min_cell_count: int) -> None:
    """Every number of data against pandas on raw."""
    options = options_of_rows(raw)
    rows = select_rows(raw, flt)
    count = len(rows)
    assert data.count == count
    assert data.all_departments == options.departments
    assert data.departments == tuple(sorted(rows["department"].unique()))
    assert (data.selected_department, data.selected_cell) == (flt.selection.department, flt.selection.cell)

    # KPIs
    if count:
        assert data.mean_salary == pytest.approx(rows["salary"].mean(), rel=1e-9)
        assert data.mean_performance == pytest.approx(rows["performance"].mean(), rel=1e-9)
        assert data.mean_satisfaction == pytest.approx(rows["satisfaction"].mean(), rel=1e-9)
    else:
        assert (data.mean_salary, data.mean_performance, data.mean_satisfaction) == (None, None, None)

    # histogram: fixed bins for the whole table, each employee in the bin of its salary
    edges = salary_edges(options.salary)
    assert data.salary_edges == edges.tolist()
    assert set(data.salary_counts) == set(rows["department"])
    for name, group in rows.groupby("department"):
        expected = np.bincount(shown_bins(group["salary"], edges), minlength=len(edges) - 1)
        assert data.salary_counts[name] == expected.tolist(), name
    assert sum(map(sum, data.salary_counts.values())) == count

    # bars: every department of the filter (a clicked one among them), mean and 95 % t-interval
    bar_rows = select_rows(raw, flt, department=False)
    bars = {name: (mean, half, n) for name, mean, half, n in data.by_department}
    assert set(bars) == set(bar_rows["department"])
    means = [row[1] for row in data.by_department]
    assert means == sorted(means, reverse=True), "best first"
    for name, group in bar_rows.groupby("department"):
        mean, half, n = bars[name]
        assert n == len(group)
        assert mean == pytest.approx(group["performance"].mean(), rel=1e-9)
        if n == 1:
            assert half is None
        else:
            expected = stats.t.ppf(0.975, n - 1) * group["performance"].std(ddof=1) / math.sqrt(n)
            assert half == pytest.approx(expected, rel=1e-6, abs=1e-6)

    # heatmap: every cell of the filter (a clicked one among them), small cells blank
    heat_rows = select_rows(raw, flt, cell=False)
    age_band = pd.cut(heat_rows["age"], AGE_BINS, right=False, labels=False).to_numpy(int)
    exp_band = pd.cut(heat_rows["experience_years"], EXP_BINS, right=False, labels=False).to_numpy(int)
    counts = np.zeros((6, 5), int)
    sums = np.zeros((6, 5))
    np.add.at(counts, (age_band, exp_band), 1)
    np.add.at(sums, (age_band, exp_band), heat_rows["satisfaction"].to_numpy(float))
    assert data.heatmap_counts == counts.tolist()
    for a in range(6):
        for e in range(5):
            if counts[a, e] >= max(min_cell_count, 1):
                assert data.heatmap[a][e] == pytest.approx(sums[a, e] / counts[a, e], abs=0.0051), (a, e)
            else:
                assert data.heatmap[a][e] is None, (a, e)

    # trend lines: least squares per department, from its lowest to its highest performance
    expected_trends = {}
    for name, group in rows.groupby("department"):
        x, y = group["performance"].to_numpy(float), group["salary"].to_numpy(float)
        if len(group) >= 2 and x.min() < x.max():
            slope, intercept = np.polyfit(x, y, 1)
            expected_trends[name] = (
                x.min(),
                intercept + slope * x.min(),
                x.max(),
                intercept + slope * x.max(),
            )
    assert set(data.trends) == set(expected_trends)
    for name, line in expected_trends.items():
        assert data.trends[name] == pytest.approx(line, rel=1e-6), name

    # scatter: points up to MAX_POINTS employees, a density view beyond
    if count <= MAX_POINTS:
        assert data.scatter_mode == "points" and data.density is None
        assert set(data.points) == set(rows["department"])
        ids = [c[0] for p in data.points.values() for c in p["customdata"]]
        assert sorted(ids) == sorted(rows["employee_id"].tolist())
        assert sum(len(p["x"]) for p in data.points.values()) == count
    else:
        assert data.scatter_mode == "density" and data.points == {}
        check_density(data.density, rows, edges)


def check_density(density: dict, rows: pd.DataFrame, edges: np.ndarray) -> None:
    z = np.array([[v or 0 for v in row] for row in density["z"]])
    assert z.sum() == len(rows)
    px = np.floor(rows["performance"].to_numpy(float) / PERFORMANCE_STEP).astype(int)
    py = shown_bins(rows["salary"], edges)
    x0, y0 = px.min(), py.min()
    expected = np.zeros((py.max() - y0 + 1, px.max() - x0 + 1), int)
    np.add.at(expected, (py - y0, px - x0), 1)
    assert z.tolist() == expected.tolist()
    assert all(v is None or v > 0 for row in density["z"] for v in row), "empty bins are left empty"
    width = edges[1] - edges[0]
    assert density["x"] == [round((x0 + i + 0.5) * PERFORMANCE_STEP, 2) for i in range(expected.shape[1])]
    assert density["y"] == [round(float(edges[y0 + j]) + width / 2, 1) for j in range(expected.shape[0])]


def records(rows: pd.DataFrame) -> list[dict]:
    return [
        {
            "employee_id": int(r.employee_id),
            "department": r.department,
            "age": int(r.age),
            "experience_years": float(r.experience_years),
            "salary": float(r.salary),
            "performance": float(r.performance),
            "satisfaction": float(r.satisfaction),
        }
        for r in rows.itertuples()
    ]


# --- the filters ---


def random_lasso(rng: np.random.Generator) -> tuple[tuple[float, float], ...]:
    """A star-shaped polygon of 3 to 12 vertices somewhere over the bulk of the scatter."""
    cx, cy = rng.uniform(55, 90), rng.uniform(70_000, 130_000)
    k = int(rng.integers(3, 13))
    angles = np.sort(rng.uniform(0, 2 * np.pi, k))
    rx, ry = rng.uniform(4, 25, k), rng.uniform(8_000, 45_000, k)
    return tuple(
        (float(cx + a * np.cos(t)), float(cy + b * np.sin(t))) for t, a, b in zip(angles, rx, ry, strict=True)
    )


def random_filters(seed: int, count: int, full: HrOptions) -> list[tuple[str, HrFilter]]:
    """count filters drawn at random (a seeded generator, so that every run sees the same)."""
    rng = np.random.default_rng(seed)
    out = []
    max_year, (low_age, high_age) = int(full.experience[1]), (int(full.age[0]), int(full.age[1]))
    for i in range(count):
        size = int(rng.choice([0, 1, 2, 3, 3, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5])) if i % 9 else 5
        departments = tuple(sorted(rng.choice(ALL, size, replace=False).tolist()))
        experience = (0, max_year)
        if rng.random() < 0.5:
            lo = int(rng.integers(0, max_year - 10))
            experience = (lo, int(rng.integers(lo, max_year + 1)))
        age = (low_age, high_age)
        if rng.random() < 0.4:
            lo = int(rng.integers(low_age, high_age - 10))
            age = (lo, int(rng.integers(lo + 3, high_age + 1)))
        department = None
        if rng.random() < 0.3:  # (mostly one of the filter's departments)
            department = str(rng.choice(departments if departments and rng.random() < 0.8 else ALL))
        cell = (int(rng.integers(0, 6)), int(rng.integers(0, 5))) if rng.random() < 0.25 else None
        box = lasso = None
        shape = rng.random()
        if shape < 0.25:
            x0, y0 = rng.uniform(30, 90), rng.uniform(40_000, 140_000)
            box = (
                float(x0),
                float(x0 + rng.uniform(2, 40)),
                float(y0),
                float(y0 + rng.uniform(5_000, 80_000)),
            )
            if rng.random() < 0.3:
                box = tuple(float(round(v, -1 if v < 1000 else -4)) for v in box)  # (round: ends included)
        elif shape < 0.45:
            lasso = random_lasso(rng)
        flt = HrFilter(
            departments,
            tuple(map(float, experience)),
            tuple(map(float, age)),
            Selection(department, cell, box, lasso),
        )
        out.append((f"random-{i:02d}", flt))
    return out


DEMO_OPTIONS = HrOptions(ALL, (0.0, 43.0), (21.0, 65.0), (0.0, 0.0), 2000)  # (the ranges filters draw from)
EVERYONE = HrFilter(ALL, (0.0, 43.0), (21.0, 65.0))
SQUARE = ((60.05, 80000.5), (80.05, 80000.5), (80.05, 120000.5), (60.05, 120000.5))
DEMO_FILTERS = [
    ("everyone", EVERYONE),
    ("no-department", replace(EVERYONE, departments=())),
    ("nobody", HrFilter(("HR",), (40.0, 43.0), (21.0, 30.0))),
    ("bar-outside-the-filter", HrFilter(("IT",), (0.0, 43.0), (21.0, 65.0), Selection(department="HR"))),
    ("empty-cell", replace(EVERYONE, selection=Selection(cell=(0, 4)))),
    ("whole-years", HrFilter(("IT", "Sales"), (5.0, 5.0), (21.0, 65.0))),
    ("box-round-ends", replace(EVERYONE, selection=Selection(box=(60.0, 80.0, 80000.0, 120000.0)))),
    ("lasso-bar-cell", replace(EVERYONE, selection=Selection("IT", (3, 2), lasso=SQUARE))),
    *random_filters(2026, 34, DEMO_OPTIONS),
]


@pytest.mark.parametrize("flt", [f for _, f in DEMO_FILTERS], ids=[name for name, _ in DEMO_FILTERS])
def test_the_dashboard_of_a_filter_matches_the_raw_rows(demo, flt):
    check_dashboard(demo.service.dashboard(flt), demo.raw, flt, demo.min_cell_count)


def test_the_random_filters_cover_empty_and_full_results(demo):
    counts = [len(select_rows(demo.raw, flt)) for _, flt in DEMO_FILTERS]
    assert sum(c == 0 for c in counts) >= 4 and sum(c > 100 for c in counts) >= 10
    selections = [flt.selection for _, flt in DEMO_FILTERS]
    for kind in ("department", "cell", "box", "lasso"):
        assert sum(getattr(s, kind) is not None for s in selections) >= 4, kind
    assert demo.service.options() == options_of_rows(demo.raw)


BIG_OPTIONS = HrOptions(ALL, (0.0, 43.0), (21.0, 65.0), (0.0, 0.0), 12_000)
BIG_FILTERS = [
    ("everyone", EVERYONE),
    ("box-around-everyone", replace(EVERYONE, selection=Selection(box=(0.0, 100.0, 0.0, 1e9)))),
    ("big-lasso", replace(EVERYONE, selection=Selection(lasso=((10, 0), (100, 0), (100, 4e5), (10, 4e5))))),
    ("lasso-and-bar", replace(EVERYONE, selection=Selection("Sales", lasso=SQUARE))),
    ("cell", replace(EVERYONE, selection=Selection(cell=(3, 2)))),
    *random_filters(7, 6, BIG_OPTIONS),
]


@pytest.mark.parametrize(("name", "flt"), BIG_FILTERS, ids=[name for name, _ in BIG_FILTERS])
def test_a_big_population_draws_a_density_view_that_matches_the_raw_rows(big, name, flt):
    data = big.service.dashboard(flt)
    check_dashboard(data, big.raw, flt, big.min_cell_count)
    if name in ("everyone", "box-around-everyone"):
        assert data.count == 12_000 and data.scatter_mode == "density"


SORTS = [
    [("salary", True)],
    [("age", False), ("performance", True)],
    [("department", True), ("experience_years", False)],
    [("satisfaction", False)],
]


def expected_page(rows: pd.DataFrame, sort, start: int, end: int) -> list[dict]:
    by = [name for name, _ in sort] + ["employee_id"]
    ordered = rows.sort_values(by, ascending=[not d for _, d in sort] + [True], kind="stable")
    return records(ordered.iloc[start:end])


@pytest.mark.parametrize(
    "flt",
    [
        HrFilter(("IT", "Sales"), (0.0, 43.0), (21.0, 65.0)),
        HrFilter(ALL, (3.0, 20.0), (30.0, 50.0), Selection(department="Finance", cell=(3, 2))),
        replace(EVERYONE, selection=Selection(box=(60.0, 80.0, 80000.0, 120000.0))),
        replace(EVERYONE, selection=Selection(lasso=SQUARE)),
    ],
    ids=["departments", "bar-and-cell", "box", "lasso"],
)
def test_table_pages_are_the_sorted_rows(demo, flt):
    rows = select_rows(demo.raw, flt)
    assert len(rows) > 60
    for sort in SORTS:
        for start, end in [(0, 25), (40, 65), (len(rows) - 10, len(rows) + 15)]:
            page, total = demo.service.rows(flt, start, end, sort)
            assert total == len(rows)
            assert page == expected_page(rows, sort, start, end), (sort, start, end)
    assert demo.service.rows(flt, len(rows), len(rows) + 20, SORTS[0]) == ([], len(rows))


def test_a_lasso_counts_pages_and_exports_its_rows_across_chunks(big):
    t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    radius = 1 + 0.15 * np.sin(5 * t)  # (a wobbly loop around the bulk of the scatter)
    lasso = tuple(
        (float(75.05 + 22 * r * np.cos(a)), float(100_000.5 + 45_000 * r * np.sin(a)))
        for a, r in zip(t, radius, strict=True)
    )
    flt = HrFilter(("HR", "IT", "Sales"), (2.0, 40.0), (21.0, 65.0), Selection(lasso=lasso))
    rows = select_rows(big.raw, flt)
    assert len(rows) > 2 * employees_module.CHUNK, "the rows span several chunks"
    assert big.service.count_rows(flt) == len(rows)
    assert list(big.service.iter_rows(flt)) == records(rows.sort_values("employee_id"))
    for sort in SORTS[:2]:
        for start, end in [(0, 50), (990, 1010), (len(rows) - 5, len(rows) + 5)]:
            page, total = big.service.rows(flt, start, end, sort)
            assert total == len(rows)
            assert page == expected_page(rows, sort, start, end), (sort, start, end)


# --- (b) the cells through loads, appends and undos ---


def _invoke(settings, *args):
    env = {"DASHHUB_DATABASE__URL": settings.database_url, "DASHHUB_PATHS__DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(main, list(args), env=env)


def employees_csv(
    path: Path, ids: range, departments: tuple[str, ...], seed: int, extra: list[tuple]
) -> Path:
    """Valid employees with ids, and extra rows (department, age, experience, salary, performance,
    satisfaction) after them."""
    rng = np.random.default_rng(seed)
    n = len(ids)
    age = rng.integers(18, 70, n)
    frame = pd.DataFrame(
        {
            "employee_id": list(ids),
            "department": rng.choice(departments, n),
            "age": age,
            "experience_years": np.round(rng.uniform(0, 1, n) * (age - 17), 1),
            "salary": np.round(rng.normal(70_000, 20_000, n).clip(20_000, None), 2),
            "performance": np.round(rng.uniform(20, 100, n), 1),
            "satisfaction": np.round(rng.uniform(0, 10, n), 1),
        }
    )
    more = pd.DataFrame(extra, columns=list(COLUMNS[1:]))
    more.insert(0, "employee_id", range(ids.stop, ids.stop + len(more)))
    pd.concat([frame, more], ignore_index=True).to_csv(path, index=False)
    return path


def assert_same_cells(got: Cells, expected: Cells) -> None:
    g, e = got.frame.reset_index(drop=True), expected.frame.reset_index(drop=True)
    assert len(g) == len(e)
    for name in (*KEYS, "n", *MINIMA, *MAXIMA):
        assert g[name].tolist() == e[name].tolist(), name
    for name in SUMS:
        assert g[name].to_numpy(float) == pytest.approx(e[name].to_numpy(float), rel=1e-9), name
    assert np.array_equal(got.salary, expected.salary)
    assert np.array_equal(got.density, expected.density)


def check_cells_and_numbers(app, url: str) -> pd.DataFrame:
    """The stored cells are those of the rows, and the dashboard's numbers those of pandas."""
    raw = raw_table(url, "employees")
    expected = Cells.from_rows(raw)
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = read_cells(conn)
        blobs = {
            (r.department, r.age, r.experience_year): (bytes(r.salary_bins), bytes(r.density))
            for r in conn.execute(select(employee_cell_counts)).all()
        }
    engine.dispose()
    assert_same_cells(stored, expected)
    assert int(stored.frame["n"].sum()) == len(raw)
    assert blobs == {
        (r["department"], r["age"], r["experience_year"]): (r["salary_bins"], r["density"])
        for r in expected.table_rows()
    }
    service = app.server.extensions["dashhub"].employees
    min_cell_count = app.server.extensions["dashhub"].settings.hr.min_cell_count
    options = options_of_rows(raw)
    assert service.options() == options
    everyone = options.everything()
    lasso = ((30.05, 30000.5), (95.05, 45000.5), (90.05, 160000.5), (35.05, 120000.5))
    for flt in (
        everyone,
        replace(everyone, experience=(0.0, 5.0)),
        replace(everyone, departments=options.departments[:2], experience=(6.0, 6.0), age=(30.0, 60.0)),
        replace(everyone, selection=Selection(box=(0.0, 100.0, 0.0, 1e9))),
        replace(everyone, selection=Selection(department=options.departments[-1], lasso=lasso)),
        replace(everyone, selection=Selection(cell=(2, 1))),
    ):
        check_dashboard(service.dashboard(flt), raw, flt, min_cell_count)
    return raw


def test_the_cells_follow_a_replace_an_append_and_an_undo(settings, demo_app, tmp_path):
    url = settings.database_url
    # completed years: 5.9 is year 5, 6.0 year 6; salaries and performances at their limits
    boundary = [
        ("IT", 40, 5.9, 50_000, 70.0, 7.0),
        ("IT", 40, 6.0, 50_000, 70.0, 7.0),
        ("IT", 40, 5.0, 50_000, 70.0, 7.0),
        ("IT", 41, 0.0, 20_000.5, 0.0, 0.0),
        ("HR", 100, 80.0, 250_000, 100.0, 10.0),
    ]
    first = employees_csv(tmp_path / "first.csv", range(1, 2501), ALL, 1, boundary)
    result = _invoke(settings, "load", "employees", str(first), "--replace", "--yes")
    assert result.exit_code == 0, result.output
    raw = check_cells_and_numbers(demo_app, url)
    assert len(raw) == 2505 and raw["employee_id"].max() == 2505, "the demo employees were replaced"

    whole_years = HrFilter(("IT",), (0.0, 5.0), (40.0, 40.0), Selection(box=(0.0, 100.0, 0.0, 1e9)))
    kept = {
        r["experience_years"] for r in demo_app.server.extensions["dashhub"].employees.iter_rows(whole_years)
    }
    assert 5.9 in kept and 5.0 in kept and 6.0 not in kept

    extremes = [("Legal", 30, 3.3, 0.0, 50.0, 5.0), ("IT", 60, 30.0, 100_000_000.0, 99.9, 9.9)]
    second = employees_csv(tmp_path / "second.csv", range(10_001, 11_501), ("IT", "Legal"), 2, extremes)
    result = _invoke(settings, "load", "employees", str(second))
    assert result.exit_code == 0, result.output
    load_id = int(result.output.split("This was load ")[1].split(" ")[0])
    raw = check_cells_and_numbers(demo_app, url)
    assert len(raw) == 2505 + 1502 and "Legal" in set(raw["department"])

    result = _invoke(settings, "loads", "undo", str(load_id))
    assert result.exit_code == 0 and "1,502 rows deleted from employees" in result.output, result.output
    raw = check_cells_and_numbers(demo_app, url)
    assert len(raw) == 2505 and "Legal" not in set(raw["department"])
