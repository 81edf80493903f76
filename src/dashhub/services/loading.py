"""Validated CSV loading: every row checked, good rows loaded in one transaction, bad rows reported."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Integer, cast, delete, extract, func, insert, select
from sqlalchemy.engine import Connection

from dashhub.db import bump_version, employees, sales, sales_daily, week_start

CHUNK_ROWS = 100_000
MAX_REPORTED = 1000
MAX_TEXT = 64
# An amount's magnitude: a billion times a large day's sales, and a sum of millions of them stays
# exact enough in a double and within every database's numeric range (1e308 made Inf, or an error).
MAX_AMOUNT = 1e12


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

    @property
    def ok(self) -> bool:
        return self.error is None and self.loaded > 0

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED:
            self.rejected.append(RejectedRow(line, reason))


class FileRejected(Exception):
    """The file as a whole cannot be loaded (unreadable, wrong columns)."""


# --- row validation: each validator turns a chunk of strings into typed columns plus reasons ---

Validator = Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.Series]]


def _text(values: pd.Series, column: str, reasons: pd.Series) -> pd.Series:
    cleaned = values.str.strip()
    _flag(reasons, cleaned == "", f"{column} is empty")
    _flag(reasons, cleaned.str.len() > MAX_TEXT, f"{column} is longer than {MAX_TEXT} characters")
    return cleaned


def _number(
    values: pd.Series, column: str, reasons: pd.Series, low: float | None, high: float | None
) -> pd.Series:
    numbers = pd.to_numeric(values.str.strip(), errors="coerce")
    bad = numbers.isna() | ~np.isfinite(numbers.fillna(0))
    _flag(reasons, bad, f"{column} is not a number")
    if low is not None:
        _flag(reasons, ~bad & (numbers < low), f"{column} is below {_bound(low)}")
    if high is not None:
        _flag(reasons, ~bad & (numbers > high), f"{column} is above {_bound(high)}")
    return numbers


def _bound(value: float) -> str:
    """A limit as people read it: « 2,147,483,647 », « 100 », « 0.5 »."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _integer(values: pd.Series, column: str, reasons: pd.Series, low: int, high: int) -> pd.Series:
    numbers = _number(values, column, reasons, low, high)
    _flag(reasons, numbers.notna() & (numbers % 1 != 0), f"{column} is not a whole number")
    return numbers


def _flag(reasons: pd.Series, mask: pd.Series, reason: str) -> None:
    """Record the first reason for each row where mask holds."""
    target = mask.fillna(False).astype(bool) & (reasons == "")
    reasons[target] = reason


