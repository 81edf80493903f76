"""RH lasso on the scatter: a hand-drawn 2,000-vertex lasso over 10,000,000 employees (by default),
on SQLite and PostgreSQL, with a cold cache: through the RH callback (server time of the request,
the lasso in the selection store), the selection callback that a drag triggers (plotly's lasso
points: kept, or refused in words when its bounding box may hold too many employees), and the
service alone (`services.employees.dashboard`). Three lassos: a wobbly loop around most of the
scatter (2.5 standard deviations), smaller ones around the centre (~2 % and ~0.5 % of the
employees). Prints a markdown block.

Databases are built once and reused (bench/hr_data.py).

    .venv/bin/python bench/bench_lasso.py --employees 10000000 --database sqlite --database postgresql
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import and_, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import hr_data
from bench.common import header, summary, timed_app
from dashhub.db import employees, make_engine
from dashhub.domain.hr import HrFilter, Selection
from dashhub.layouts.hr import IDS
from tests.support.hr_requests import hr_body, selection_body

LASSOS = (
    ("around most of the scatter", 2.5),
    ("around ~2 % (the centre)", 0.2),
    ("around ~0.5 % (the centre)", 0.1),  # (one that RH's bound on a selection lets through at 10 M)
)


def spread(url: str) -> tuple[float, float, float, float]:
    """Mean and standard deviation of performance and salary (SQL aggregates over the table)."""
    e = employees.c
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            n, sx, sxx, sy, syy = conn.execute(
                select(
                    func.count(),
                    func.sum(e.performance),
                    func.sum(e.performance * e.performance),
                    func.sum(e.salary),
                    func.sum(e.salary * e.salary),
                )
            ).one()
    finally:
        engine.dispose()
    mx, my = sx / n, sy / n
    return mx, my, float(np.sqrt(sxx / n - mx * mx)), float(np.sqrt(syy / n - my * my))


def hand_drawn(vertices: int, stats: tuple[float, float, float, float], scale: float) -> list[list[float]]:
    """A wobbly loop of scale standard deviations around the mean, as a user drags it."""
    cx, cy, sx, sy = stats
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    wobble = 1 + 0.08 * np.sin(9 * t) + 0.03 * np.sin(31 * t)
    xs, ys = cx + scale * sx * wobble * np.cos(t), cy + scale * sy * wobble * np.sin(t)
    return [[round(float(x), 3), round(float(y), 1)] for x, y in zip(xs, ys, strict=True)]


def candidates(url: str, polygon: list[list[float]]) -> int:
    """Employees within the lasso's bounding box."""
    e = employees.c
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            box = and_(e.performance.between(min(xs), max(xs)), e.salary.between(min(ys), max(ys)))
            return conn.execute(select(func.count()).where(box)).scalar()
    finally:
        engine.dispose()


def timed_post(client, timer, services, body: dict, runs: int) -> tuple[list[float], list[int], dict]:
    """Server times and statuses of runs cold calls of one callback; the last JSON answer."""
    times, statuses, response = [], [], None
    for _ in range(runs):
        services.cache.clear()
        response = client.post("/_dash-update-component", json=body)
        times.append(timer.last_ms)
        statuses.append(response.status_code)
    answer = (response.get_json(silent=True) or {}) if response.status_code == 200 else {}
    return times, statuses, answer


def statuses_note(statuses: list[int]) -> str:
    return "" if set(statuses) == {200} else f" (HTTP {', '.join(str(s) for s in sorted(set(statuses)))})"


