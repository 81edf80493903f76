"""`dashhub load` on generated files: rows per second and the loading process's peak memory, for
sales and employees, on SQLite and on PostgreSQL (a throwaway database on 127.0.0.1:5432), as a user
runs it (the CLI in its own process, a schema made by `dashhub init`). Prints markdown.

    .venv/bin/python bench/bench_load.py --rows 1000000 --rows 10000000
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


def write_sales(path: Path, rows: int) -> None:
    rng = random.Random(7)
    regions, products = ("Nord", "Sud", "Est", "Ouest"), ("Produit A", "Produit B", "Produit C", "Produit D")
    with path.open("w") as out:
        out.write("date,region,product,amount\n")
        for i in range(rows):
            day = 1 + i % 28
            region, product = rng.choice(regions), rng.choice(products)
            out.write(f"2025-{1 + i % 12:02d}-{day:02d},{region},{product},{rng.uniform(10, 5000):.2f}\n")


def write_employees(path: Path, rows: int) -> None:
    rng = random.Random(7)
    departments = ("IT", "Ventes", "Marketing", "RH", "Finance")
    with path.open("w") as out:
        out.write("employee_id,department,age,experience_years,salary,performance,satisfaction\n")
        for i in range(rows):
            out.write(
                f"{i + 1},{rng.choice(departments)},{rng.randint(22, 65)},{rng.uniform(0, 40):.1f},"
                f"{rng.uniform(30000, 120000):.2f},{rng.uniform(40, 100):.1f},{rng.uniform(1, 10):.1f}\n"
            )


WRITERS = {"sales": write_sales, "employees": write_employees}


def timed_load(env: dict, dataset: str, path: Path) -> tuple[float, float, str | None]:
    """(seconds, peak RSS in MB, why it failed or None) of one `dashhub load` run (its output in a
    file beside the data: a load's output can fill a pipe that nobody reads)."""
    log = path.with_suffix(".log")
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen([DASHHUB, "load", dataset, str(path)], env=env, stdout=out, stderr=out)
        _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    failure = None
    if status != 0:
        output = log.read_text(errors="replace")
        print(f"load failed ({status}) after {elapsed:.0f} s:\n{output[-4000:]}", file=sys.stderr)
        errors = [line for line in output.splitlines() if "Error" in line or "error" in line]
        failure = errors[0][:200] if errors else f"exit status {status}"
    return elapsed, usage.ru_maxrss / 1024, failure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, action="append", help="rows per file (repeatable)")
    parser.add_argument("--dataset", choices=sorted(WRITERS), action="append")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), action="append", help="default: both")
    args = parser.parse_args()
    databases = args.database or ["sqlite", "postgresql"]
    sizes, datasets = args.rows or [1_000_000], args.dataset or sorted(WRITERS, reverse=True)
    results = []
    for rows in sizes:
        for dataset in datasets:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"{dataset}.csv"
                WRITERS[dataset](path, rows)
                size_mb = path.stat().st_size / 2**20
                for label, seconds, peak, failure in load_on_both(tmp, dataset, path, databases):
                    results.append((dataset, rows, size_mb, label, seconds, peak, failure))
    print(header("`dashhub load`: rows per second and peak memory"))
    print("| data set | rows (file) | database | time | rows/s | peak memory of the load |")
    print("| --- | --- | --- | --- | --- | --- |")
    for dataset, rows, size_mb, label, seconds, peak, failure in results:
        speed = f"{rows / seconds:,.0f}" if failure is None else f"failed: {failure}"
        file = f"{rows:,} ({size_mb:.0f} MB)"
        print(f"| {dataset} | {file} | {label} | {seconds:.1f} s | {speed} | {peak:.0f} MB |")


def load_on_both(
    tmp: str, dataset: str, path: Path, databases: list[str]
) -> list[tuple[str, float, float, str | None]]:
    """Load path into a fresh SQLite file and a fresh PostgreSQL database (those asked for)."""
    base = {**os.environ, "DASHHUB_PATHS__DATA_DIR": tmp, "DASHHUB_SECRET_KEY": "bench-" + "x" * 40}
    name = f"dashhub_bench_load_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    results = []
    try:
        for database, label, url in (
            ("sqlite", "SQLite", f"sqlite:///{tmp}/bench.db"),
            ("postgresql", "PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"),
        ):
            if database not in databases:
                continue
            env = {**base, "DASHHUB_DATABASE__URL": url}
            subprocess.run([DASHHUB, "init"], env=env, check=True, capture_output=True)
            results.append((label, *timed_load(env, dataset, path)))
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results


if __name__ == "__main__":
    main()
