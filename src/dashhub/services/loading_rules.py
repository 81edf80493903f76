"""The rules a loaded row must follow, checked a batch at a time on columns of strings.

Each validator turns a table of strings (as the CSV reader gives it) into typed columns and the
first reason each row breaks a rule (« amount is not a number »); rows without a reason are loaded.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashhub.services.csv_reader import CsvFormat

MAX_TEXT = 64
# An amount's magnitude: a billion times a large day's sales, and a sum of millions of them stays
# exact enough in a double and within every database's numeric range (1e308 made Inf, or an error).
MAX_AMOUNT = 1e12
NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
GROUPING_MARKS = r"[\s.\x{00a0}\x{202f}']"  # « 1 234,5 », « 1.234,5 », « 1'234,5 » with --decimal ','
DAY_FIRST = {"/": r"^\d{1,2}/\d{1,2}/\d{4}$", ".": r"^\d{1,2}\.\d{1,2}\.\d{4}$"}

DEFAULT_FORMAT = CsvFormat()
Column = pa.Array | pa.ChunkedArray


class Reasons:
    """The first rule each row of a batch breaks (code 0: none)."""

    def __init__(self, rows: int) -> None:
        self.codes = np.zeros(rows, dtype=np.int16)
        self.texts = [""]

    def flag(self, mask: Column | np.ndarray, reason: str) -> None:
        """Give reason to the rows where mask holds that have none yet."""
        if not isinstance(mask, np.ndarray):
            mask = pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
        target = mask & (self.codes == 0)
        if target.any():
            if reason not in self.texts:
                self.texts.append(reason)
            self.codes[target] = self.texts.index(reason)

    @property
    def ok(self) -> np.ndarray:
        return self.codes == 0

    def of(self, rows: np.ndarray) -> list[str]:
        """The reasons of the rows selected by rows (a mask or indices)."""
        return [self.texts[code] for code in self.codes[rows]]


def blank_rows(table: pa.Table) -> np.ndarray:
    """Rows whose every cell is empty or spaces (« ,,, »): skipped like blank lines."""
    blank = np.ones(table.num_rows, dtype=bool)
    for column in table.columns:
        blank &= pc.equal(pc.utf8_trim_whitespace(column), "").to_numpy(zero_copy_only=False)
    return blank


def _flag_nul_bytes(table: pa.Table, reasons: Reasons) -> None:
    """(SQLite would cut the text there, PostgreSQL refuse the whole file.)"""
    for column in table.columns:
        reasons.flag(pc.match_substring(column, "\x00"), "contains a NUL byte")


def _text(values: Column, name: str, reasons: Reasons) -> pa.Array:
    cleaned = pc.utf8_trim_whitespace(values)
    reasons.flag(pc.equal(cleaned, ""), f"{name} is empty")
    too_long = pc.greater(pc.utf8_length(cleaned), MAX_TEXT)
    reasons.flag(too_long, f"{name} is longer than {MAX_TEXT} characters")
    return cleaned


def _number(
    values: Column, name: str, reasons: Reasons, low: float, high: float, decimal: str = "."
) -> pa.Array:
    cleaned = pc.utf8_trim_whitespace(values)
    if decimal == ",":
        cleaned = pc.replace_substring(pc.replace_substring_regex(cleaned, GROUPING_MARKS, ""), ",", ".")
    readable = pc.match_substring_regex(cleaned, NUMBER)
    numbers = pc.cast(pc.if_else(readable, cleaned, "0"), pa.float64())
    good = pc.and_(readable, pc.is_finite(numbers))
    reasons.flag(pc.invert(good), f"{name} is not a number")
    reasons.flag(pc.less(numbers, low), f"{name} is below {_bound(low)}")
    reasons.flag(pc.greater(numbers, high), f"{name} is above {_bound(high)}")
    return pc.if_else(good, numbers, 0.0)


def _integer(values: Column, name: str, reasons: Reasons, low: int, high: int, decimal: str) -> pa.Array:
    numbers = _number(values, name, reasons, low, high, decimal)
    whole = pc.equal(pc.floor(numbers), numbers)
    reasons.flag(pc.invert(whole), f"{name} is not a whole number")
    within = pc.and_(pc.greater_equal(numbers, low), pc.less_equal(numbers, high))
    return pc.cast(pc.if_else(pc.and_(within, whole), numbers, 0.0), pa.int64())


def _bound(value: float) -> str:
    """A limit as people read it: « 2,147,483,647 », « 100 », « 0.5 »."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def date_form(date_format: str) -> str:
    """« %Y-%m-%d » as people write it: « YYYY-MM-DD »."""
    for code, shown in (("%Y", "YYYY"), ("%m", "MM"), ("%d", "DD"), ("%y", "YY")):
        date_format = date_format.replace(code, shown)
    return date_format


