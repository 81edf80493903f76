"""Validated CSV loading: every row checked, good rows loaded in one transaction, bad rows reported."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, Integer, cast, delete, extract, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from dashhub.db import (
    bump_version,
    employee_bins,
    employee_cell_counts,
    employees,
    loads,
    sales,
    sales_daily,
    week_start,
)
from dashhub.db import employee_cells as employee_cells_table
from dashhub.services import employee_cells
from dashhub.services.bulk_insert import bulk_insert
from dashhub.services.csv_reader import (
    CsvFormat,
    CsvReader,
    FileRejected,
    encoding_name,
    format_hint,
    read_ahead,
)
from dashhub.services.employee_staging import EmployeeStaging
from dashhub.services.loading_rules import Reasons, blank_rows, validate_employees, validate_sales

__all__ = ["CsvFormat", "FileRejected", "encoding_name"]  # (for the command line)
DEFAULT_FORMAT = CsvFormat()
MAX_REPORTED = 1000


@dataclass(frozen=True)
class RejectLimit:
    """How many rejected rows a load accepts: a count, or a share of the file's rows."""

    count: int | None = None
    share: float | None = None

    @classmethod
    def parse(cls, text: str) -> RejectLimit:
        """« 10 » (rows) or « 1% » (of the file's rows); ValueError otherwise."""
        cleaned = text.strip()
        if cleaned.endswith("%"):
            share = float(cleaned[:-1]) / 100
            if not 0 <= share <= 1:
                raise ValueError(f"{text!r}: a share is between 0% and 100%")
            return cls(share=share)
        count = float(cleaned)
        if count < 0 or count % 1:
            raise ValueError(f"{text!r}: a count of rows is a whole number")
        return cls(count=int(count))

    def exceeded(self, rejected: int, total: int) -> bool:
        if self.count is not None:
            return rejected > self.count
        return total > 0 and rejected / total > (self.share or 0.0)

    def __str__(self) -> str:
        return (
            f"{self.count:,} rows" if self.count is not None else f"{(self.share or 0) * 100:g}% of the rows"
        )


EVERY_ROW = RejectLimit(share=1.0)


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


@dataclass
class LoadReport:
    dataset: str
    loaded: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    rejected_count: int = 0
    error: str | None = None  # a file-level problem: nothing was loaded
    load_id: int | None = None  # the `loads` row of a load that went through
    encoding: str | None = None  # what the file was read as

    @property
    def ok(self) -> bool:
        return self.error is None and self.loaded > 0


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    columns: tuple[str, ...]
    validate: Callable[[pa.Table, CsvFormat], tuple[pa.Table, Reasons]]


DATASETS: dict[str, DatasetSpec] = {
    "sales": DatasetSpec("sales", ("date", "region", "product", "amount"), validate_sales),
    "employees": DatasetSpec(
        "employees",
        (
            "employee_id",
            "department",
            "age",
            "experience_years",
            "salary",
            "performance",
            "satisfaction",
        ),
        validate_employees,
    ),
}


def load_csv(
    engine: Engine,
    dataset: str,
    path: Path,
    *,
    replace: bool = False,
    max_rejected: RejectLimit = EVERY_ROW,
    fmt: CsvFormat = DEFAULT_FORMAT,
    allow_duplicate: bool = False,
) -> LoadReport:
    """Validate path and load its good rows into dataset in one transaction; nothing at all when
    more rows are rejected than max_rejected allows (nor when none is good), nor when the same
    file is loaded already (unless allow_duplicate). The load is kept (`loads`) with its rows."""
    report = LoadReport(dataset)
    reader: CsvReader | None = None
    found = _Rejections()
    try:
        reader = CsvReader(path, fmt)
        report.encoding = reader.encoding
        _check_columns(reader, DATASETS[dataset], fmt)
        fingerprint = file_sha256(path)
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # (the workers' 30 s bound is not a load's)
                conn.execute(text("SET LOCAL statement_timeout = 0"))
            if replace:
                clear_dataset(conn, dataset)
            elif not allow_duplicate:
                _refuse_a_file_loaded_already(conn, dataset, fingerprint)
            report.load_id = _start_load(conn, dataset, path.name, fingerprint)
            report.loaded = _load_rows(conn, dataset, reader, fmt, report.load_id, found)
            report.rejected_count = found.count + reader.ragged.count
            if report.loaded == 0:
                raise FileRejected("no valid row")
            total = report.loaded + report.rejected_count
            if max_rejected.exceeded(report.rejected_count, total):
                raise FileRejected(
                    f"{report.rejected_count:,} of {total:,} rows rejected, more than the "
                    f"{max_rejected} allowed (loading.max_rejected, or --max-rejected)"
                )
            conn.execute(
                update(loads)
                .where(loads.c.id == report.load_id)
                .values(rows=report.loaded, rejected=report.rejected_count)
            )
            bump_version(conn, dataset)
    except OSError as exc:
        report.error = f"cannot open {path}: {exc.strerror}"
    except LookupError:
        report.error = f"unknown text encoding {fmt.encoding!r} (e.g. utf-8, cp1252, latin-1, utf-16)"
    except FileRejected as exc:
        report.error = str(exc)
        report.loaded = 0
    if reader is not None:
        report.rejected = _in_file_order(reader, found.kept + reader.ragged.kept)
        report.rejected_count = max(report.rejected_count, found.count + reader.ragged.count)
    return report


