"""The rules a loaded row must follow, checked without a database: one reason per bad row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from dashhub.exports import csv_lines
from dashhub.services.csv_reader import CsvFormat, CsvReader, FileRejected
from dashhub.services.loading import DATASETS, _check_columns
from dashhub.services.loading_rules import validate_employees, validate_sales

SALES = ("date", "region", "product", "amount")
EMPLOYEES = DATASETS["employees"].columns
GOOD_EMPLOYEE = ("1", "IT", "30", "5", "60000", "80", "7")


def reason_for_sales(*cells: str, fmt: CsvFormat | None = None) -> str:
    table = pa.table({name: [cell] for name, cell in zip(SALES, cells, strict=True)})
    return validate_sales(table, fmt or CsvFormat())[1].of(np.array([0]))[0]


def reason_for_employee(**changes: str) -> str:
    row = dict(zip(EMPLOYEES, GOOD_EMPLOYEE, strict=True)) | changes
    table = pa.table({name: [cell] for name, cell in row.items()})
    return validate_employees(table)[1].of(np.array([0]))[0]


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (("2026-01-05", "Nord", "Produit A", "100.50"), ""),
        ((" 2026-01-05 ", " Nord ", "Produit A", " 7 "), ""),
        (
            ("05/01/2026", "Nord", "Produit A", "1"),
            "date is not a date in YYYY-MM-DD form; for DD/MM/YYYY dates use --date-format '%d/%m/%Y'",
        ),
        (
            ("05.01.2026", "Nord", "Produit A", "1"),
            "date is not a date in YYYY-MM-DD form; for DD.MM.YYYY dates use --date-format '%d.%m.%Y'",
        ),
        (("2026-02-30", "Nord", "Produit A", "1"), "date is not a date in YYYY-MM-DD form"),
        (("2026-13-01", "Nord", "Produit A", "1"), "date is not a date in YYYY-MM-DD form"),
        (("2026-1-5", "Nord", "Produit A", "1"), ""),
        (("2024-02-29", "Nord", "Produit A", "1"), ""),
        (("2026-01-05x", "Nord", "Produit A", "1"), "date is not a date in YYYY-MM-DD form"),
        (("2026-01-05", "Nord\x00", "Produit A", "1"), "contains a NUL byte"),
        (("1850-01-01", "Nord", "Produit A", "1"), "date is out of range"),
        (("2026-01-05", "", "Produit A", "1"), "region is empty"),
        (("2026-01-05", "N" * 65, "Produit A", "1"), "region is longer than 64 characters"),
        (("2026-01-05", "Nord", "   ", "1"), "product is empty"),
        (("2026-01-05", "Nord", "Produit A", "abc"), "amount is not a number"),
        (("2026-01-05", "Nord", "Produit A", "1e400"), "amount is not a number"),
        (("2026-01-05", "Nord", "Produit A", "nan"), "amount is not a number"),
        (("2026-01-05", "Nord", "Produit A", "inf"), "amount is not a number"),
        (("2026-01-05", "Nord", "Produit A", "1,5"), "amount is not a number"),
        (("2026-01-05", "Nord", "Produit A", "2e12"), "amount is above 1,000,000,000,000"),
        (("2026-01-05", "Nord", "Produit A", "-2e12"), "amount is below -1,000,000,000,000"),
        (("2026-01-05", "Nord", "Produit A", "+.5"), ""),
    ],
)
def test_a_sales_row_gets_its_first_reason(cells, reason):
    assert reason_for_sales(*cells) == reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, ""),
        ({"age": "200"}, "age is above 100"),
        ({"age": "40.5"}, "age is not a whole number"),
        ({"employee_id": "0"}, "employee_id is below 1"),
        ({"performance": "101"}, "performance is above 100"),
        ({"satisfaction": "11"}, "satisfaction is above 10"),
        ({"salary": "-1"}, "salary is below 0"),
        ({"experience_years": "x"}, "experience_years is not a number"),
        ({"department": ""}, "department is empty"),
    ],
)
def test_an_employee_row_gets_its_first_reason(changes, reason):
    assert reason_for_employee(**changes) == reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("day,region,product,price\n", "missing column(s): date, amount"),
        ("date,region,product,amount,amount\n", "a column appears twice"),
    ],
)
def test_a_file_with_the_wrong_columns_is_refused_with_the_expected_ones(tmp_path, text, message):
    path = tmp_path / "sales.csv"
    path.write_text(text)
    with pytest.raises(FileRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        _check_columns(CsvReader(path), DATASETS["sales"], CsvFormat())


@pytest.mark.parametrize(
    ("cells", "fmt", "reason"),
    [
        (("31/01/2026", "Nord", "A", "1"), CsvFormat(date_format="%d/%m/%Y"), ""),
        (
            ("31/02/2026", "Nord", "A", "1"),
            CsvFormat(date_format="%d/%m/%Y"),
            "date is not a date in DD/MM/YYYY form",
        ),
        (
            ("2026-01-31", "Nord", "A", "1"),
            CsvFormat(date_format="%d/%m/%Y"),
            "date is not a date in DD/MM/YYYY form",
        ),
        (("31.01.26", "Nord", "A", "1"), CsvFormat(date_format="%d.%m.%y"), ""),
        (("2026-01-31", "Nord", "A", "1 234,5"), CsvFormat(decimal=","), ""),
        (("2026-01-31", "Nord", "A", "1.234"), CsvFormat(decimal=","), ""),
        (("2026-01-31", "Nord", "A", "12,5,0"), CsvFormat(decimal=","), "amount is not a number"),
    ],
)
def test_date_formats_and_decimal_commas_are_read_as_told(cells, fmt, reason):
    assert reason_for_sales(*cells, fmt=fmt) == reason


def test_a_grouping_point_under_decimal_commas_is_a_thousands_mark():
    table = pa.table(
        {name: [cell] for name, cell in zip(SALES, ("2026-01-31", "N", "A", "1.234"), strict=True)}
    )
    typed, _ = validate_sales(table, CsvFormat(decimal=","))
    assert typed["amount"].to_pylist() == [1234.0]


def test_exported_cells_that_a_spreadsheet_would_run_are_neutralised():
    rows = [("2025-12-24", "Nord", '=HYPERLINK("x")', -12.5), ("2025-12-24", "+Sud", "@A1", 3)]
    text = "".join(csv_lines(SALES, rows))
    assert text.splitlines() == [
        "date,region,product,amount",
        '2025-12-24,Nord,"\'=HYPERLINK(""x"")",-12.5',
        "2025-12-24,'+Sud,'@A1,3",
    ]


def test_cached_answers_are_keyed_by_the_code_that_shaped_them(tmp_path, monkeypatch):
    """An upgrade that changes what a cached object holds (a new KPI field) must not read the
    previous release's objects from a cache that outlives it (the file cache, a shared Redis)."""
    import shutil

    from dashhub.services import cache

    key = cache.QueryCache.key("sales", 3, "dashboard", ("x",))
    assert f":v3:{cache.CODE_VERSION}:dashboard:" in key
    package = tmp_path / "dashhub"
    shutil.copytree(Path(cache.__file__).resolve().parents[1] / "domain", package / "domain")
    shutil.copytree(Path(cache.__file__).resolve().parent, package / "services")
    monkeypatch.setattr(cache, "__file__", str(package / "services" / "cache.py"))
    assert cache._code_version() == cache.CODE_VERSION
    with (package / "domain" / "sales.py").open("a") as handle:
        handle.write("\n# a change\n")
    assert cache._code_version() != cache.CODE_VERSION
