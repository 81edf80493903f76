"""Lasso geometry: which points a polygon holds, and the grid cells it holds whole.

`inside` is the exact test (even-odd rule, as plotly draws a lasso). `inner_rectangles` splits a
polygon's bounding box into a grid and returns the rectangles of cells that no edge touches and
whose centre is inside: every point in them is inside, so the database can count them without
sending their rows; only the rows of the cells the edges cross need the exact test.
"""

from __future__ import annotations

import math

import numpy as np

MAX_GRID = 256  # cells along each axis at most (the steps grow by whole multiples beyond)
MAX_RECTANGLES = 48  # what one query can test per row cheaply (the grid coarsens until it fits)


def inside(
    x: np.ndarray, y: np.ndarray, polygon, candidates: np.ndarray, by_y: np.ndarray | None = None
) -> np.ndarray:
    """Which points lie inside polygon (even-odd rule), testing only candidates.

    Candidates outside the polygon's bounding box are dropped first; the rest are taken in y
    order (by_y: the indices of all points sorted by y; sorted here if not given), so that each
    edge flips the parity of the contiguous run of points whose horizontal ray it crosses. The
    work follows the points each edge spans, not points × edges: a 2,000-vertex lasso on a million
    points costs milliseconds instead of seconds.
    """
    vertices = np.asarray(polygon, dtype=np.float64)
    xs, ys = vertices[:, 0], vertices[:, 1]
    in_box = candidates & (x >= xs.min()) & (x <= xs.max()) & (y >= ys.min()) & (y <= ys.max())
    result = np.zeros(len(x), dtype=bool)
    if by_y is None:
        idx = np.flatnonzero(in_box)
        idx = idx[np.argsort(y[idx], kind="stable")]
    else:
        idx = by_y[in_box[by_y]]  # already in y order: a filter, not a sort
    if len(idx) == 0:
        return result
    px, py = x[idx], y[idx]
    parity = np.zeros(len(idx), dtype=bool)
    for x1, y1, x2, y2 in zip(xs, ys, np.roll(xs, -1), np.roll(ys, -1), strict=True):
        if y1 == y2:
            continue  # a horizontal edge crosses no horizontal ray
        # the ray from a point crosses the edge when min(y1, y2) <= py < max(y1, y2) ...
        first, last = np.searchsorted(py, (min(y1, y2), max(y1, y2)), side="left")
        if first == last:
            continue
        run = slice(first, last)
        # ... at the edge's x for that py, to the right of the point
        parity[run] ^= px[run] < x1 + (x2 - x1) * (py[run] - y1) / (y2 - y1)
    result[idx] = parity
    return result


def inner_rectangles(polygon, step_x: float, step_y: float) -> list[tuple[float, float, float, float]]:
    """At most MAX_RECTANGLES half-open rectangles [x0, x1) × [y0, y1) lying wholly inside polygon,
    on a grid of a quarter of step_x × step_y cells (coarser, by doublings, while a ragged lasso
    needs too many rectangles, and at most MAX_GRID cells a side; none at all past 16 times)."""
    for coarser in (0.25, 0.5, 1, 2, 4, 8, 16):
        rectangles = _grid_rectangles(polygon, step_x * coarser, step_y * coarser)
        if len(rectangles) <= MAX_RECTANGLES:
            return rectangles
    return []


def _grid_rectangles(polygon, step_x: float, step_y: float) -> list[tuple[float, float, float, float]]:
    vertices = np.asarray(polygon, dtype=np.float64)
    xs, ys = vertices[:, 0], vertices[:, 1]
    gx0, gy0 = math.floor(xs.min() / step_x), math.floor(ys.min() / step_y)
    gx1, gy1 = math.floor(xs.max() / step_x) + 1, math.floor(ys.max() / step_y) + 1
    kx, ky = max(1, math.ceil((gx1 - gx0) / MAX_GRID)), max(1, math.ceil((gy1 - gy0) / MAX_GRID))
    sx, sy = step_x * kx, step_y * ky
    x0, y0 = gx0 * step_x, gy0 * step_y
    nx, ny = math.ceil((gx1 - gx0) / kx), math.ceil((gy1 - gy0) / ky)
    # every cell an edge passes through: points along each edge a quarter of a cell apart, and
    # their neighbours (a corner the samples step over is within one cell of one of them)
    ex1, ey1, ex2, ey2 = xs, ys, np.roll(xs, -1), np.roll(ys, -1)
    samples = np.ceil(4 * np.maximum(np.abs(ex2 - ex1) / sx, np.abs(ey2 - ey1) / sy)).astype(int) + 1
    edge = np.repeat(np.arange(len(xs)), samples)
    t = np.concatenate([np.linspace(0.0, 1.0, k) for k in samples])
    col = np.clip(((ex1[edge] + t * (ex2 - ex1)[edge] - x0) // sx).astype(int), 0, nx - 1)
    row = np.clip(((ey1[edge] + t * (ey2 - ey1)[edge] - y0) // sy).astype(int), 0, ny - 1)
    touched = np.zeros((nx + 2, ny + 2), dtype=bool)
    for dx in (0, 1, 2):
        for dy in (0, 1, 2):
            touched[col + dx, row + dy] = True
    touched = touched[1:-1, 1:-1]
    centre_x = x0 + (np.arange(nx) + 0.5) * sx
    centre_y = y0 + (np.arange(ny) + 0.5) * sy
    cx, cy = np.meshgrid(centre_x, centre_y, indexing="ij")
    whole = ~touched & inside(cx.ravel(), cy.ravel(), polygon, np.ones(nx * ny, dtype=bool)).reshape(nx, ny)
    # runs of whole cells down each column; a run that the next column repeats widens instead
    rectangles: list[tuple[float, float, float, float]] = []
    open_runs: dict[tuple[int, int], int] = {}  # (first row, end row) → first column
    for i in range(nx + 1):
        runs = set()
        if i < nx:
            column = np.concatenate([[False], whole[i], [False]])
            starts = np.flatnonzero(column[1:] & ~column[:-1])
            ends = np.flatnonzero(~column[1:] & column[:-1])
            runs = {(int(a), int(b)) for a, b in zip(starts, ends, strict=True)}
        for run in [r for r in open_runs if r not in runs]:
            first = open_runs.pop(run)
            rectangles.append((x0 + first * sx, x0 + i * sx, y0 + run[0] * sy, y0 + run[1] * sy))
        for run in runs:
            open_runs.setdefault(run, i)
    return rectangles