DATE_CODES = re.compile(r"(%[Ymdy])")


def _written_back(parsed: Column, date_format: str) -> Column:
    """Parsed dates written in date_format (zero-padded), from their year, month and day."""
    fields = {
        "%Y": lambda: pc.utf8_lpad(pc.cast(pc.year(parsed), pa.string()), 4, "0"),
        "%y": lambda: pc.utf8_lpad(pc.cast(pc.remainder(pc.year(parsed), 100), pa.string()), 2, "0"),
        "%m": lambda: pc.utf8_lpad(pc.cast(pc.month(parsed), pa.string()), 2, "0"),
        "%d": lambda: pc.utf8_lpad(pc.cast(pc.day(parsed), pa.string()), 2, "0"),
    }
    pieces = [fields[part]() if part in fields else part for part in DATE_CODES.split(date_format) if part]
    return pc.binary_join_element_wise(*pieces, "")


def _without_leading_zeros(values: Column) -> Column:
    return pc.replace_substring_regex(values, r"(^|\D)0+(\d)", r"\1\2")


def _same_date(parsed: Column, cleaned: Column, date_format: str) -> np.ndarray:
    """Where the text is the parsed date: the parser rolls « 2026-02-30 » over to March 2, written
    back it reads « 2026-03-02 ». « 2026-1-5 » reads as « 2026-01-05 »: leading zeros are optional."""
    written = _written_back(parsed, date_format)
    same = pc.fill_null(pc.equal(written, cleaned), False).to_numpy(zero_copy_only=False)
    unpadded = np.flatnonzero(~same & pc.is_valid(parsed).to_numpy(zero_copy_only=False))
    if len(unpadded):  # (rare: compared again without leading zeros)
        rows = pa.array(unpadded)
        again = pc.equal(
            _without_leading_zeros(written.take(rows)), _without_leading_zeros(cleaned.take(rows))
        )
        same[unpadded] = again.to_numpy(zero_copy_only=False)
    return same


def _date(values: Column, reasons: Reasons, date_format: str) -> pa.Array:
    cleaned = pc.utf8_trim_whitespace(values)
    parsed = pc.strptime(cleaned, format=date_format, unit="s", error_is_null=True)
    bad = ~_same_date(parsed, cleaned, date_format)
    expected = f"date is not a date in {date_form(date_format)} form"
    if date_format == "%Y-%m-%d":
        for mark, pattern in DAY_FIRST.items():
            hint = f"%d{mark}%m{mark}%Y"
            day_first = pc.match_substring_regex(cleaned, pattern).to_numpy(zero_copy_only=False)
            reasons.flag(
                bad & day_first, f"{expected}; for {date_form(hint)} dates use --date-format '{hint}'"
            )
    reasons.flag(bad, expected)
    year = pc.year(parsed)
    reasons.flag(pc.or_(pc.less(year, 1900), pc.greater(year, 2200)), "date is out of range")
    return pc.cast(parsed, pa.date32())


def validate_sales(table: pa.Table, fmt: CsvFormat = DEFAULT_FORMAT) -> tuple[pa.Table, Reasons]:
    reasons = Reasons(table.num_rows)
    _flag_nul_bytes(table, reasons)
    typed = pa.table(
        {
            "date": _date(table["date"], reasons, fmt.date_format),
            "region": _text(table["region"], "region", reasons),
            "product": _text(table["product"], "product", reasons),
            "amount": _number(table["amount"], "amount", reasons, -MAX_AMOUNT, MAX_AMOUNT, fmt.decimal),
        }
    )
    return typed, reasons


def validate_employees(table: pa.Table, fmt: CsvFormat = DEFAULT_FORMAT) -> tuple[pa.Table, Reasons]:
    reasons = Reasons(table.num_rows)
    _flag_nul_bytes(table, reasons)
    comma = fmt.decimal
    typed = pa.table(
        {
            "employee_id": _integer(table["employee_id"], "employee_id", reasons, 1, 2**31 - 1, comma),
            "department": _text(table["department"], "department", reasons),
            "age": _integer(table["age"], "age", reasons, 14, 100, comma),
            "experience_years": _number(table["experience_years"], "experience_years", reasons, 0, 80, comma),
            "salary": _number(table["salary"], "salary", reasons, 0, 100_000_000, comma),
            "performance": _number(table["performance"], "performance", reasons, 0, 100, comma),
            "satisfaction": _number(table["satisfaction"], "satisfaction", reasons, 0, 10, comma),
        }
    )
    return typed, reasons