def measure(url: str, vertices: int, runs: int, profile: bool) -> list[dict]:
    stats = spread(url)
    out = []
    with tempfile.TemporaryDirectory() as data_dir:
        app, timer, client = timed_app(url, data_dir, "hr")
        services = app.server.extensions["dashhub"]
        with app.server.app_context():
            options = services.employees.options()
        filters = (list(options.departments), list(options.experience), list(options.age))
        for label, scale in LASSOS:
            polygon = hand_drawn(vertices, stats, scale)
            # the drag: plotly's lassoPoints → the selection store, or a refusal in words
            drawn = {"lassoPoints": {"x": [p[0] for p in polygon], "y": [p[1] for p in polygon]}}
            body = selection_body(IDS.SCATTER, drawn, {}, filters=filters)
            drag, _, answer = timed_post(client, timer, services, body, runs)
            refusal = answer.get("response", {}).get(IDS.SELECTION_REFUSED, {}).get("children")
            # every output of the page for the selection store
            body = hr_body(*filters, {"lasso": polygon})
            callback, statuses, _ = timed_post(client, timer, services, body, runs)
            client.post("/_dash-update-component", json=body)
            warm = timer.last_ms
            # the service alone
            flt = HrFilter(*map(tuple, filters), Selection(lasso=tuple(map(tuple, polygon))))
            direct, failures, count = [], [], None
            for _ in range(runs):
                services.cache.clear()
                started = time.perf_counter()
                try:
                    with app.server.app_context():
                        count = services.employees.dashboard(flt).count
                except Exception as exc:  # (PostgreSQL's statement timeout, above all)
                    failures.append(type(exc).__name__)
                direct.append((time.perf_counter() - started) * 1000)
            if profile:
                services.cache.clear()
                profiler = cProfile.Profile()
                try:
                    with app.server.app_context():
                        profiler.runcall(services.employees.dashboard, flt)
                except Exception as exc:
                    print(f"(the profiled call failed: {exc!r})", file=sys.stderr)
                print(f"\n--- cProfile: one cold lasso {label}, {url} ---", file=sys.stderr)
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
            with app.server.app_context():
                bound = services.employees.selection_bound(flt)
            out.append(
                {
                    "label": label,
                    "inside": count,
                    "candidates": candidates(url, polygon),
                    "bound": bound,
                    "drag": drag,
                    "refused": bool(refusal),
                    "callback": callback,
                    "statuses": statuses,
                    "direct": direct,
                    "failures": failures,
                    "warm": warm if statuses[-1] == 200 else None,
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=10_000_000)
    parser.add_argument("--database", choices=hr_data.DATABASES, action="append", help="default: both")
    parser.add_argument("--vertices", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="rebuild the databases")
    parser.add_argument("--drop", action="store_true", help="drop the PostgreSQL database at the end")
    parser.add_argument("--profile", action="store_true", help="cProfile of one cold lasso (stderr)")
    args = parser.parse_args()
    code, load = hr_data.code_version(), hr_data.load_average()
    results = []
    for database in args.database or list(hr_data.DATABASES):
        url = hr_data.build(database, args.employees, fresh=args.fresh)
        try:
            results.append((database, measure(url, args.vertices, args.runs, args.profile)))
        except Exception as exc:  # (the other database's figures are still worth printing)
            print(f"{database}: {exc!r}", file=sys.stderr)
            results.append((database, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"))
        if args.drop and database == "postgresql":
            hr_data.drop(database, args.employees)

    print(header(f"RH lasso: {args.vertices:,}-vertex polygon on {args.employees:,} employees (cold cache)"))
    print(f"p50 / p95 of {args.runs} runs, ms. {hr_data.code_note(code, load)}\n")
    columns = ["database", "lasso", "employees inside", "in its bounding box (bound from the cells)"]
    columns += ["drawing it: selection callback", "RH callback (all outputs)", "dashboard(flt) alone"]
    columns += ["RH callback, warm"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for database, rows in results:
        if isinstance(rows, str):
            print(f"| {hr_data.LABELS[database]} | failed: {rows} |" + " |" * (len(columns) - 2))
            continue
        for r in rows:
            drag = summary(r["drag"]) + (" (refused in words)" if r["refused"] else " (kept)")
            callback = summary(r["callback"]) + statuses_note(r["statuses"])
            warm = "—" if r["warm"] is None else f"{r['warm']:.1f}"
            direct = summary(r["direct"])
            if r["failures"]:
                direct += f" ({len(r['failures'])} of {len(r['direct'])} failed: {r['failures'][0]})"
            inside = "—" if r["inside"] is None else f"{r['inside']:,}"
            print(
                f"| {hr_data.LABELS[database]} | {r['label']} | {inside} | "
                f"{r['candidates']:,} ({r['bound']:,}) | {drag} | {callback} | {direct} | {warm} |"
            )


if __name__ == "__main__":
    main()