@dataclass
class _Rejections:
    """Rows refused by a rule: all counted, the first MAX_REPORTED kept as (record, reason)."""

    count: int = 0
    kept: list[tuple[int, str]] = field(default_factory=list)

    def add(self, records: np.ndarray, reasons: Reasons, bad: np.ndarray) -> None:
        self.count += int(bad.sum())
        room = MAX_REPORTED - len(self.kept)
        if room > 0 and bad.any():
            rows = np.flatnonzero(bad)[:room]
            self.kept.extend(zip(records[rows].tolist(), reasons.of(rows), strict=True))


def _check_columns(reader: CsvReader, spec: DatasetSpec, fmt: CsvFormat) -> None:
    header = reader.header
    hint = format_hint(header.names, header.first_row, fmt)
    if hint:
        raise FileRejected(f"line {header.line}: {hint}")
    missing = [c for c in spec.columns if c not in header.names]
    unknown = [c for c in header.names if c not in spec.columns]
    twice = len(set(header.names)) != len(header.names)
    if missing or unknown or twice:
        parts = []
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s): {', '.join(unknown) or '(an empty name)'}")
        if twice:
            parts.append("a column appears twice")
        article = "An" if spec.name[0] in "aeiou" else "A"
        raise FileRejected(
            f"line {header.line}: {'; '.join(parts)}. {article} {spec.name} file has exactly "
            f"these columns: {', '.join(spec.columns)}"
        )


def _load_rows(
    conn: Connection, dataset: str, reader: CsvReader, fmt: CsvFormat, load_id: int, found: _Rejections
) -> int:
    """Check and insert the file's rows, a batch at a time (the next batch is read and checked by
    another thread while this one is written); the rows loaded."""
    if dataset == "employees":
        return _load_employees(conn, reader, fmt, load_id, found)
    days = _SalesDays()
    loaded = 0
    for typed, reasons, records in read_ahead(_checked(reader, DATASETS[dataset], fmt)):
        found.add(records, reasons, ~reasons.ok)
        if reasons.ok.any():
            good = typed.filter(pa.array(reasons.ok))
            bulk_insert(conn, sales, good.append_column("load_id", pa.repeat(load_id, good.num_rows)))
            loaded += good.num_rows
            days.add(good)
    days.write(conn)
    return loaded


def _load_employees(
    conn: Connection, reader: CsvReader, fmt: CsvFormat, load_id: int, found: _Rejections
) -> int:
    """Rows that pass the rules go to a staging table first; an id loaded already, or seen earlier
    in the file, is then rejected by one query the database plans (no id set held here, so memory
    does not grow with the table), and the rest is inserted."""
    staging = EmployeeStaging(conn)
    try:
        for typed, reasons, records in read_ahead(_checked(reader, DATASETS["employees"], fmt)):
            found.add(records, reasons, ~reasons.ok)
            if reasons.ok.any():
                staging.add(
                    typed.filter(pa.array(reasons.ok)).append_column("record", pa.array(records[reasons.ok]))
                )
        count, first = staging.duplicates()
        found.count += count
        found.kept.extend(first)
        with _rh_indexes_rebuilt_if_cheaper(conn, staging.staged):
            loaded = staging.insert_into_employees(load_id)
        employee_cells.add_rows(conn, staging.counted())  # (the RH aggregates, in the same transaction)
        if conn.dialect.name == "postgresql":  # (the planner's row counts: RH reads rows by index)
            conn.execute(text("ANALYZE employees"))
        return loaded
    finally:
        staging.drop()


REBUILD_INDEXES_FROM = 200_000  # rows a load brings, at least, before its indexes are rebuilt
RH_INDEXES = ("ix_employees_cohort", "ix_employees_scatter")