def validate_sales(chunk: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    reasons = pd.Series("", index=chunk.index, dtype=object)
    dates = pd.to_datetime(chunk["date"].str.strip(), format="%Y-%m-%d", errors="coerce")
    _flag(reasons, dates.isna(), "date is not a date in YYYY-MM-DD form")
    _flag(reasons, (dates.dt.year < 1900) | (dates.dt.year > 2200), "date is out of range")
    typed = pd.DataFrame(
        {
            "date": dates.dt.date,
            "region": _text(chunk["region"], "region", reasons),
            "product": _text(chunk["product"], "product", reasons),
            "amount": _number(chunk["amount"], "amount", reasons, -MAX_AMOUNT, MAX_AMOUNT),
        }
    )
    return typed, reasons


def validate_employees(chunk: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    reasons = pd.Series("", index=chunk.index, dtype=object)
    typed = pd.DataFrame(
        {
            "employee_id": _integer(chunk["employee_id"], "employee_id", reasons, 1, 2**31 - 1),
            "department": _text(chunk["department"], "department", reasons),
            "age": _integer(chunk["age"], "age", reasons, 14, 100),
            "experience_years": _number(chunk["experience_years"], "experience_years", reasons, 0, 80),
            "salary": _number(chunk["salary"], "salary", reasons, 0, 100_000_000),
            "performance": _number(chunk["performance"], "performance", reasons, 0, 100),
            "satisfaction": _number(chunk["satisfaction"], "satisfaction", reasons, 0, 10),
        }
    )
    return typed, reasons


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    columns: tuple[str, ...]
    validate: Validator


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


# --- reading ---


def _chunks(text: io.TextIOBase, spec: DatasetSpec, report: LoadReport) -> Iterator[pd.DataFrame]:
    """Chunks of string columns, indexed by line number; ragged rows are rejected here."""
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected("the file is empty") from None
    except csv.Error as exc:
        raise FileRejected(f"line 1: not readable as CSV ({exc})") from None
    header = [name.strip().lstrip("\ufeff").lower() for name in header]
    missing = [c for c in spec.columns if c not in header]
    unknown = [c for c in header if c not in spec.columns]
    if missing or unknown or len(set(header)) != len(header):
        parts = []
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s): {', '.join(unknown)}")
        if len(set(header)) != len(header):
            parts.append("a column appears twice")
        article = "An" if spec.name[0] in "aeiou" else "A"
        expected = ", ".join(spec.columns)
        raise FileRejected(
            f"{'; '.join(parts)}. {article} {spec.name} file has exactly these columns: {expected}"
        )
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FileRejected(f"line {reader.line_num}: not readable as CSV ({exc})") from None
        if not row or all(not cell.strip() for cell in row):
            continue  # blank line
        if len(row) != width:
            report.reject(reader.line_num, f"expected {width} fields, found {len(row)}")
            continue
        if any("\x00" in cell for cell in row):  # (SQLite would cut the text there, PostgreSQL refuse it)
            report.reject(reader.line_num, "contains a NUL byte")
            continue
        rows.append(row)
        lines.append(reader.line_num)
        if len(rows) >= CHUNK_ROWS:
            yield pd.DataFrame(rows, columns=header, index=lines, dtype=object)
            rows, lines = [], []
    if rows:
        yield pd.DataFrame(rows, columns=header, index=lines, dtype=object)


def load_csv(
    engine: Engine,
    dataset: str,
    path: Path,
    *,
    replace: bool = False,
    max_rejected: RejectLimit = EVERY_ROW,
) -> LoadReport:
    """Validate path and load its good rows into dataset in one transaction; nothing at all when
    more rows are rejected than max_rejected allows (nor when none is good)."""
    spec = DATASETS[dataset]
    report = LoadReport(dataset)
    try:
        handle = path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        report.error = f"cannot open {path}: {exc.strerror}"
        return report
    try:
        with handle, engine.begin() as conn:
            if replace:
                _clear(conn, dataset)
            known_ids = _existing_ids(conn) if dataset == "employees" else set()
            first: dt.date | None = None
            last: dt.date | None = None
            for chunk in _chunks(handle, spec, report):
                typed, reasons = spec.validate(chunk)
                if dataset == "employees":
                    _flag_duplicate_ids(typed, reasons, known_ids)
                for line, reason in reasons[reasons != ""].items():
                    report.reject(int(line), reason)
                good = typed[reasons == ""]
                if not good.empty:
                    _insert(conn, dataset, good)
                    report.loaded += len(good)
                    if dataset == "sales":
                        first = min(filter(None, (first, good["date"].min())))
                        last = max(filter(None, (last, good["date"].max())))
            if report.loaded == 0:
                raise FileRejected("no valid row")
            total = report.loaded + report.rejected_count
            if max_rejected.exceeded(report.rejected_count, total):
                raise FileRejected(
                    f"{report.rejected_count:,} of {total:,} rows rejected, more than the "
                    f"{max_rejected} allowed (loading.max_rejected, or --max-rejected)"
                )
            if dataset == "sales":
                refresh_sales_rollup(conn, first, last)
            bump_version(conn, dataset)
    except FileRejected as exc:
        report.error = str(exc)
        report.loaded = 0
    except UnicodeDecodeError:
        report.error = "the file is not UTF-8 text"
        report.loaded = 0
    return report


def _existing_ids(conn: Connection) -> set[int]:
    return set(conn.scalars(select(employees.c.employee_id)))


def _flag_duplicate_ids(typed: pd.DataFrame, reasons: pd.Series, known: set[int]) -> None:
    ids = typed["employee_id"]
    _flag(reasons, ids.isin(known), "employee_id is already loaded")
    _flag(reasons, ids.duplicated(), "employee_id appears twice in the file")
    known.update(int(i) for i in ids[reasons == ""])


def count_rows(conn: Connection, dataset: str) -> int:
    """How many rows the data set holds (what --replace deletes)."""
    table = sales if dataset == "sales" else employees
    return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def _clear(conn: Connection, dataset: str) -> None:
    if dataset == "sales":
        conn.execute(delete(sales_daily))
        conn.execute(delete(sales))
    else:
        conn.execute(delete(employees))


def _insert(conn: Connection, dataset: str, frame: pd.DataFrame) -> None:
    table = sales if dataset == "sales" else employees
    if dataset == "employees":
        frame = frame.astype({"employee_id": int, "age": int})
    records = frame.to_dict("records")
    for start in range(0, len(records), 20_000):
        conn.execute(insert(table), records[start : start + 20_000])


def insert_sales(conn: Connection, frame: pd.DataFrame) -> None:
    """Insert already valid sales rows (columns date, region, product, amount)."""
    _insert(conn, "sales", frame[["date", "region", "product", "amount"]])


def insert_employees(conn: Connection, frame: pd.DataFrame) -> None:
    _insert(conn, "employees", frame[list(DATASETS["employees"].columns)])


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
