"""Aggregates of the employees per department × age × completed year of experience ("cells").

A cell holds what every RH number needs: the count; the sums, minimum and maximum of salary and
performance; the sums of squares and cross-products (confidence intervals, trend lines); the sum of
satisfaction; and, as sparse counts, the salary bins (histogram) and the performance × salary
bins (the scatter's density view). Any filter on departments, whole ages and whole years of
experience is a set of cells, so every KPI and chart of a filter is a sum over at most a few
thousand rows, whatever the number of employees.

The same `Cells` are made three ways, from one definition of the bins: from SQL (`fine_query`:
the database groups the rows, for a load or a rebuild), from rows in memory (`Cells.from_rows`: the
candidates of a box or lasso), and from the `employee_cells` table (`read_cells`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Table, and_, delete, func, insert, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from dashhub.db import employee_cell_counts, employee_cells, employees, floor_int

SALARY_STEP = 5000  # width of a salary bin (the histogram's bins are whole multiples of it)
MAX_SALARY_BINS = 60  # the histogram's bins at most
PERFORMANCE_STEP = 2.5  # width of a performance bin of the density view
KEYS = ("department", "age", "experience_year")
BINS = ("performance_bin", "salary_bin")
SUMS = (
    "n",
    "salary_sum",
    "performance_sum",
    "performance_sq_sum",
    "satisfaction_sum",
    "performance_salary_sum",
)
MINIMA = ("salary_min", "performance_min")
MAXIMA = ("salary_max", "performance_max")
MEASURES = SUMS + MINIMA + MAXIMA
AGGREGATES = {**dict.fromkeys(SUMS, "sum"), **dict.fromkeys(MINIMA, "min"), **dict.fromkeys(MAXIMA, "max")}
# How a cell's sparse counts are stored: performance bins 0–40 (0–100 in 2.5 steps), salary bins
# 0–20,000 (0–100,000,000 in 5,000 steps, the loading rules' bounds), counts to 4 billion.
SALARY_BLOB = np.dtype([("salary_bin", "<u2"), ("n", "<u4")])
DENSITY_BLOB = np.dtype([("performance_bin", "u1"), ("salary_bin", "<u2"), ("n", "<u4")])


def _bins(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The cell and bin keys of raw rows, exactly as `fine_query` computes them in SQL."""
    return {
        "department": frame["department"].to_numpy(),
        "age": frame["age"].to_numpy(np.int64),
        "experience_year": np.floor(frame["experience_years"].to_numpy(np.float64)).astype(np.int64),
        "performance_bin": np.floor(frame["performance"].to_numpy(np.float64) / PERFORMANCE_STEP).astype(
            np.int64
        ),
        "salary_bin": np.floor(frame["salary"].to_numpy(np.float64) / SALARY_STEP).astype(np.int64),
    }


def fine_query(*where: ColumnElement, table: Table = employees) -> Select:
    """The employees (those of table matching where) grouped by cell and scatter bin, in the
    database."""
    e = table.c
    keys = [
        e.department,
        e.age,
        floor_int(e.experience_years),
        floor_int(e.performance / literal_column(repr(PERFORMANCE_STEP))),
        floor_int(e.salary / literal_column(str(SALARY_STEP))),
    ]
    measures = [
        func.count(),
        func.sum(e.salary),
        func.sum(e.performance),
        func.sum(e.performance * e.performance),
        func.sum(e.satisfaction),
        func.sum(e.performance * e.salary),
        func.min(e.salary),
        func.min(e.performance),
        func.max(e.salary),
        func.max(e.performance),
    ]
    labelled = [k.label(name) for k, name in zip(keys, KEYS + BINS, strict=True)]
    labelled += [m.label(name) for m, name in zip(measures, MEASURES, strict=True)]
    return select(*labelled).where(*where).group_by(*keys)


