"""RH lasso on the scatter: the server-side polygon test for a hand-drawn 2,000-vertex lasso over
1,000,000 employees, alone and four at once (threads of one worker), against the previous
point × edge version. Prints a markdown block for docs/benchmarks.md."""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import header, summary
from dashhub.demo import demo_employees
from dashhub.services.employees import Columns, _inside


def previous_inside(x, y, polygon, candidates):
    """The version before: every edge against every candidate (kept here to compare)."""
    inside = np.zeros(len(x), dtype=bool)
    idx = np.flatnonzero(candidates)
    px, py = x[idx], y[idx]
    result = np.zeros(len(idx), dtype=bool)
    vertices = list(polygon)
    for (x1, y1), (x2, y2) in zip(vertices, vertices[1:] + vertices[:1], strict=True):
        crosses = (y1 > py) != (y2 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = (x2 - x1) * (py - y1) / (y2 - y1) + x1
        result ^= crosses & (px < at)
    inside[idx] = result
    return inside


def hand_drawn(vertices: int, cols: Columns) -> list[tuple[float, float]]:
    """A wobbly loop around most of the scatter, as a user drags it."""
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    cx, cy = np.median(cols.performance), np.median(cols.salary)
    rx, ry = 2.5 * cols.performance.std(), 2.5 * cols.salary.std()
    wobble = 1 + 0.08 * np.sin(9 * t) + 0.03 * np.sin(31 * t)
    return list(zip(cx + rx * wobble * np.cos(t), cy + ry * wobble * np.sin(t), strict=True))


def timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=1_000_000)
    parser.add_argument("--vertices", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    cols = Columns(demo_employees(args.employees))
    polygon = hand_drawn(args.vertices, cols)
    everyone = np.ones(len(cols), dtype=bool)
    call = (cols.performance, cols.salary, polygon, everyone, cols.by_salary)
    inside = _inside(*call)
    alone = [timed(_inside, *call) for _ in range(args.runs)]
    with ThreadPoolExecutor(4) as pool:
        started = time.perf_counter()
        together = list(pool.map(lambda _: timed(_inside, *call), range(4)))
        wall = (time.perf_counter() - started) * 1000
    unsorted = [timed(_inside, *call[:4]) for _ in range(3)]  # without the kept salary order
    before = timed(previous_inside, *call[:4])

    print(header(f"RH lasso: {args.vertices:,}-vertex polygon on {args.employees:,} employees"))
    print("| measure | ms |")
    print("| --- | --- |")
    print(f"| one lasso, p50 / p95 of {args.runs} | {summary(alone)} |")
    print(f"| four at once (threads), each p50 / p95 | {summary(together)} |")
    print(f"| four at once, wall clock | {wall:.1f} |")
    print(f"| one lasso sorting its candidates itself (no kept order), p50 of 3 | {summary(unsorted)} |")
    print(f"| previous version (every edge × every point), one lasso | {before:.0f} |")
    print(f"\n{int(inside.sum()):,} employees inside.")


if __name__ == "__main__":
    main()
