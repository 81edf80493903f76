"""« Vos données » (issue 16): a generated CSV of N rows (~100 bytes each: ids, timestamps to the
second, categories, numbers, a free-text comment, booleans) stored by `DatasetStore.add` in a
process of its own, as a worker would (wall time and peak resident memory, the peak reset between
phases); then, each cold (a fresh call: DuckDB reads the Parquet file afresh per call, there is no
app cache for datasets), the median and the maximum of N runs of: table pages, column summaries,
the chart builder's grouped bar and density scatter over all rows, and the figure drawn from them.

A table page sorted on one column without filters reads that column's sort index (a .npy file
beside the Parquet file, built by the first such sort): the "first sort" questions remove the
indexes before each run (untimed), so they time the build; the questions after them find the index.
Pages sorted on two columns, or sorted and filtered, take DuckDB's sort (no index).

In the same run, plain pandas in another process: `pd.read_csv` of the same file, then the same
charts (a groupby mean, a numpy 80 × 80 histogram2d) on the loaded frame, checked against
dashhub's answers, and the ratios.

    .venv/bin/python bench/bench_datasets.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.common import header  # noqa: E402

# The chart builder's questions (and pandas' same ones): a grouped bar and a density scatter.
BAR = {"kind": "bar", "x": "city", "y": "price", "agg": "mean", "color": "channel"}
SCATTER = {"kind": "scatter", "x": "price", "y": "score"}
DENSITY_BINS = 80
COMMENT_WORDS = (
    "livraison rapide produit conforme emballage abîmé très satisfait service client réactif "
    "délai respecté qualité correcte prix élevé bon rapport qualité-prix article manquant remboursement "
    "obtenu sans difficulté taille trop petite couleur différente de la photo facile à monter "
    "notice incomplète je recommande vendeur sérieux colis en retard retour gratuit échange "
    "accepté batterie faible écran parfait son médiocre bien reçu merci encore"
)
WORDS = COMMENT_WORDS.split()
CHANNELS = ("web", "magasin", "téléphone", "partenaire", "application", "salon")
GOALS = {  # issue 16, cold, ms
    "page": 100,
    "summary": 300,
    "chart": 300,
}


# --- the file ---


def write_file(path: Path, rows: int) -> None:
    """A CSV file of rows realistic rows, UTF-8, some comments quoted (they hold a comma), a few
    missing values."""
    rng = random.Random(3)
    cities = [f"Ville {i}" for i in range(40)]
    start = 1_735_689_600  # 2025-01-01 00:00:00 UTC
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("id,created_at,city,segment,channel,quantity,price,discount,score,comment,active\n")
        lines = []
        for i in range(rows):
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start + i * 31 + rng.randrange(31)))
            words = rng.choices(WORDS, k=rng.randint(2, 5))
            if rng.random() < 0.02:
                comment = ""
            elif rng.random() < 0.2:
                comment = '"' + words[0] + ", " + " ".join(words[1:]) + '"'
            else:
                comment = " ".join(words)
            discount = "" if rng.random() < 0.01 else f"{rng.random():.3f}"
            lines.append(
                f"{i},{stamp},{rng.choice(cities)},{'ABCD'[i % 4]},{rng.choice(CHANNELS)},"
                f"{rng.randint(1, 50)},{rng.uniform(1, 999):.2f},{discount},{rng.gauss(50, 15):.4f},"
                f"{comment},{'true' if i % 3 else 'false'}\n"
            )
            if len(lines) == 10_000:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))


# --- memory and time, inside a child process ---


def _status(field: str) -> float:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Peak:
    """This process's peak resident memory since the last reset (VmHWM, reset through
    /proc/self/clear_refs), with a sampling thread as a fallback where the reset is refused."""

    def __init__(self) -> None:
        self.sampled = 0.0
        self.exact = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.sampled = max(self.sampled, _status("VmRSS"))

    def reset(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
                clear.write("5")
        except OSError:
            self.exact = False
        self.sampled = _status("VmRSS")

    def read(self) -> float:
        return max(_status("VmHWM"), self.sampled) if self.exact else self.sampled

    def stop(self) -> None:
        self._stop.set()


def cold_runs(
    function: Callable[[], object], runs: int, before: Callable[[], object] | None = None
) -> tuple[dict, object]:
    """runs fresh calls: their times (ms) and the last answer (before, if given, runs untimed
    before each call)."""
    times = []
    answer = None
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        answer = function()
        times.append((time.perf_counter() - started) * 1000)
    return {"median": statistics.median(times), "max": max(times), "all": times}, answer


def child_dashhub(tmp: Path, csv_path: Path, runs: int) -> dict:
    from dashhub.auth.users import UserStore
    from dashhub.config import load_settings
    from dashhub.db import make_engine
    from dashhub.domain.charts import ChartSpec
    from dashhub.figures.datasets import chart_figure
    from dashhub.i18n import use_locale
    from dashhub.migrations import upgrade
    from dashhub.services.dataset_charts import chart_data
    from dashhub.services.user_datasets import DatasetStore, Viewer

    engine = make_engine(f"sqlite:///{tmp}/bench.db")
    upgrade(engine)
    user = UserStore(engine, load_settings(path=None, environ={}).auth).add(
        "bench", "analyst", "Measures-Speed-2026!"
    )
    store = DatasetStore(engine, tmp)
    viewer = Viewer(user.id, "analyst")
    peak = Peak()
    out: dict = {"rss_before_mb": _status("VmRSS"), "setup_peak_mb": _status("VmHWM")}

    peak.reset()
    started = time.perf_counter()
    report = store.add(viewer, csv_path, "bench.csv")
    out["add_seconds"] = time.perf_counter() - started
    out["add_peak_mb"] = peak.read()
    dataset = report.dataset
    out["stored_mb"] = dataset.bytes / 2**20
    out["types"] = {c.name: c.type for c in dataset.columns}
    out["rejected"] = report.rejected
    did = dataset.id
    stored = tmp / dataset.stored

    def no_index() -> None:
        """The dataset's sort indexes removed (dashhub's first sort of a column builds one)."""
        for index in stored.parent.glob(f"{stored.stem}.sort-*.npy"):
            index.unlink()

    questions: dict[str, tuple] = {  # (goal, question[, what runs untimed before each run])
        "table page: first 100 rows": ("page", lambda: store.page(viewer, did, 0, 100)),
        "table page: 100 rows at row 500,000": ("page", lambda: store.page(viewer, did, 500_000, 100)),
        "table page: first 100 rows sorted by price, first sort of the column (index built)": (
            "page",
            lambda: store.page(viewer, did, 0, 100, sort=[("price", "desc")]),
            no_index,
        ),
        "table page: first 100 rows sorted by price": (
            "page",
            lambda: store.page(viewer, did, 0, 100, sort=[("price", "desc")]),
        ),
        "table page: 100 rows at row 500,000 sorted by price": (
            "page",
            lambda: store.page(viewer, did, 500_000, 100, sort=[("price", "desc")]),
        ),
        "table page: 100 rows at row 500,000 sorted by comment (text), first sort (index built)": (
            "page",
            lambda: store.page(viewer, did, 500_000, 100, sort=[("comment", "asc")]),
            no_index,
        ),
        "table page: 100 rows at row 500,000 sorted by comment (text)": (
            "page",
            lambda: store.page(viewer, did, 500_000, 100, sort=[("comment", "asc")]),
        ),
        "table page: 100 rows at row 500,000 sorted by city, then price (two columns)": (
            "page",
            lambda: store.page(viewer, did, 500_000, 100, sort=[("city", "asc"), ("price", "desc")]),
        ),
        "table page: 100 rows at row 200,000 sorted by price, quantity > 10 (sort and filter)": (
            "page",
            lambda: store.page(
                viewer, did, 200_000, 100, sort=[("price", "desc")], filters=[("quantity", ">", 10)]
            ),
        ),
        "column summary: price (number)": ("summary", lambda: store.summary(viewer, did, "price")),
        "column summary: city (category)": ("summary", lambda: store.summary(viewer, did, "city")),
        "column summary: created_at (datetime)": (
            "summary",
            lambda: store.summary(viewer, did, "created_at"),
        ),
        "column summary: comment (text)": ("summary", lambda: store.summary(viewer, did, "comment")),
        "chart: grouped bar (mean price by city and channel)": (
            "chart",
            lambda: chart_data(store, viewer, did, ChartSpec(**BAR)),
        ),
        "chart: density scatter (score against price)": (
            "chart",
            lambda: chart_data(store, viewer, did, ChartSpec(**SCATTER)),
        ),
    }
    out["questions"] = {}
    answers = {}
    for name, (goal, function, *before) in questions.items():
        peak.reset()
        times, answers[name] = cold_runs(function, runs, *before)
        out["questions"][name] = {**times, "goal": goal, "peak_mb": peak.read()}

    bar = answers["chart: grouped bar (mean price by city and channel)"]
    density = answers["chart: density scatter (score against price)"]
    out["sorted_ids"] = {
        name: [row["id"] for row in answers[name][0]]
        for name in (
            "table page: first 100 rows sorted by price",
            "table page: 100 rows at row 500,000 sorted by price",
            "table page: 100 rows at row 500,000 sorted by comment (text)",
        )
    }
    out["bar"] = {"shape": bar.shape, "rows": [[r[0], r[1], r[2]] for r in bar.rows]}
    out["density"] = {"shape": density.shape, "counts": sorted(int(r[2]) for r in density.rows)}
    out["figures"] = {}
    with use_locale("fr"):
        for name, data in (("grouped bar", bar), ("density scatter", density)):
            built, figure = cold_runs(lambda data=data: chart_figure(data, "fr"), runs)
            serialised, text = cold_runs(figure.to_json, runs)
            out["figures"][name] = {"build": built, "to_json": serialised, "json_kb": len(text) / 1024}
    out["figures_peak_mb"] = peak.read()
    out["life_peak_mb"] = max(
        out["setup_peak_mb"],
        out["add_peak_mb"],
        out["figures_peak_mb"],
        *(found["peak_mb"] for found in out["questions"].values()),
    )
    peak.stop()
    return out


def child_pandas(csv_path: Path, runs: int) -> dict:
    import numpy as np
    import pandas as pd

    peak = Peak()
    out: dict = {"rss_before_mb": _status("VmRSS")}
    peak.reset()
    started = time.perf_counter()
    frame = pd.read_csv(csv_path)
    out["read_seconds"] = time.perf_counter() - started
    out["read_peak_mb"] = peak.read()
    out["frame_mb"] = frame.memory_usage(deep=True).sum() / 2**20

    def bar():
        kept = frame[frame[BAR["x"]].notna()]
        return kept.groupby([BAR["color"], BAR["x"]], sort=True)[BAR["y"]].mean()

    def density():
        x, y = frame[SCATTER["x"]].to_numpy(), frame[SCATTER["y"]].to_numpy()
        present = ~(np.isnan(x) | np.isnan(y))
        return np.histogram2d(x[present], y[present], bins=DENSITY_BINS)[0]

    questions = {
        "table page: 100 rows at row 500,000 sorted by price": lambda: frame.sort_values(
            "price", ascending=False
        ).iloc[500_000:500_100],
        "column summary: price (number)": lambda: frame["price"].describe(),
        "column summary: city (category)": lambda: frame["city"].value_counts().head(10),
        "chart: grouped bar (mean price by city and channel)": bar,
        "chart: density scatter (score against price)": density,
    }
    out["questions"] = {}
    answers = {}
    for name, function in questions.items():
        out["questions"][name], answers[name] = cold_runs(function, runs)
    means = answers["chart: grouped bar (mean price by city and channel)"]
    out["bar"] = [[channel, city, float(value)] for (channel, city), value in means.items()]
    cells = answers["chart: density scatter (score against price)"]
    out["density"] = sorted(int(n) for n in cells.ravel() if n)
    # (the order a sorted page must follow: stable, missing values last; untimed)
    by_price = frame.sort_values("price", ascending=False, kind="stable", na_position="last")["id"]
    # (an empty comment is "" in the stored file; DuckDB compares text by its UTF-8 bytes, as
    # Python compares str: "É" after "z")
    by_comment = frame["comment"].fillna("").sort_values(kind="stable", na_position="last")
    out["sorted_ids"] = {
        "table page: first 100 rows sorted by price": by_price.iloc[:100].tolist(),
        "table page: 100 rows at row 500,000 sorted by price": by_price.iloc[500_000:500_100].tolist(),
        "table page: 100 rows at row 500,000 sorted by comment (text)": frame["id"]
        .loc[by_comment.index[500_000:500_100]]
        .tolist(),
    }
    peak.stop()
    return out


# --- the parent: the file, the two children, the tables ---


def run_child(kind: str, tmp: Path, csv_path: Path, runs: int) -> tuple[dict, float]:
    """The child's answer, and its wall time in s."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--child",
            kind,
            "--dir",
            str(tmp),
            "--csv",
            str(csv_path),
            "--runs",
            str(runs),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp,  # (anything DuckDB might spill goes under the temporary folder)
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    stdout, stderr = child.communicate()
    if child.returncode:
        raise SystemExit(stderr.decode()[-3000:])
    return json.loads(stdout.decode().strip().splitlines()[-1]), time.perf_counter() - started