@contextmanager
def _rh_indexes_rebuilt_if_cheaper(conn: Connection, incoming: int) -> Iterator[None]:
    """Drop RH's row indexes around an insert that at least doubles the table (a first load, a
    replace) and build them again after it: sorting once is several times faster than updating a
    B-tree row by row. On PostgreSQL this locks `employees` until the load commits, so RH's table
    page and box or lasso wait for a load of that size (its numbers do not: they read the cells)."""
    existing = count_rows(conn, "employees")
    if incoming < max(REBUILD_INDEXES_FROM, existing):
        yield
        return
    indexes = [index for index in employees.indexes if index.name in RH_INDEXES]
    for index in indexes:
        index.drop(conn)
    yield
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for index in indexes:
        index.create(conn)


def _checked(
    reader: CsvReader, spec: DatasetSpec, fmt: CsvFormat
) -> Iterator[tuple[pa.Table, Reasons, np.ndarray]]:
    """Each batch typed, with the first rule each row breaks and the rows' record numbers."""
    for strings, records in reader.batches():
        blank = blank_rows(strings)
        if blank.any():
            strings, records = strings.filter(pa.array(~blank)), records[~blank]
        typed, reasons = spec.validate(strings, fmt)
        yield typed, reasons, records


def _in_file_order(reader: CsvReader, rejected: list[tuple[int, str]]) -> list[RejectedRow]:
    """The first MAX_REPORTED rejected rows by their place in the file, with their line."""
    first = sorted(rejected)[:MAX_REPORTED]
    try:
        lines = reader.lines(record for record, _ in first)
    except FileRejected:
        lines = {}
    guess = reader.header.line + 1  # (a line the csv reader could not reach: as if one per line)
    return [RejectedRow(lines.get(record, guess + record), reason) for record, reason in first]


class _SalesDays:
    """Day × region × product sums of the rows a load brings, added to the rollup at the end (in
    the load's transaction): the cost follows the file, not the table."""

    KEYS = ("date", "region", "product")

    def __init__(self) -> None:
        self.parts: list[pa.Table] = []

    def add(self, rows: pa.Table) -> None:
        sums = rows.group_by(list(self.KEYS)).aggregate([("amount", "sum"), ("amount", "count")])
        self.parts.append(sums.select([*self.KEYS, "amount_sum", "amount_count"]))
        if len(self.parts) > 8:
            self.parts = [self._merged()]

    def _merged(self) -> pa.Table:
        merged = pa.concat_tables(self.parts).group_by(list(self.KEYS))
        merged = merged.aggregate([("amount_sum", "sum"), ("amount_count", "sum")])
        return merged.select([*self.KEYS, "amount_sum_sum", "amount_count_sum"]).rename_columns(
            [*self.KEYS, "amount_sum", "amount_count"]
        )

    def write(self, conn: Connection) -> None:
        if not self.parts:
            return
        merged = self._merged().to_pydict()
        records = [
            _rollup_record(*values)
            for values in zip(
                merged["date"],
                merged["region"],
                merged["product"],
                merged["amount_sum"],
                merged["amount_count"],
                strict=True,
            )
        ]
        add_to_sales_rollup(conn, records)


def _rollup_record(day: dt.date, region: str, product: str, amount: float, n_rows: int) -> dict:
    return {
        "day": day,
        "region": region,
        "product": product,
        "week": day - dt.timedelta(days=day.weekday()),
        "year": day.year,
        "month": day.month,
        "amount": amount,
        "n_rows": n_rows,
    }


