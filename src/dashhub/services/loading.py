"""Validated CSV loading: every row checked, good rows loaded in one transaction, bad rows reported."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Integer, cast, delete, extract, func, insert, select, update
from sqlalchemy.engine import Connection

from dashhub.db import bump_version, employees, loads, sales, sales_daily, week_start

CHUNK_ROWS = 100_000
MAX_REPORTED = 1000
MAX_TEXT = 64
FIELD_LIMIT = 64 << 20  # the longest field read (csv's default, 128 KB, refused whole files)
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
    load_id: int | None = None  # the `loads` row of a load that went through
    encoding: str | None = None  # what the file was read as

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
    numeric: tuple[str, ...] = ()


@dataclass(frozen=True)
class CsvFormat:
    """How a file is written: field separator, decimal mark, text encoding (auto: UTF-8 with or
    without BOM, UTF-16 with BOM, else Windows-1252)."""

    sep: str = ","
    decimal: str = "."
    encoding: str = "auto"


DATASETS: dict[str, DatasetSpec] = {
    "sales": DatasetSpec("sales", ("date", "region", "product", "amount"), validate_sales, ("amount",)),
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
        ("employee_id", "age", "experience_years", "salary", "performance", "satisfaction"),
    ),
}


# --- reading ---


SEPARATORS = {";": "semicolon", "\t": "tab", "|": "vertical bar", ",": "comma"}
DECIMAL_COMMA = re.compile(r"^-?[\d\s.\u00a0\u202f]*\d,\d+$")  # « 12,5 », « 1 234,50 », « 1.234,5 »


def _format_hint(header: list[str], first_row: list[str] | None, fmt: CsvFormat) -> str | None:
    """When the header is one column holding another separator: what the file looks like."""
    if len(header) != 1:
        return None
    for sep in SEPARATORS:
        if sep != fmt.sep and sep in header[0]:
            line = fmt.sep.join(first_row) if first_row else ""  # (the row as written)
            cells = line.split(sep)
            comma = any(DECIMAL_COMMA.match(cell.strip()) for cell in cells)
            shown = "\\t" if sep == "\t" else sep
            options = f"--sep '{shown}'" + (" --decimal ','" if comma else "")
            shape = f"{SEPARATORS[sep]}-separated" + (" with decimal commas" if comma else "")
            return f"the file looks {shape}: use {options}"
    return None


def _numbered_rows(reader) -> Iterator[tuple[list[str], int]]:
    """(row, line number) after the header; a line csv cannot read refuses the file, said."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileRejected(f"line {reader.line_num}: not readable as CSV ({exc})") from None
        yield row, reader.line_num


