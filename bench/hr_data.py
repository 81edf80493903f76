"""Employees databases for the RH benchmarks, built once and reused: a SQLite file
(bench/results/employees-N.db) or a PostgreSQL database on 127.0.0.1:5432
(dashhub_bench_employees_N), filled with `demo_employees` a million rows at a time (distinct
employee ids), counted into `employee_cells` once at the end, in one transaction."""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import Column, Engine, MetaData, String, Table, create_engine, delete, func, inspect, select

from dashhub.db import bump_version, employees, make_engine, metadata
from dashhub.demo import demo_employees
from dashhub.migrations import upgrade
from dashhub.services import employee_cells as cells
from dashhub.services.loading import insert_employees

RESULTS = Path(__file__).resolve().parent / "results"
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASES = ("sqlite", "postgresql")
CHUNK = 1_000_000
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
SRC = Path(__file__).resolve().parent.parent / "src" / "dashhub"
# what the stored cells and indexes depend on: a change here recounts the cells of a kept database
CELLS_CODE = (
    SRC / "db.py",
    SRC / "services" / "employee_cells.py",
    SRC / "services" / "employee_bins.py",
    SRC / "migrations" / "versions" / "0012_employee_cells.py",
)
# the tables RH maintains from `employees` (employee_cells and the like): remade as defined now when
# their definition changed after a kept database was made
DERIVED = tuple(table for name, table in metadata.tables.items() if name.startswith("employee_"))

_meta = MetaData()
bench_build = Table(
    "bench_build", _meta, Column("key", String(32), primary_key=True), Column("value", String(64))
)


def cells_digest() -> str:
    digest = hashlib.sha256()
    for path in CELLS_CODE:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def code_version() -> str:
    """The last commit of the app's code (src, callbacks, layouts: not the benchmarks or the docs),
    and a digest of that code when the working tree differs from it."""
    root = SRC.parent.parent
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%h", "--", "src", "callbacks", "layouts"],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "status", "--porcelain", "src", "callbacks", "layouts"],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not changed:
        return commit or "unknown"
    digest = hashlib.sha256()
    for folder in ("src", "callbacks", "layouts"):
        for path in sorted((root / folder).rglob("*.py")):
            digest.update(path.read_bytes())
    return f"{commit} + uncommitted changes (digest {digest.hexdigest()[:12]})"


def load_average() -> float:
    """The machine's load average over the last minute (others' work skews the timings)."""
    with open("/proc/loadavg", encoding="utf-8") as loadavg:
        return float(loadavg.read().split()[0])


def code_note(started_with: str, load_at_start: float) -> str:
    """The code measured and the machine's load, for a results block (with a warning if the code
    changed during the run)."""
    now = code_version()
    load = f"load average {load_at_start:.1f} at the start, {load_average():.1f} at the end"
    if now == started_with:
        return f"Code: {now}; {load}."
    return f"Code: {started_with} at the start, {now} at the end (changed during the run: discard); {load}."


def pg_name(count: int) -> str:
    return f"dashhub_bench_employees_{count}"


def database_url(database: str, count: int) -> str:
    if database == "sqlite":
        return f"sqlite:///{RESULTS / f'employees-{count}.db'}"
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_name(count)}"


def _admin(statement: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(statement)


def drop(database: str, count: int) -> None:
    """Remove the database of count employees (the PostgreSQL one; SQLite files stay unless asked)."""
    if database == "postgresql":
        _admin(f'DROP DATABASE IF EXISTS "{pg_name(count)}" WITH (FORCE)')
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{RESULTS / f'employees-{count}.db'}{suffix}").unlink(missing_ok=True)


def _exists(count: int) -> bool:
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (pg_name(count),)).fetchone()
    return found is not None


def _ready(engine: Engine, count: int) -> bool:
    """Whether the employees are there (one transaction wrote them all, the last id is count)."""
    with engine.connect() as conn:
        return conn.execute(select(func.max(employees.c.employee_id))).scalar() == count


def _stale_indexes(engine: Engine) -> list:
    """The indexes of `employees` missing or defined otherwise than in dashhub.db."""
    present = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("employees")}
    return [ix for ix in employees.indexes if present.get(ix.name) != [c.name for c in ix.columns]]


