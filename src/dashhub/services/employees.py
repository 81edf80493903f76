"""Employees data service for the RH dashboard: numbers from the maintained cells, rows from SQL.

Every KPI and chart of a filter is a sum over the `employee_cells` rows the filter covers
(department × age × completed year of experience: a few thousand rows at most, whatever the number
of employees). A box or lasso drawn on the scatter is the one choice the cells cannot answer: its
rows are read from the database within its bounding box (`ix_employees_scatter`), a chunk at a
time, tested against the polygon, and counted into cells the same way. The table page and the
points of a population of at most MAX_POINTS read rows through the indexes too. No process holds
the table; the shaped answer is cached under the "hr" access scope.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
from scipy.special import stdtrit  # (the t quantile, without scipy.stats' second of imports)
from sqlalchemy import Engine, and_, false, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from dashhub.db import employee_cells, employees, read_version
from dashhub.domain.hr import (
    AGE_EDGES,
    AGE_LABELS,
    COLUMNS,
    EXP_EDGES,
    EXP_LABELS,
    HrData,
    HrFilter,
    HrOptions,
    Selection,
)
from dashhub.services import employee_bins
from dashhub.services.cache import QueryCache
from dashhub.services.employee_cells import (
    PERFORMANCE_STEP,
    SALARY_STEP,
    SUMS,
    Cells,
    counted,
    fine_query,
    read_cells,
    salary_edges,
    shown_bin,
    stream_frames,
)
from dashhub.services.polygons import inner_rectangles
from dashhub.services.polygons import inside as _inside

SCOPE = "hr"
MAX_POINTS = 5000  # above this many employees the scatter becomes a density view
CHUNK = 100_000  # rows of a box or lasso read at a time
# A box or lasso is answered from the rows inside its bounding box (each one read, the lasso's
# tested): at most this many of them, so that one selection cannot hold a worker for minutes.
MAX_SELECTED = 500_000


class EmployeesService:
    def __init__(self, engine: Engine, cache: QueryCache, min_cell_count: int = 1) -> None:
        self._engine = engine
        self._min_cell_count = min_cell_count
        self._cache = cache

    def version(self) -> int:
        return read_version(self._engine, "employees")

    def options(self) -> HrOptions:
        key = QueryCache.key("employees", self.version(), "options", (), SCOPE)
        return self._cache.get_or_compute(key, self._read_options)

    def dashboard(self, flt: HrFilter) -> HrData:
        args = (*_args(flt), self._min_cell_count)
        key = QueryCache.key("employees", self.version(), "dashboard", args, SCOPE)
        return self._cache.get_or_compute(key, lambda: self._dashboard(flt))

    def rows(
        self, flt: HrFilter, start: int, end: int, sort: list[tuple[str, bool]]
    ) -> tuple[list[dict], int]:
        """One page of the filtered employees (sorted), and how many there are in all."""
        total = self.dashboard(flt).count
        start, end = max(0, start), max(0, end)
        if end <= start or start >= total:
            return [], total
        order = [employees.c[name].desc() if descending else employees.c[name] for name, descending in sort]
        query = select(*(employees.c[c] for c in COLUMNS)).where(*row_conditions(flt, self.options()))
        query = query.order_by(*order, employees.c.employee_id)
        if flt.selection.lasso is None:
            with self._engine.connect() as conn:
                page = conn.execute(query.offset(start).limit(end - start)).all()
            return [_row(r) for r in page], total
        found: list[dict] = []
        seen = 0
        for chunk in self._inside(query, flt.selection):
            if seen + len(chunk) > start:
                found.extend(
                    _row(r) for r in chunk.iloc[max(0, start - seen) : end - seen].itertuples(index=False)
                )
            seen += len(chunk)
            if seen >= end:
                break
        return found, total

    def selection_bound(self, flt: HrFilter) -> int:
        """How many employees of flt's filters lie in the bounding box of its box or lasso (0
        without one), or a number past MAX_SELECTED when there are more, without reading more
        than MAX_SELECTED + 1 index entries: the cells' performance × salary bins the box covers
        whole and those it touches give a lower and an upper bound; only between the two does the
        database count, and it stops past the limit."""
        sel = flt.selection
        if sel.box is None and sel.lasso is None:
            return 0
        x0, x1, y0, y1 = _bounding_box(sel)
        key = QueryCache.key("employees", self.version(), "bound", (*_args(flt), x0, x1, y0, y1), SCOPE)

        def compute() -> int:
            with self._engine.connect() as conn:
                cells = read_cells(conn, *cell_conditions(flt))
                if not len(cells):
                    return 0
                p, s, n = cells.density_of(np.ones(len(cells), dtype=bool))
                px0, px1 = p * PERFORMANCE_STEP, (p + 1) * PERFORMANCE_STEP
                sy0, sy1 = s.astype(np.float64) * SALARY_STEP, (s.astype(np.float64) + 1) * SALARY_STEP
                touched = (px1 > x0) & (px0 <= x1) & (sy1 > y0) & (sy0 <= y1)
                whole = (px0 >= x0) & (px1 <= x1) & (sy0 >= y0) & (sy1 <= y1)
                upper, lower = int(n[touched].sum()), int(n[whole].sum())
                if upper <= MAX_SELECTED or lower > MAX_SELECTED:
                    return upper
                around = HrFilter(
                    flt.departments, flt.experience, flt.age, Selection(box=sel.box, lasso=sel.lasso)
                )
                inside = select(employees.c.employee_id).where(*row_conditions(around, self.options()))
                limited = inside.limit(MAX_SELECTED + 1).subquery()
                return int(conn.scalar(select(func.count()).select_from(limited)))

        return self._cache.get_or_compute(key, compute)

    def count_rows(self, flt: HrFilter) -> int:
        return self.dashboard(flt).count

    def iter_rows(self, flt: HrFilter) -> Iterator[dict]:
        query = select(*(employees.c[c] for c in COLUMNS)).where(*row_conditions(flt, self.options()))
        for chunk in self._inside(query.order_by(employees.c.employee_id), flt.selection):
            yield from (_row(r) for r in chunk.itertuples(index=False))

    # --- reading ---

    def _read_options(self) -> HrOptions:
        c = employee_cells.c
        query = select(
            c.department,
            func.sum(c.n),
            func.min(c.age),
            func.max(c.age),
            func.max(c.experience_year),
            func.min(c.salary_min),
            func.max(c.salary_max),
        ).group_by(c.department)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return HrOptions((), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), 0)
        return HrOptions(
            tuple(sorted(r[0] for r in rows)),
            (0.0, float(max(r[4] for r in rows))),
            (float(min(r[2] for r in rows)), float(max(r[3] for r in rows))),
            (float(min(r[5] for r in rows)), float(max(r[6] for r in rows))),
            int(sum(r[1] for r in rows)),
        )

    def _dashboard(self, flt: HrFilter) -> HrData:
        options = self.options()
        sel = flt.selection
        if sel.box is None and sel.lasso is None:
            # the cells' sums and extremes; the histogram and density from the cumulative bins
            with self._engine.connect() as conn:
                cells = read_cells(conn, *cell_conditions(flt), blobs=False)
                bins = employee_bins.binned(conn, chosen_rectangle(flt), salary_edges(options.salary))
                if bins is None:  # (counted with other salary bins: a load is committing)
                    cells = read_cells(conn, *cell_conditions(flt))
        else:
            cells, bins = self._cells(flt), None
        return shape_hr(
            cells, flt, options, self._min_cell_count, points=lambda: self._points(flt), bins=bins
        )

    def _cells(self, flt: HrFilter) -> Cells:
        """The cells of the filter and the scatter's box or lasso (not the clicked bar or cell: the
        bars and the heatmap show every department and cell around the one clicked)."""
        sel = flt.selection
        with self._engine.connect() as conn:
            if sel.box is None and sel.lasso is None:
                return read_cells(conn, *cell_conditions(flt))
            around = HrFilter(
                flt.departments, flt.experience, flt.age, Selection(box=sel.box, lasso=sel.lasso)
            )
            conditions = row_conditions(around, self.options())
            if sel.lasso is None:  # a rectangle: the database counts it
                return counted(conn, fine_query(*conditions))
            # a lasso: the database counts the grid cells it holds whole; the rows of the cells its
            # edges cross come here for the exact test
            whole = _in_rectangles(inner_rectangles(sel.lasso, PERFORMANCE_STEP, SALARY_STEP))
            parts = [counted(conn, fine_query(*conditions, whole))]
            edge_rows = select(*(employees.c[c] for c in COLUMNS)).where(*conditions, ~whole)
            parts += [Cells.from_rows(chunk) for chunk in _inside_rows(conn, edge_rows, sel)]
            return Cells.merged(parts)

    def _points(self, flt: HrFilter) -> dict[str, dict[str, list]]:
        query = select(*(employees.c[c] for c in COLUMNS)).where(*row_conditions(flt, self.options()))
        with self._engine.connect() as conn:
            chunks = list(_inside_rows(conn, query.order_by(employees.c.employee_id), flt.selection))
        return _points(pd.concat(chunks, ignore_index=True) if chunks else _no_rows())

    def _inside(self, query, sel: Selection) -> Iterator[pd.DataFrame]:
        with self._engine.connect() as conn:
            yield from _inside_rows(conn, query, sel)


def _in_rectangles(rectangles: list[tuple[float, float, float, float]]) -> ColumnElement:
    e = employees.c
    if not rectangles:
        return false()
    return or_(
        *(
            and_(e.performance >= x0, e.performance < x1, e.salary >= y0, e.salary < y1)
            for x0, x1, y0, y1 in rectangles
        )
    )


def _inside_rows(conn: Connection, query, sel: Selection) -> Iterator[pd.DataFrame]:
    """The rows of query (the employees table's COLUMNS), a chunk at a time, through the driver's
    cursor (server-side on PostgreSQL), without those outside the lasso (if any)."""
    for chunk in stream_frames(conn, query, list(COLUMNS), CHUNK):
        if sel.lasso is not None:
            x, y = chunk["performance"].to_numpy(float), chunk["salary"].to_numpy(float)
            chunk = chunk[_inside(x, y, sel.lasso, np.ones(len(chunk), dtype=bool))]
        if len(chunk):
            yield chunk


def _no_rows() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c == "department" else float) for c in COLUMNS})


# --- the filter in SQL ---


def cell_conditions(flt: HrFilter) -> list[ColumnElement]:
    """The stored cells of flt's departments, ages and completed years of experience."""
    c = employee_cells.c
    return [
        c.department.in_(flt.departments),
        c.age.between(flt.age[0], flt.age[1]),
        c.experience_year.between(flt.experience[0], flt.experience[1]),
    ]


def row_conditions(flt: HrFilter, options: HrOptions) -> list[ColumnElement]:
    """The employees of flt, its chart selection included (a lasso by its bounding box: the
    polygon itself is tested on these candidates). A filter that keeps the whole of what the data
    holds is left out: the database then picks the index of what does narrow the rows (or reads the
    table in order for a page) instead of the filters' index."""
    e = employees.c
    out = []
    if set(flt.departments) != set(options.departments):
        out.append(e.department.in_(flt.departments))
    if flt.age[0] > options.age[0] or flt.age[1] < options.age[1]:
        out.append(e.age.between(flt.age[0], flt.age[1]))
    if flt.experience[0] > options.experience[0] or flt.experience[1] < options.experience[1]:
        # (completed years: 4.9 years is year 4)
        out += [e.experience_years >= flt.experience[0], e.experience_years < flt.experience[1] + 1]
    sel = flt.selection
    if sel.department is not None:
        out.append(e.department == sel.department)
    if sel.cell is not None:
        out += _band(e.age, AGE_EDGES, sel.cell[0]) + _band(e.experience_years, EXP_EDGES, sel.cell[1])
    if sel.box is not None or sel.lasso is not None:
        x0, x1, y0, y1 = _bounding_box(sel)
        out += [e.performance.between(x0, x1), e.salary.between(y0, y1)]
    return out


def _bounding_box(sel: Selection) -> tuple[float, float, float, float]:
    """Performance and salary ranges of the box, the lasso's bounding box, or both's overlap."""
    x0, x1, y0, y1 = -math.inf, math.inf, -math.inf, math.inf
    if sel.box is not None:
        x0, x1, y0, y1 = sel.box
    if sel.lasso is not None:
        xs, ys = [p[0] for p in sel.lasso], [p[1] for p in sel.lasso]
        x0, x1 = max(x0, min(xs)), min(x1, max(xs))
        y0, y1 = max(y0, min(ys)), min(y1, max(ys))
    return x0, x1, y0, y1


def _band(column, edges: tuple[int, ...], band: int) -> list[ColumnElement]:
    """column within band (0: below the first edge, len(edges): from the last one up)."""
    out = []
    if band > 0:
        out.append(column >= edges[band - 1])
    if band < len(edges):
        out.append(column < edges[band])
    return [and_(*out)] if out else []


# --- shaping ---


def shape_hr(
    cells: Cells,
    flt: HrFilter,
    options: HrOptions,
    min_cell_count: int = 1,
    points: Callable[[], dict[str, dict[str, list]]] | None = None,
    bins: dict[str, np.ndarray] | None = None,
) -> HrData:
    """What the RH page draws for flt, from the cells of its filter (and box or lasso); heatmap
    cells of fewer than min_cell_count employees are left empty (their counts kept, for the tooltip
    and the note). points gives the scatter's points when there are few enough to draw; bins, the
    histogram and density counts of the chosen employees per department (employee_bins.binned),
    else they are summed from the cells' own counts."""
    names = options.departments
    f = cells.frame
    code = pd.Categorical(f["department"], categories=names).codes.astype(np.int64)
    age_band = np.searchsorted(AGE_EDGES, f["age"].to_numpy(np.int64), side="right")
    exp_band = np.searchsorted(EXP_EDGES, f["experience_year"].to_numpy(np.int64), side="right")
    sel = flt.selection
    in_department = np.ones(len(f), dtype=bool)
    if sel.department is not None:
        in_department = code == (names.index(sel.department) if sel.department in names else -1)
    in_cell = np.ones(len(f), dtype=bool)
    if sel.cell is not None:
        in_cell = (age_band == sel.cell[0]) & (exp_band == sel.cell[1])
    chosen = in_department & in_cell
    # The department bars and the heatmap show every department and cell of the filter, the
    # clicked one highlighted (the others dimmed), not only the one clicked.
    nd = len(names)
    per_department = {m: _by(code, f[m].to_numpy(np.float64), chosen, nd) for m in SUMS}
    n = per_department["n"]
    count = int(n.sum())
    present = tuple(names[c] for c in range(nd) if n[c] > 0)
    edges = salary_edges(options.salary)
    heat_means, heat_counts = _heatmap(age_band, exp_band, f, in_department, min_cell_count)
    return HrData(
        count=count,
        mean_salary=_mean(per_department["salary_sum"], count),
        mean_performance=_mean(per_department["performance_sum"], count),
        mean_satisfaction=_mean(per_department["satisfaction_sum"], count),
        departments=present,
        salary_edges=edges.tolist(),
        salary_counts=_salary_counts(cells.salary, code, chosen, edges, names, present)
        if bins is None
        else {name: bins[name].sum(axis=0).tolist() for name in present if name in bins},
        scatter_mode="points" if count <= MAX_POINTS else "density",
        points=(points() if points is not None else {}) if 0 < count <= MAX_POINTS else {},
        density=None
        if count <= MAX_POINTS
        else _density(*cells.density_of(chosen), edges)
        if bins is None
        else _density_of_bins(sum(bins.values()), edges),
        trends=_trends(per_department, code, f, chosen, names),
        by_department=_by_department(code, f, in_cell, names),
        heatmap=heat_means,
        heatmap_counts=heat_counts,
        all_departments=names,
        min_cell_count=min_cell_count,
        selected_department=sel.department,
        selected_cell=sel.cell,
    )


def _by(code: np.ndarray, values: np.ndarray, keep: np.ndarray, nd: int) -> np.ndarray:
    """values summed per department over the kept cells."""
    return np.bincount(code[keep], values[keep], minlength=nd)


def _mean(total: np.ndarray, count: int) -> float | None:
    return float(total.sum() / count) if count else None


def _kept(sparse: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The sparse counts of the kept cells."""
    return sparse if keep.all() else sparse[keep[sparse[:, 0]]]


def _salary_counts(sparse, code, keep, edges, names, present) -> dict[str, list[int]]:
    nb, nd = len(edges) - 1, len(names)
    rows = _kept(sparse, keep)
    counts = np.bincount(
        code[rows[:, 0]] * nb + shown_bin(rows[:, 1], edges), rows[:, 2], minlength=nd * nb
    ).reshape(nd, nb)
    return {names[c]: counts[c].astype(np.int64).tolist() for c in range(nd) if names[c] in present}


def _density(
    performance_bin: np.ndarray, salary_bin: np.ndarray, n: np.ndarray, edges: np.ndarray
) -> dict[str, list]:
    """Employees per performance bin × histogram salary bin (from SALARY_STEP bins)."""
    return _density_grid(performance_bin, shown_bin(salary_bin.astype(np.intp), edges), n, edges)


def _density_grid(
    performance_bin: np.ndarray, shown: np.ndarray, n: np.ndarray, edges: np.ndarray
) -> dict[str, list]:
    """Employees per performance bin × histogram salary bin, over the bins the population spans."""
    px, py = performance_bin.astype(np.intp), shown.astype(np.intp)
    x0, y0 = int(px.min()), int(py.min())
    nx, ny = int(px.max()) - x0 + 1, int(py.max()) - y0 + 1
    z = np.bincount((py - y0) * nx + (px - x0), n, minlength=nx * ny).reshape(ny, nx)
    width = edges[1] - edges[0]
    return {
        "x": [round((x0 + i + 0.5) * PERFORMANCE_STEP, 2) for i in range(nx)],
        "y": [round(float(edges[y0 + j]) + width / 2, 1) for j in range(ny)],
        "z": [[int(v) if v else None for v in row] for row in z.tolist()],
    }


def _density_of_bins(counts: np.ndarray, edges: np.ndarray) -> dict[str, list]:
    """The density view of PERFORMANCE_BINS × histogram bin counts."""
    performance_bin, shown = np.nonzero(counts)
    return _density_grid(performance_bin, shown, counts[performance_bin, shown], edges)


def chosen_rectangle(flt: HrFilter) -> employee_bins.Rectangle:
    """The departments, ages and years of flt with its clicked bar and heatmap cell."""
    sel = flt.selection
    departments = flt.departments
    if sel.department is not None:
        departments = tuple(d for d in departments if d == sel.department)
    age = (int(flt.age[0]), int(flt.age[1]))
    years = (int(flt.experience[0]), int(flt.experience[1]))
    if sel.cell is not None:
        age = _within_band(age, AGE_EDGES, sel.cell[0])
        years = _within_band(years, EXP_EDGES, sel.cell[1])
    return employee_bins.Rectangle(departments, age, years)


def _within_band(bounds: tuple[int, int], edges: tuple[int, ...], band: int) -> tuple[int, int]:
    low = edges[band - 1] if band > 0 else bounds[0]
    high = edges[band] - 1 if band < len(edges) else bounds[1]
    return max(bounds[0], low), min(bounds[1], high)


def _trends(sums, code, f, keep, names) -> dict[str, tuple[float, float, float, float]]:
    """Least-squares salary ~ performance per department, from sums (every employee counts)."""
    nd = len(names)
    n, sx, sy = sums["n"], sums["performance_sum"], sums["salary_sum"]
    sxx, sxy = sums["performance_sq_sum"], sums["performance_salary_sum"]
    low = np.full(nd, np.inf)
    high = np.full(nd, -np.inf)
    np.minimum.at(low, code[keep], f["performance_min"].to_numpy(np.float64)[keep])
    np.maximum.at(high, code[keep], f["performance_max"].to_numpy(np.float64)[keep])
    out = {}
    for c in range(nd):
        if n[c] < 2:
            continue
        var = sxx[c] - sx[c] ** 2 / n[c]
        if var <= 1e-9 * n[c] or high[c] <= low[c]:
            continue
        slope = (sxy[c] - sx[c] * sy[c] / n[c]) / var
        intercept = (sy[c] - slope * sx[c]) / n[c]
        x0, x1 = float(low[c]), float(high[c])
        out[names[c]] = (x0, intercept + slope * x0, x1, intercept + slope * x1)
    return out


def _by_department(code, f, keep, names) -> list[tuple[str, float, float | None, int]]:
    """Mean performance per department with the 95 % t-interval half-width, best first."""
    nd = len(names)
    n = _by(code, f["n"].to_numpy(np.float64), keep, nd)
    s = _by(code, f["performance_sum"].to_numpy(np.float64), keep, nd)
    ss = _by(code, f["performance_sq_sum"].to_numpy(np.float64), keep, nd)
    out = []
    for c in range(nd):
        if n[c] == 0:
            continue
        mean = s[c] / n[c]
        half = None
        if n[c] >= 2:
            variance = max(0.0, (ss[c] - n[c] * mean * mean) / (n[c] - 1))
            half = float(stdtrit(n[c] - 1, 0.975) * math.sqrt(variance / n[c]))
        out.append((names[c], float(mean), half, int(n[c])))
    return sorted(out, key=lambda row: row[1], reverse=True)


def _heatmap(
    age_band, exp_band, f, keep, min_count: int = 1
) -> tuple[list[list[float | None]], list[list[int]]]:
    na, ne = len(AGE_LABELS), len(EXP_LABELS)
    cell = (age_band * ne + exp_band)[keep]
    counts = np.bincount(cell, f["n"].to_numpy(np.float64)[keep], na * ne).reshape(na, ne).astype(np.int64)
    sums = np.bincount(cell, f["satisfaction_sum"].to_numpy(np.float64)[keep], na * ne).reshape(na, ne)
    means = [
        [
            round(float(sums[a, e] / counts[a, e]), 2) if counts[a, e] >= max(min_count, 1) else None
            for e in range(ne)
        ]
        for a in range(na)
    ]
    return means, counts.tolist()


def _points(rows: pd.DataFrame) -> dict[str, dict[str, list]]:
    out: dict[str, dict[str, list]] = {}
    for department, group in rows.groupby("department", sort=True):
        details = zip(
            group["employee_id"].astype(int).tolist(),
            group["age"].astype(int).tolist(),
            group["experience_years"].round(1).tolist(),
            group["satisfaction"].round(1).tolist(),
            strict=True,
        )
        out[str(department)] = {
            "x": group["performance"].round(1).tolist(),
            "y": group["salary"].round(0).tolist(),
            "customdata": [list(row) for row in details],
        }
    return out


def _row(row) -> dict:
    employee_id, department, age, experience, salary, performance, satisfaction = row
    return {
        "employee_id": int(employee_id),
        "department": department,
        "age": int(age),
        "experience_years": float(experience),
        "salary": float(salary),
        "performance": float(performance),
        "satisfaction": float(satisfaction),
    }


def _args(flt: HrFilter) -> tuple:
    return (
        tuple(sorted(flt.departments)),
        flt.experience,
        flt.age,
        flt.selection,
    )
