"""« Vos données » storage (issue 16): a generated CSV of N rows (~70 bytes each) typed and stored
as Parquet, in a process of its own (time and peak memory), then a table page, a column summary
and a numeric column's top values, each cold (a new DuckDB connection per question, as a request
has); and plain pandas reading the same CSV and answering the same questions, in the same run.

    .venv/bin/python bench/bench_datasets.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from bench.common import header

IMPORT = """
import sys, json, time
from pathlib import Path
from dashhub.db import make_engine
from dashhub.migrations import upgrade
from dashhub.auth.users import UserStore
from dashhub.config import load_settings
from dashhub.services.user_datasets import DatasetStore, Viewer
engine = make_engine(sys.argv[1])
upgrade(engine)
users = UserStore(engine, load_settings(path=None, environ={}).auth)
user = users.add("bench", "analyst", "Measures-Speed-2026!")
store = DatasetStore(engine, Path(sys.argv[2]))
started = time.perf_counter()
report = store.add(Viewer(user.id, "analyst"), Path(sys.argv[3]), "bench.csv")
print(json.dumps({"seconds": time.perf_counter() - started, "id": report.dataset.id, "user": user.id}))
"""


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(3)
    cities = [f"Ville {i}" for i in range(40)]
    with path.open("w") as out:
        out.write("id,date,city,segment,quantity,price,discount,score,comment,active\n")
        for i in range(rows):
            out.write(
                f"{i},2025-{1 + i % 12:02d}-{1 + i % 28:02d},{rng.choice(cities)},{'ABCD'[i % 4]},"
                f"{rng.randint(1, 50)},{rng.uniform(1, 999):.2f},{rng.random():.3f},{rng.gauss(50, 15):.4f},"
                f"note {rng.getrandbits(40):x},{'true' if i % 3 else 'false'}\n"
            )


def timed(function, repeat: int = 3) -> float:
    """The best of repeat cold runs, in ms."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    import json

    import pandas as pd

    from dashhub.db import make_engine
    from dashhub.services.user_datasets import DatasetStore, Viewer

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "bench.csv"
        write_file(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 2**20
        url = f"sqlite:///{tmp}/bench.db"
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", IMPORT, url, tmp, str(csv_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")},
        )
        _, status, usage = os.wait4(child.pid, 0)
        process_seconds = time.perf_counter() - started
        if status:
            raise SystemExit(child.stderr.read().decode()[-2000:])
        result = json.loads(child.stdout.read())
        store = DatasetStore(make_engine(url), Path(tmp))
        viewer = Viewer(result["user"], "analyst")
        dataset = result["id"]
        ours = {
            "a table page (100 rows, sorted by price)": timed(
                lambda: store.page(viewer, dataset, 500_000, 100, sort=[("price", "desc")])
            ),
            "a column summary (score)": timed(lambda: store.summary(viewer, dataset, "score")),
            "a category's top values (city)": timed(lambda: store.summary(viewer, dataset, "city")),
        }
        started = time.perf_counter()
        frame = pd.read_csv(csv_path)
        pandas_read = time.perf_counter() - started
        theirs = {
            "a table page (100 rows, sorted by price)": timed(
                lambda: frame.sort_values("price", ascending=False).iloc[500_000:500_100], 1
            ),
            "a column summary (score)": timed(lambda: frame["score"].describe(), 1),
            "a category's top values (city)": timed(lambda: frame["city"].value_counts().head(10), 1),
        }
    print(header(f"« Vos données »: a {args.rows:,}-row CSV ({size_mb:.0f} MB)"))
    print("| step | dashhub (Parquet + DuckDB) | plain pandas (CSV in memory) |")
    print("| --- | --- | --- |")
    print(
        f"| read, type and store | {result['seconds']:.1f} s (process {process_seconds:.1f} s, "
        f"peak {usage.ru_maxrss / 1024:.0f} MB) | `read_csv` {pandas_read:.2f} s |"
    )
    for step, ms in ours.items():
        print(f"| {step}, cold | {ms:.0f} ms | {theirs[step]:.0f} ms (after the read) |")


if __name__ == "__main__":
    main()