def _chunks(
    text: io.TextIOBase, spec: DatasetSpec, report: LoadReport, fmt: CsvFormat = CsvFormat()
) -> Iterator[pd.DataFrame]:
    """Chunks of string columns, indexed by line number; ragged rows are rejected here."""
    # a long field is a rejected row (« longer than 64 characters »), not an unreadable file
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    reader = csv.reader(text, delimiter=fmt.sep)
    try:
        header = next(reader)
        while not any(cell.strip() for cell in header):  # blank lines before the header
            header = next(reader)
    except StopIteration:
        raise FileRejected("the file is empty") from None
    except csv.Error as exc:
        raise FileRejected(f"line {reader.line_num}: not readable as CSV ({exc})") from None
    header_line = reader.line_num
    header = [name.strip().lstrip("\ufeff").lower() for name in header]
    trailing = 0
    while len(header) > 1 and header[-1] == "":  # « a,b,c, »: a trailing separator, not a column
        header.pop()
        trailing += 1
    numbered = _numbered_rows(reader)
    first = next(numbered, None)
    hint = _format_hint(header, first[0] if first else None, fmt)
    if hint:
        raise FileRejected(f"line {header_line}: {hint}")
    missing = [c for c in spec.columns if c not in header]
    unknown = [c for c in header if c not in spec.columns]
    if missing or unknown or len(set(header)) != len(header):
        parts = []
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s): {', '.join(unknown) or '(an empty name)'}")
        if len(set(header)) != len(header):
            parts.append("a column appears twice")
        article = "An" if spec.name[0] in "aeiou" else "A"
        expected = ", ".join(spec.columns)
        raise FileRejected(
            f"line {header_line}: {'; '.join(parts)}. {article} {spec.name} file has exactly "
            f"these columns: {expected}"
        )
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    for row, line in itertools.chain([first] if first else [], numbered):
        if not row or all(not cell.strip() for cell in row):
            continue  # blank line
        if trailing and len(row) == width + trailing and not any(c.strip() for c in row[width:]):
            row = row[:width]
        if len(row) != width:
            report.reject(line, f"expected {width} fields, found {len(row)}")
            continue
        if any("\x00" in cell for cell in row):  # (SQLite would cut the text there, PostgreSQL refuse it)
            report.reject(line, "contains a NUL byte")
            continue
        rows.append(row)
        lines.append(line)
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
    fmt: CsvFormat = CsvFormat(),
    allow_duplicate: bool = False,
) -> LoadReport:
    """Validate path and load its good rows into dataset in one transaction; nothing at all when
    more rows are rejected than max_rejected allows (nor when none is good), nor when the same
    file is loaded already (unless allow_duplicate). The load is kept (`loads`) with its rows."""
    spec = DATASETS[dataset]
    report = LoadReport(dataset)
    try:
        handle, report.encoding = open_text(path, fmt.encoding)
    except OSError as exc:
        report.error = f"cannot open {path}: {exc.strerror}"
        return report
    except LookupError:
        report.error = f"unknown text encoding {fmt.encoding!r} (e.g. utf-8, cp1252, latin-1, utf-16)"
        return report
    try:
        fingerprint = file_sha256(path)
        with handle, engine.begin() as conn:
            if replace:
                clear_dataset(conn, dataset)
            elif not allow_duplicate:
                _refuse_a_file_loaded_already(conn, dataset, fingerprint)
            report.load_id = _start_load(conn, dataset, path.name, fingerprint)
            known_ids = _existing_ids(conn) if dataset == "employees" else set()
            first: dt.date | None = None
            last: dt.date | None = None
            for chunk in _chunks(handle, spec, report, fmt):
                if fmt.decimal == ",":
                    _decimal_commas(chunk, spec.numeric)
                typed, reasons = spec.validate(chunk)
                if dataset == "employees":
                    _flag_duplicate_ids(typed, reasons, known_ids)
                for line, reason in reasons[reasons != ""].items():
                    report.reject(int(line), reason)
                good = typed[reasons == ""]
                if not good.empty:
                    _insert(conn, dataset, good.assign(load_id=report.load_id))
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
            conn.execute(
                update(loads)
                .where(loads.c.id == report.load_id)
                .values(rows=report.loaded, rejected=report.rejected_count)
            )
            bump_version(conn, dataset)
    except FileRejected as exc:
        report.error = str(exc)
        report.loaded = 0
    except UnicodeDecodeError as exc:
        report.error = _bad_byte(path, report.encoding or "utf-8", exc)
        report.loaded = 0
    report.rejected.sort(key=lambda row: row.line)  # (file order: ragged rows are found first)
    return report


def open_text(path: Path, encoding: str = "auto") -> tuple[io.TextIOWrapper, str]:
    """path as text, and the encoding read: with « auto », a BOM's (UTF-8 or UTF-16), else UTF-8
    when the first megabyte is UTF-8, else Windows-1252 (what Excel writes in western Europe)."""
    raw = path.open("rb")
    if encoding == "auto":
        head = raw.read(1 << 20)
        raw.seek(0)
        if head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        else:
            try:
                codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
                encoding = "utf-8-sig"
            except UnicodeDecodeError:
                encoding = "cp1252"
    codecs.lookup(encoding)  # (LookupError: unknown)
    return io.TextIOWrapper(raw, encoding=encoding, newline=""), encoding


def _bad_byte(path: Path, encoding: str, exc: UnicodeDecodeError) -> str:
    """Which line holds the first byte that is not text in encoding, and what to try."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as bad:
                byte = bad.object[bad.start]
                return (
                    f"line {number}: byte 0x{byte:02X} is not {encoding_name(encoding)} text; the file is "
                    "binary or in another encoding (try --encoding cp1252, latin-1 or utf-16)"
                )
    return f"the file is not {encoding_name(encoding)} text ({exc.reason})"


def encoding_name(encoding: str) -> str:
    """An encoding as people call it."""
    names = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "cp1252": "Windows-1252", "utf-16": "UTF-16"}
    return names.get(encoding.lower(), encoding)


def _decimal_commas(chunk: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """« 1 234,5 » and « 1.234,5 » → « 1234.5 »: grouping marks out, the decimal comma a point."""
    for column in columns:
        chunk[column] = (
            chunk[column]
            .str.replace(r"[\s.\u00a0\u202f']", "", regex=True)
            .str.replace(",", ".", regex=False)
        )


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
            first, last = conn.execute(
                select(func.min(sales.c.date), func.max(sales.c.date)).where(sales.c.load_id == load_id)
            ).one()
            deleted = conn.execute(delete(sales).where(sales.c.load_id == load_id)).rowcount
            if first is not None:
                refresh_sales_rollup(conn, first, last)
        else:
            deleted = conn.execute(delete(employees).where(employees.c.load_id == load_id)).rowcount
        conn.execute(update(loads).where(loads.c.id == load_id).values(undone_at=dt.datetime.now(dt.UTC)))
        bump_version(conn, load.dataset)
    return load.dataset, int(deleted)


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