def verdict(ms: float, goal: float) -> str:
    return "met" if ms <= goal else "**not met**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=("dashhub", "pandas"))
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    if args.child == "dashhub":
        print(json.dumps(child_dashhub(args.dir, args.csv, args.runs), default=str))
        return
    if args.child == "pandas":
        print(json.dumps(child_pandas(args.csv, args.runs), default=str))
        return

    with open("/proc/loadavg", encoding="ascii") as load:
        loadavg = " ".join(load.read().split()[:3])
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dashhub-bench-datasets-") as name:
        tmp = Path(name)
        csv_path = tmp / "bench.csv"
        started = time.perf_counter()
        write_file(csv_path, args.rows)
        generated = time.perf_counter() - started
        size = csv_path.stat().st_size
        ours, ours_wall = run_child("dashhub", tmp, csv_path, args.runs)
        theirs, _ = run_child("pandas", tmp, csv_path, args.runs)
    total = time.perf_counter() - began

    print(header(f"« Vos données »: a {args.rows:,}-row CSV ({size / 1e6:.0f} MB, {size / 2**20:.0f} MiB)"))
    print(
        f"load average at start {loadavg}; file written in {generated:.1f} s; "
        f"{args.runs} cold runs per question; whole bench {total:.0f} s\n"
    )
    print("types found: " + ", ".join(f"{k} {v}" for k, v in ours["types"].items()))
    print(f"rows set aside: {ours['rejected']}; stored Parquet {ours['stored_mb']:.0f} MiB\n")

    print("| step | measured | goal (issue 16) | |")
    print("| --- | --- | --- | --- |")
    print(
        f"| `DatasetStore.add`: read, type and store | {ours['add_seconds']:.1f} s | ≤ 15 s | "
        f"{'met' if ours['add_seconds'] <= 15 else '**not met**'} |"
    )
    added = ours["add_peak_mb"]
    print(
        f"| worker peak RSS during `add` (before: {ours['rss_before_mb']:.0f} MB) | "
        f"{added:.0f} MB | ≤ 500 MB | {'met' if added <= 500 else '**not met**'} |"
    )
    life = ours["life_peak_mb"]
    print(
        f"| worker peak RSS throughout (the whole child process, {ours_wall:.0f} s) | {life:.0f} MB | "
        f"≤ 500 MB | {'met' if life <= 500 else '**not met**'} |"
    )
    for name, found in ours["questions"].items():
        goal = GOALS[found["goal"]]
        print(
            f"| {name}, cold (median / max of {args.runs}; peak RSS {found['peak_mb']:.0f} MB) | "
            f"{found['median']:.0f} / {found['max']:.0f} ms | ≤ {goal} ms | "
            f"{verdict(found['median'], goal)}{'' if found['max'] <= goal else ' (max: not met)'} |"
        )
    for name, found in ours["figures"].items():
        print(
            f"| figure of the {name}: `chart_figure` / `to_json` (median of {args.runs}) | "
            f"{found['build']['median']:.0f} / {found['to_json']['median']:.0f} ms, "
            f"JSON {found['json_kb']:.0f} KB | | |"
        )

    print(
        f"\nplain pandas (another process, same file): `read_csv` {theirs['read_seconds']:.2f} s, "
        f"peak RSS {theirs['read_peak_mb']:.0f} MB, frame {theirs['frame_mb']:.0f} MB in memory\n"
    )
    print(
        "| question | dashhub cold (median) | pandas on the loaded frame (median) | "
        "pandas read + compute | (read + compute) / dashhub | compute / dashhub |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, found in theirs["questions"].items():
        mine = ours["questions"][name]["median"]
        compute = found["median"]
        whole = theirs["read_seconds"] * 1000 + compute
        print(
            f"| {name} | {mine:.0f} ms | {compute:.0f} ms | {whole:.0f} ms | {whole / mine:.1f} × | "
            f"{compute / mine:.2f} × |"
        )

    mine_bar = {(c, x): v for c, x, v in ours["bar"]["rows"]}
    their_bar = {(c, x): v for c, x, v in theirs["bar"]}
    same_keys = mine_bar.keys() == their_bar.keys()
    gap = max(abs(mine_bar[k] - their_bar[k]) for k in mine_bar) if same_keys else float("nan")
    print(
        f"\nchecked: grouped bar {len(mine_bar)} groups ({ours['bar']['shape']}), same groups as pandas: "
        f"{same_keys}, largest gap {gap:.2e}; density ({ours['density']['shape']}) "
        f"{len(ours['density']['counts'])} cells, {sum(ours['density']['counts']):,} rows, "
        f"same cell counts as histogram2d: {ours['density']['counts'] == theirs['density']}"
    )
    for name, ids in ours["sorted_ids"].items():
        print(
            f"checked: {name}: the same rows in the same order as pandas' stable sort_values "
            f"(missing last): {ids == theirs['sorted_ids'][name]}"
        )


if __name__ == "__main__":
    main()