def add_to_sales_rollup(conn: Connection, records: list[dict]) -> None:
    """Add day × region × product sums to the rollup: new keys inserted, known ones summed."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(sales_daily)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "region", "product"],
        set_={
            "amount": sales_daily.c.amount + statement.excluded.amount,
            "n_rows": sales_daily.c.n_rows + statement.excluded.n_rows,
        },
    )
    for start in range(0, len(records), 10_000):
        conn.execute(statement, records[start : start + 10_000])


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _refuse_a_file_loaded_already(conn: Connection, dataset: str, fingerprint: str) -> None:
    earlier = conn.execute(
        select(loads.c.id, loads.c.loaded_at, loads.c.filename)
        .where(loads.c.dataset == dataset, loads.c.sha256 == fingerprint, loads.c.undone_at.is_(None))
        .order_by(loads.c.id)
    ).first()
    if earlier is not None:
        when = _as_utc(earlier.loaded_at).strftime("%Y-%m-%d %H:%M UTC")
        raise FileRejected(
            f"this file was loaded already (load {earlier.id}, {earlier.filename}, {when}): loading it "
            f"again would count its rows twice. `dashhub loads undo {earlier.id}` first, or add "
            "--allow-duplicate"
        )


def _start_load(conn: Connection, dataset: str, filename: str, fingerprint: str) -> int:
    row = conn.execute(
        insert(loads)
        .values(
            dataset=dataset,
            filename=filename[:255],
            sha256=fingerprint,
            rows=0,
            rejected=0,
            loaded_at=dt.datetime.now(dt.UTC),
        )
        .returning(loads.c.id)
    ).one()
    return int(row.id)


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def list_loads(engine: Engine, dataset: str | None = None) -> list:
    query = select(loads).order_by(loads.c.id)
    if dataset:
        query = query.where(loads.c.dataset == dataset)
    with engine.connect() as conn:
        return list(conn.execute(query))


class UndoRefused(Exception):
    """The load does not exist, or is undone or replaced already."""


def undo_load(engine: Engine, load_id: int) -> tuple[str, int]:
    """Delete the rows a load brought (its rollup days rebuilt, in one transaction): (data set,
    rows deleted)."""
    with engine.begin() as conn:
        load = conn.execute(select(loads).where(loads.c.id == load_id)).first()
        if load is None:
            raise UndoRefused(f"there is no load {load_id} (dashhub loads list)")
        if load.undone_at is not None:
            when = _as_utc(load.undone_at).strftime("%Y-%m-%d %H:%M UTC")
            raise UndoRefused(f"load {load_id} was undone or replaced already ({when})")
        if load.dataset == "sales":
            _subtract_from_sales_rollup(conn, load_id)
            deleted = conn.execute(delete(sales).where(sales.c.load_id == load_id)).rowcount
        else:
            deleted = conn.execute(delete(employees).where(employees.c.load_id == load_id)).rowcount
            employee_cells.rebuild(conn)
        conn.execute(update(loads).where(loads.c.id == load_id).values(undone_at=dt.datetime.now(dt.UTC)))
        bump_version(conn, load.dataset)
    return load.dataset, int(deleted)


def _subtract_from_sales_rollup(conn: Connection, load_id: int) -> None:
    """Take a load's day sums out of the rollup; days left without rows go."""
    s = sales.c
    days = conn.execute(
        select(s.date, s.region, s.product, func.sum(s.amount), func.count())
        .where(s.load_id == load_id)
        .group_by(s.date, s.region, s.product)
    )
    add_to_sales_rollup(
        conn, [_rollup_record(day, region, product, -amount, -n) for day, region, product, amount, n in days]
    )
    conn.execute(delete(sales_daily).where(sales_daily.c.n_rows <= 0))


def count_rows(conn: Connection, dataset: str) -> int:
    """How many rows the data set holds (what --replace deletes)."""
    table = sales if dataset == "sales" else employees
    return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def clear_dataset(conn: Connection, dataset: str) -> None:
    """Delete the data set's rows; its loads count as replaced (their file may be loaded again)."""
    conn.execute(
        update(loads)
        .where(loads.c.dataset == dataset, loads.c.undone_at.is_(None))
        .values(undone_at=dt.datetime.now(dt.UTC))
    )
    if dataset == "sales":
        conn.execute(delete(sales_daily))
        conn.execute(delete(sales))
    else:
        conn.execute(delete(employee_cells_table))
        conn.execute(delete(employee_cell_counts))
        conn.execute(delete(employee_bins))
        conn.execute(delete(employees))


def insert_sales(conn: Connection, frame: pd.DataFrame) -> None:
    """Insert already valid sales rows (columns date, region, product, amount)."""
    rows = pa.Table.from_pandas(frame[["date", "region", "product", "amount"]], preserve_index=False)
    if not pa.types.is_date(rows["date"].type):
        rows = rows.set_column(0, "date", pc.cast(rows["date"], pa.date32()))
    bulk_insert(conn, sales, rows)


def insert_employees(conn: Connection, frame: pd.DataFrame) -> None:
    """Insert already valid employees rows (then `employee_cells.rebuild` counts them for RH)."""
    columns = list(DATASETS["employees"].columns)
    bulk_insert(conn, employees, pa.Table.from_pandas(frame[columns], preserve_index=False))


def refresh_sales_rollup(conn: Connection, start: dt.date | None = None, end: dt.date | None = None) -> None:
    """Rebuild the day × region × product rollup for [start, end] (default: the whole table)."""
    s = sales.c
    if start is None or end is None:
        start, end = conn.execute(select(func.min(s.date), func.max(s.date))).one()
        if start is None:
            conn.execute(delete(sales_daily))
            return
    conn.execute(delete(sales_daily).where(sales_daily.c.day.between(start, end)))
    grouped = (
        select(
            s.date,
            s.region,
            s.product,
            week_start(s.date),
            cast(extract("year", s.date), Integer),
            cast(extract("month", s.date), Integer),
            func.sum(s.amount),
            func.count(),
        )
        .where(s.date.between(start, end))
        .group_by(s.date, s.region, s.product)
    )
    conn.execute(
        insert(sales_daily).from_select(
            ["day", "region", "product", "week", "year", "month", "amount", "n_rows"], grouped
        )
    )
