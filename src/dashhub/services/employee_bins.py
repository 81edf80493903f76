"""Cumulative performance × salary bin counts per department, over ages and completed years.

A row (department, age a, year e) holds how many of the department's employees aged a or less,
with e completed years or fewer, fall in each 2.5-point performance bin × histogram salary bin.
The histogram and the density view of any rectangle of ages [a0, a1] × years [e0, e1] are then
four rows per department (inclusion–exclusion: (a1, e1) − (a0−1, e1) − (a1, e0−1) + (a0−1, e0−1)),
whatever the number of employees and however they spread over the cells. The table is rebuilt
from the cells in every load's transaction (seconds), with the histogram's salary bins of that
version (`salary_low`, `salary_width`): a reader that finds other bins counts from the cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.engine import Connection

from dashhub.db import employee_bins
from dashhub.services.employee_cells import read_cells, shown_bin

RECORD = np.dtype([("performance_bin", "u1"), ("salary_bin", "u1"), ("n", "<u4")])
PERFORMANCE_BINS = 41  # 0–100 in 2.5 steps (100 itself in the last)


@dataclass(frozen=True)
class Rectangle:
    """Departments × whole ages [a0, a1] × completed years [e0, e1]."""

    departments: tuple[str, ...]
    age: tuple[int, int]
    experience: tuple[int, int]


def rebuild(conn: Connection, edges: np.ndarray) -> None:
    """Recount the table from the stored cells, with the histogram's bins edges."""
    conn.execute(delete(employee_bins))
    cells = read_cells(conn)
    if not len(cells):
        return
    f = cells.frame
    ages = f["age"].to_numpy(np.int64)
    years = f["experience_year"].to_numpy(np.int64)
    a_min, na, ne = int(ages.min()), int(ages.max() - ages.min()) + 1, int(years.max()) + 1
    nb = len(edges) - 1
    density = cells.density
    cell = density[:, 0]
    flat = (((ages[cell] - a_min) * ne + years[cell]) * PERFORMANCE_BINS + density[:, 1]) * nb + shown_bin(
        density[:, 2], edges
    )
    low, width = float(edges[0]), float(edges[1] - edges[0])
    for department in sorted(set(f["department"])):
        mine = (f["department"].to_numpy() == department)[cell]
        grid = np.bincount(flat[mine], density[mine, 3], minlength=na * ne * PERFORMANCE_BINS * nb)
        cumulative = grid.reshape(na, ne, PERFORMANCE_BINS * nb).cumsum(0).cumsum(1).astype(np.int64)
        rows = []
        for a in range(na):
            for e in range(ne):
                counts = cumulative[a, e]
                nonzero = np.flatnonzero(counts)
                if not len(nonzero):
                    continue
                records = np.empty(len(nonzero), RECORD)
                records["performance_bin"] = nonzero // nb
                records["salary_bin"] = nonzero % nb
                records["n"] = counts[nonzero]
                rows.append(
                    {
                        "department": department,
                        "age": a_min + a,
                        "experience_year": e,
                        "salary_low": low,
                        "salary_width": width,
                        "counts": records.tobytes(),
                    }
                )
        for start in range(0, len(rows), 2000):
            conn.execute(insert(employee_bins), rows[start : start + 2000])


def binned(conn: Connection, rectangle: Rectangle, edges: np.ndarray) -> dict[str, np.ndarray] | None:
    """Employees per department and performance bin × histogram salary bin (PERFORMANCE_BINS ×
    histogram bins) in rectangle; None when the table was counted with other salary bins."""
    (a0, a1), (e0, e1) = rectangle.age, rectangle.experience
    nb = len(edges) - 1
    if a0 > a1 or e0 > e1 or not rectangle.departments:
        return {}
    corners = {(a1, e1): 1, (a0 - 1, e1): -1, (a1, e0 - 1): -1, (a0 - 1, e0 - 1): 1}
    corners = {corner: sign for corner, sign in corners.items() if corner[1] >= 0}
    b = employee_bins.c
    query = select(b.department, b.age, b.experience_year, b.salary_low, b.salary_width, b.counts).where(
        b.department.in_(rectangle.departments),
        or_(*(and_(b.age == a, b.experience_year == e) for a, e in corners)),
    )
    out: dict[str, np.ndarray] = {}
    for department, age, year, low, width, blob in conn.execute(query):
        if low != float(edges[0]) or width != float(edges[1] - edges[0]):
            return None
        records = np.frombuffer(bytes(blob), RECORD)
        counts = out.setdefault(department, np.zeros(PERFORMANCE_BINS * nb, np.int64))
        np.add.at(
            counts,
            records["performance_bin"].astype(np.intp) * nb + records["salary_bin"],
            corners[(age, year)] * records["n"].astype(np.int64),
        )
    return {d: counts.reshape(PERFORMANCE_BINS, nb) for d, counts in out.items() if counts.any()}