@dataclass(frozen=True)
class Cells:
    """Aggregates per cell of a population; the sparse counts refer to cells by their position."""

    frame: pd.DataFrame  # KEYS + MEASURES, one row per cell, sorted by KEYS
    salary: np.ndarray  # (k, 3) int64: cell, salary bin, n
    _density: np.ndarray | None = None  # (k, 4) int64: cell, performance bin, salary bin, n
    _records: np.ndarray | None = None  # or, as stored: every cell's DENSITY_BLOB records in order
    _sizes: np.ndarray | None = None  # (and how many records each cell has)

    @property
    def density(self) -> np.ndarray:
        """(k, 4) int64: cell, performance bin, salary bin, n."""
        if self._density is None:
            object.__setattr__(self, "_density", _expanded(self._records, self._sizes))
        return self._density

    def density_of(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Performance bin, salary bin and n of the kept cells' density counts (read from the
        stored records as they are: the whole population's are hundreds of thousands)."""
        if self._records is not None:
            records = self._records if keep.all() else self._records[np.repeat(keep, self._sizes)]
            return records["performance_bin"], records["salary_bin"], records["n"]
        rows = self.density if keep.all() else self.density[keep[self.density[:, 0]]]
        return rows[:, 1], rows[:, 2], rows[:, 3]

    @classmethod
    def empty(cls) -> Cells:
        frame = pd.DataFrame(
            {name: pd.Series(dtype=object if name == "department" else float) for name in KEYS + MEASURES}
        )
        return cls(frame, np.zeros((0, 3), np.int64), np.zeros((0, 4), np.int64))

    @classmethod
    def from_fine(cls, fine: pd.DataFrame) -> Cells:
        """From rows grouped by KEYS + BINS (what `fine_query` returns)."""
        if fine.empty:
            return cls.empty()
        grouped = fine.groupby(list(KEYS), sort=True)
        frame = grouped.agg(AGGREGATES).reset_index()
        cell = grouped.ngroup().to_numpy(np.int64)
        n = fine["n"].to_numpy(np.int64)
        density = np.column_stack([cell, fine["performance_bin"].to_numpy(np.int64), fine["salary_bin"], n])
        salary = _summed(np.column_stack([cell, fine["salary_bin"].to_numpy(np.int64), n]))
        return cls(frame, salary, _summed(density.astype(np.int64)))

    @classmethod
    def from_rows(cls, rows: pd.DataFrame) -> Cells:
        """From raw employee rows (columns named as the `employees` table's)."""
        if rows.empty:
            return cls.empty()
        keys = _bins(rows)
        codes, names = pd.factorize(keys.pop("department"), sort=True)
        keys = {"department": codes.astype(np.int64), **keys}
        code, decode = _radix(list(keys.values()))
        salary = rows["salary"].to_numpy(np.float64)
        performance = rows["performance"].to_numpy(np.float64)
        values = pd.DataFrame(
            {
                "n": np.ones(len(rows), np.int64),
                "salary_sum": salary,
                "performance_sum": performance,
                "performance_sq_sum": performance * performance,
                "satisfaction_sum": rows["satisfaction"].to_numpy(np.float64),
                "performance_salary_sum": performance * salary,
                "salary_min": salary,
                "performance_min": performance,
                "salary_max": salary,
                "performance_max": performance,
            }
        )
        fine = values.groupby(code, sort=False).agg(AGGREGATES)
        columns = decode(fine.index.to_numpy(np.int64))
        fine = fine.reset_index(drop=True)
        for name, column in zip(KEYS + BINS, columns, strict=True):
            fine[name] = np.asarray(names)[column] if name == "department" else column
        return cls.from_fine(fine)

    @classmethod
    def from_table(cls, rows: list[tuple]) -> Cells:
        """From rows of KEYS + MEASURES + the two counts, sorted by KEYS (what read_cells reads)."""
        if not rows:
            return cls.empty()
        columns = list(zip(*rows, strict=True))
        frame = pd.DataFrame(dict(zip(KEYS + MEASURES, columns, strict=False)))
        blobs = columns[-1]
        sizes = np.fromiter(map(len, blobs), np.int64, len(blobs)) // DENSITY_BLOB.itemsize
        records = np.frombuffer(b"".join(blobs), DENSITY_BLOB)
        return cls(frame, _decoded(columns[-2], SALARY_BLOB), None, records, sizes)

    @classmethod
    def merged(cls, parts: list[Cells]) -> Cells:
        """One population made of several (a load added to what was there, chunks of rows)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        frames, salaries, densities, offset = [], [], [], 0
        for part in parts:
            frames.append(part.frame)
            salaries.append(part.salary + np.array([offset, 0, 0]))
            densities.append(part.density + np.array([offset, 0, 0, 0]))
            offset += len(part)
        every = pd.concat(frames, ignore_index=True)
        grouped = every.groupby(list(KEYS), sort=True)
        new_cell = grouped.ngroup().to_numpy(np.int64)
        salary, density = np.concatenate(salaries), np.concatenate(densities)
        salary[:, 0] = new_cell[salary[:, 0]]
        density[:, 0] = new_cell[density[:, 0]]
        return cls(grouped.agg(AGGREGATES).reset_index(), _summed(salary), _summed(density))

    def __len__(self) -> int:
        return len(self.frame)

    def where(self, keep: np.ndarray) -> Cells:
        """The cells where keep is true (and their counts)."""
        if keep.all():
            return self
        position = np.full(len(self) + 1, -1, np.int64)
        position[np.flatnonzero(keep)] = np.arange(int(keep.sum()))
        salary = self.salary[keep[self.salary[:, 0]]] if len(self.salary) else self.salary
        density = self.density[keep[self.density[:, 0]]] if len(self.density) else self.density
        salary, density = salary.copy(), density.copy()
        salary[:, 0] = position[salary[:, 0]]
        density[:, 0] = position[density[:, 0]]
        return Cells(self.frame[keep].reset_index(drop=True), salary, density)

    def table_rows(self) -> list[dict]:
        """The cells as `employee_cells` rows, with their `employee_cell_counts` columns."""
        salary = _encoded(self.salary, len(self), SALARY_BLOB)
        density = _encoded(self.density, len(self), DENSITY_BLOB)
        records = self.frame.to_dict("records")
        for record, salary_bins, dense in zip(records, salary, density, strict=True):
            record["n"] = int(record["n"])
            record["age"] = int(record["age"])
            record["experience_year"] = int(record["experience_year"])
            record["salary_bins"] = salary_bins
            record["density"] = dense
        return records


def salary_edges(salary: tuple[float, float]) -> np.ndarray:
    """Fixed bins for the whole table (whole multiples of SALARY_STEP, at most MAX_SALARY_BINS),
    so that the axis does not jump when filters change."""
    low_salary, high_salary = salary
    if high_salary < low_salary:
        return np.array([0.0, float(SALARY_STEP)])
    low = math.floor(low_salary / SALARY_STEP) * SALARY_STEP
    high = math.ceil((high_salary + 1) / SALARY_STEP) * SALARY_STEP
    width = SALARY_STEP * max(1, math.ceil((high - low) / SALARY_STEP / MAX_SALARY_BINS))
    return np.arange(low, high + width, width, dtype=np.float64)


def shown_bin(salary_bin: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The histogram bin of each SALARY_STEP bin (through a table of every SALARY_STEP bin)."""
    if len(salary_bin) == 0:
        return salary_bin
    width = edges[1] - edges[0]
    every = np.arange(int(salary_bin.max()) + 1, dtype=np.int64)
    table = np.clip((every * SALARY_STEP - edges[0]) // width, 0, len(edges) - 2).astype(np.int64)
    return table[salary_bin]


def _radix(columns: list[np.ndarray]):
    """Whole-number columns as one int64 code per row (mixed radix), and the way back."""
    lows = [int(c.min()) for c in columns]
    spans = [int(c.max()) - low + 1 for c, low in zip(columns, lows, strict=True)]
    code = np.zeros(len(columns[0]), np.int64)
    for column, low, span in zip(columns, lows, spans, strict=True):
        code = code * span + (column - low)

    def decode(codes: np.ndarray) -> list[np.ndarray]:
        out = []
        for low, span in zip(reversed(lows), reversed(spans), strict=True):
            out.append(codes % span + low)
            codes = codes // span
        return out[::-1]

    return code, decode


def _summed(sparse: np.ndarray) -> np.ndarray:
    """Sparse counts with one row per key (the last column summed), sorted by key."""
    if len(sparse) == 0:
        return sparse.reshape(0, sparse.shape[1]).astype(np.int64)
    code, decode = _radix([sparse[:, i] for i in range(sparse.shape[1] - 1)])
    keys, inverse = np.unique(code, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=sparse[:, -1], minlength=len(keys)).astype(np.int64)
    return np.column_stack([*decode(keys), counts]).astype(np.int64)


def _encoded(sparse: np.ndarray, cells: int, blob: np.dtype) -> list[bytes]:
    """Each cell's sparse counts (without the cell column) as blob records."""
    order = np.argsort(sparse[:, 0], kind="stable")
    ordered = sparse[order]
    bounds = np.searchsorted(ordered[:, 0], np.arange(cells + 1))
    records = np.empty(len(ordered), blob)
    for i, name in enumerate(blob.names, start=1):
        limits = np.iinfo(blob[name])
        if len(ordered) and (ordered[:, i].min() < limits.min or ordered[:, i].max() > limits.max):
            raise ValueError(f"{name} outside {limits.min}..{limits.max}: not an employee the rules accept")
        records[name] = ordered[:, i]
    return [records[bounds[i] : bounds[i + 1]].tobytes() for i in range(cells)]


def _expanded(records: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Blob records of consecutive cells (sizes: how many each) with the cell's position in front."""
    out = np.empty((len(records), len(records.dtype.names) + 1), np.int64)
    out[:, 0] = np.repeat(np.arange(len(sizes)), sizes)
    for i, name in enumerate(records.dtype.names, start=1):
        out[:, i] = records[name]
    return out


def _decoded(blobs: tuple[bytes, ...], blob: np.dtype) -> np.ndarray:
    """The sparse counts of every cell's blob, with the cell's position in front."""
    sizes = np.fromiter(map(len, blobs), np.int64, len(blobs)) // blob.itemsize
    records = np.frombuffer(b"".join(blobs), blob)
    out = np.empty((len(records), len(blob.names) + 1), np.int64)
    out[:, 0] = np.repeat(np.arange(len(blobs)), sizes)
    for i, name in enumerate(blob.names, start=1):
        out[:, i] = records[name]
    return out


def _cursor(conn: Connection, query: Select, *, binary: bool = False, name: str | None = None):
    """A driver cursor that has run query (its parameters bound by the driver)."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        cursor = raw.cursor(name, binary=binary) if name else raw.cursor(binary=binary)
        parameters = compiled.params
    else:
        cursor = raw.cursor()
        parameters = [compiled.params[key] for key in compiled.positiontup]
    cursor.execute(str(compiled), parameters)
    return cursor


FINE_CHUNK = 250_000  # groups of a `fine_query` read at a time (a load's memory stays flat)


def counted(conn: Connection, query: Select) -> Cells:
    """The Cells of a `fine_query`, read a chunk of groups at a time (a server-side cursor on
    PostgreSQL): ten million employees spread evenly make millions of groups."""
    parts: list[Cells] = []
    total = Cells.empty()
    for frame in stream_frames(conn, query, list(KEYS + BINS + MEASURES), FINE_CHUNK):
        parts.append(Cells.from_fine(frame))
        if len(parts) == 4:
            total, parts = Cells.merged([total, *parts]), []
    return Cells.merged([total, *parts])


def stream_frames(conn: Connection, query: Select, columns: list[str], chunk: int) -> Iterator[pd.DataFrame]:
    """The rows of query, chunk rows at a time (a server-side cursor on PostgreSQL)."""
    cursor = _cursor(conn, query, name="dashhub_rows" if conn.dialect.name == "postgresql" else None)
    try:
        while rows := cursor.fetchmany(chunk):
            yield pd.DataFrame.from_records(rows, columns=columns)
    finally:
        cursor.close()


def read_cells(conn: Connection, *where: ColumnElement, blobs: bool = True) -> Cells:
    """The stored cells matching where (on `employee_cells`), sorted by KEYS (through the
    driver's cursor, in binary on PostgreSQL: the counts are most of the bytes); without their
    counts unless blobs."""
    c, counts = employee_cells.c, employee_cell_counts.c
    columns = [c[k] for k in KEYS + MEASURES]
    query = select(*columns)
    if blobs:
        on = [c[k] == counts[k] for k in KEYS]
        query = select(*columns, counts.salary_bins, counts.density).join_from(
            employee_cells, employee_cell_counts, and_(*on)
        )
    query = query.where(*where).order_by(*(c[k] for k in KEYS))
    cursor = _cursor(conn, query, binary=True)
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if blobs:
        return Cells.from_table(rows)
    if not rows:
        return Cells.empty()
    frame = pd.DataFrame(dict(zip(KEYS + MEASURES, zip(*rows, strict=True), strict=True)))
    return Cells(frame, np.zeros((0, 3), np.int64), np.zeros((0, 4), np.int64))


def add_rows(conn: Connection, query: Select) -> None:
    """Add rows (a `fine_query`) to the cells, in the caller's transaction (a load's): the
    departments they touch are read, merged with them and written back (a few thousand rows at
    most)."""
    added = counted(conn, query)
    if not len(added):
        return
    departments = sorted(set(added.frame["department"]))
    touched = employee_cells.c.department.in_(departments)
    merged = Cells.merged([read_cells(conn, touched), added])
    conn.execute(delete(employee_cells).where(touched))
    conn.execute(delete(employee_cell_counts).where(employee_cell_counts.c.department.in_(departments)))
    _write(conn, merged)
    _count_bins(conn)


def rebuild(conn: Connection) -> None:
    """Recount every cell from the employees table (after an undo, or for existing data)."""
    conn.execute(delete(employee_cells))
    conn.execute(delete(employee_cell_counts))
    _write(conn, counted(conn, fine_query()))
    _count_bins(conn)


def _count_bins(conn: Connection) -> None:
    """The cumulative bins (services/employee_bins.py) of the cells as they now are."""
    from dashhub.services import employee_bins  # (it reads the cells through this module)

    c = employee_cells.c
    low, high = conn.execute(select(func.min(c.salary_min), func.max(c.salary_max))).one()
    edges = salary_edges((low, high)) if low is not None else np.array([0.0, float(SALARY_STEP)])
    employee_bins.rebuild(conn, edges)


def _write(conn: Connection, cells: Cells) -> None:
    rows = cells.table_rows()
    blobs = ("salary_bins", "density")
    sums = [{k: v for k, v in row.items() if k not in blobs} for row in rows]
    counts = [{k: row[k] for k in (*KEYS, *blobs)} for row in rows]
    for start in range(0, len(rows), 5000):
        conn.execute(insert(employee_cells), sums[start : start + 5000])
        conn.execute(insert(employee_cell_counts), counts[start : start + 5000])