def _refresh(database: str, engine: Engine) -> bool:
    """Bring a kept database to the code: indexes as defined now, cells recounted when the cells'
    code changed since they were counted. Whether anything was done."""
    _meta.create_all(engine)
    with engine.connect() as conn:
        counted_with = conn.execute(select(bench_build.c.value).where(bench_build.c.key == "cells")).scalar()
    stale = _stale_indexes(engine)
    inspector = inspect(engine)
    reshaped = [
        table
        for table in DERIVED
        if not inspector.has_table(table.name)
        or [c["name"] for c in inspector.get_columns(table.name)] != [c.name for c in table.columns]
    ]
    if counted_with == cells_digest() and not stale and not reshaped:
        return False
    started = time.perf_counter()
    with engine.begin() as conn:
        for table in reshaped:  # (0012 edited after this database was made)
            table.drop(conn, checkfirst=True)
            table.create(conn)
        for index in stale:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
            index.create(conn)
        cells.rebuild(conn)
        bump_version(conn, "employees")
        _counted(conn)
    names = ", ".join(ix.name for ix in stale) or "none"
    tables = ", ".join(t.name for t in reshaped) or "none"
    took = time.perf_counter() - started
    print(f"refreshed: tables {tables}, indexes {names}, cells in {took:.0f} s", file=sys.stderr)
    return True


def _counted(conn) -> None:
    conn.execute(delete(bench_build).where(bench_build.c.key == "cells"))
    conn.execute(bench_build.insert().values(key="cells", value=cells_digest()))


def _analyze(database: str, url: str) -> None:
    if database == "postgresql":
        # autovacuum is off on this server; a production one would have analysed the table by now
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            for table in ("employees", *(t.name for t in DERIVED)):
                conn.execute(f"VACUUM ANALYZE {table}")


def _build_engine(database: str, url: str) -> Engine:
    """make_engine, without the app's 30 s statement timeout on PostgreSQL (a 10 M rebuild)."""
    return make_engine(url) if database == "sqlite" else create_engine(url)


def build(database: str, count: int, fresh: bool = False) -> str:
    """The URL of a database holding count demo employees and their cells (built if needed); one
    process at a time builds or refreshes a given database (the others wait, then reuse it)."""
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / f"employees-{count}-{database}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(database, count, fresh)


def _build(database: str, count: int, fresh: bool) -> str:
    if fresh:
        drop(database, count)
    if database == "postgresql" and not _exists(count):
        _admin(f'CREATE DATABASE "{pg_name(count)}"')
    url = database_url(database, count)
    engine = _build_engine(database, url)
    try:
        upgrade(engine)
        if _ready(engine, count):
            if _refresh(database, engine):
                _analyze(database, url)
            return url
        started = time.perf_counter()
        with engine.begin() as conn:
            for table in DERIVED:
                conn.execute(delete(table))
            conn.execute(delete(employees))
            for start in range(0, count, CHUNK):
                frame = demo_employees(min(CHUNK, count - start), seed=7 + start // CHUNK)
                frame["employee_id"] += start
                insert_employees(conn, frame)
                del frame
            inserted = time.perf_counter()
            cells.rebuild(conn)
            bump_version(conn, "employees")
            _meta.create_all(conn)
            _counted(conn)
        counted = time.perf_counter()
        _analyze(database, url)
        print(
            f"built {count:,} employees on {LABELS[database]}: insert {inserted - started:.0f} s, "
            f"cells {counted - inserted:.0f} s, vacuum/analyze {time.perf_counter() - counted:.0f} s",
            file=sys.stderr,
        )
        return url
    finally:
        engine.dispose()


def main() -> None:
    """Build (or drop) the databases without measuring anything."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, action="append", required=True)
    parser.add_argument("--database", choices=DATABASES, action="append", help="default: both")
    parser.add_argument("--fresh", action="store_true", help="rebuild from scratch")
    parser.add_argument("--drop", action="store_true", help="drop instead of building")
    args = parser.parse_args()
    for count in args.employees:
        for database in args.database or DATABASES:
            if args.drop:
                drop(database, count)
                continue
            started = time.perf_counter()
            build(database, count, fresh=args.fresh)
            print(f"{count:,} on {LABELS[database]}: ready in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
