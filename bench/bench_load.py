"""`dashhub load sales` on a generated file: rows per second and the loading process's peak memory,
on SQLite and on PostgreSQL (a throwaway database on 127.0.0.1:5432), as a user runs it (the CLI
in its own process, a schema made by `dashhub init`). Prints markdown.

    .venv/bin/python bench/bench_load.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import header

DASHHUB = str(Path(sys.executable).parent / "dashhub")
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(7)
    regions, products = ("Nord", "Sud", "Est", "Ouest"), ("Produit A", "Produit B", "Produit C", "Produit D")
    with path.open("w") as out:
        out.write("date,region,product,amount\n")
        for i in range(rows):
            day = 1 + i % 28
            region, product = rng.choice(regions), rng.choice(products)
            out.write(f"2025-{1 + i % 12:02d}-{day:02d},{region},{product},{rng.uniform(10, 5000):.2f}\n")


def timed_load(env: dict, path: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one `dashhub load` run."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [DASHHUB, "load", "sales", str(path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"load failed ({status}): {process.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sales.csv"
        write_file(path, args.rows)
        size_mb = path.stat().st_size / 2**20
        base = {**os.environ, "DASHHUB_PATHS__DATA_DIR": tmp, "DASHHUB_SECRET_KEY": "bench-" + "x" * 40}
        name = f"dashhub_bench_load_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            for label, url in (
                ("SQLite", f"sqlite:///{tmp}/bench.db"),
                ("PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"),
            ):
                env = {**base, "DASHHUB_DATABASE__URL": url}
                subprocess.run([DASHHUB, "init"], env=env, check=True, capture_output=True)
                seconds, peak = timed_load(env, path)
                results.append((label, seconds, peak))
        finally:
            with psycopg.connect(ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(header(f"`dashhub load sales`, {args.rows:,} rows ({size_mb:.0f} MB)"))
    print("| database | time | rows/s | peak memory of the load |")
    print("| --- | --- | --- | --- |")
    for label, seconds, peak in results:
        print(f"| {label} | {seconds:.1f} s | {args.rows / seconds:,.0f} | {peak:.0f} MB |")


if __name__ == "__main__":
    main()
